// `npm run demo`: build the extension, launch Chromium with it (headless when there is no
// display), open the demo page on 127.0.0.1 and print what the page computed through tabpool.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { ensureChromium } from './chromium.mjs';
import { allowInPopup, launchWithExtension } from './launch.mjs';
import { PAGES_DIR, servePages } from './page-server.mjs';

const root = resolve(import.meta.dirname, '..');
const headless = !process.env.DISPLAY || process.env.TABPOOL_HEADLESS === '1';
const keepOpen = process.argv.includes('--keep-open') && !headless;

ensureChromium(); // before the build, so a missing browser is reported (or installed) first
console.log('Building the Chrome extension…');
execFileSync('npx', ['wxt', 'build', '-b', 'chrome'], {
  cwd: root,
  stdio: ['ignore', 'ignore', 'inherit'],
});

const server = await servePages([resolve(root, 'tools/demo'), PAGES_DIR]);
const browser = await launchWithExtension({ headless });
let exitCode = 1;
try {
  console.log(`Chromium ${headless ? '(headless)' : ''} with tabpool ${browser.extensionId}`);
  const page = await browser.context.newPage();
  await page.goto(`${server.origin}/`);
  if (headless) {
    // No one is there to click: do what a person does in the popup when the page asks.
    await allowInPopup(browser.context, browser.extensionId, server.origin);
    console.log(`Allowed ${server.origin} in the tabpool popup, as its user would.`);
  } else {
    console.log('Click the tabpool toolbar button and allow the demo page.');
  }
  const result = await page.evaluate(() => window.demoResult);
  const text = await page.textContent('#out');
  console.log(`\nDemo page ${server.origin}/ printed:\n${text?.trim()}\n`);
  exitCode = result?.correct ? 0 : 1;
  console.log(exitCode === 0 ? 'Demo result: correct.' : 'Demo result: WRONG or failed.');
  if (keepOpen) {
    console.log('Browser left open (--keep-open); press Ctrl+C to quit.');
    await new Promise(() => {});
  }
} finally {
  await browser.close();
  await server.close();
}
process.exit(exitCode);

// `npm run demo`: build the extension and the page SDK, serve the demo's trained models
// Hugging Face-style on 127.0.0.1 (tools/demo-models.mjs) and point tabpool at them, launch
// Chromium with the extension (headless when there is no display), open the demo page and
// print what it computed through tabpool: held-out digits against their labels and PyTorch's
// predictions, streamed greedy text against PyTorch's, the sentence-similarity table against
// PyTorch's, and digits drawn on the page's canvas with the mouse. Exits 0 only when all match.
// TABPOOL_DEMO_SCREENSHOT=file.png saves a picture of the page at the end.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { ensureChromium } from './chromium.mjs';
import { serveDemoModels } from './demo-models.mjs';
import { allowInPopup, launchWithExtension } from './launch.mjs';
import { CLIENT_DIR, servePages } from './page-server.mjs';

const root = resolve(import.meta.dirname, '..');
const headless = !process.env.DISPLAY || process.env.TABPOOL_HEADLESS === '1';
const keepOpen = process.argv.includes('--keep-open') && !headless;

/** Pen strokes for digits, in fractions of the drawing pad. */
const DRAWN = {
  7: [
    [
      [0.25, 0.2],
      [0.75, 0.2],
      [0.45, 0.85],
    ],
  ],
  0: [
    Array.from({ length: 25 }, (_, i) => {
      const a = (i / 24) * 2 * Math.PI;
      return [0.5 + 0.22 * Math.sin(a), 0.5 - 0.32 * Math.cos(a)];
    }),
  ],
  1: [
    [
      [0.5, 0.15],
      [0.5, 0.85],
    ],
  ],
};

/** Draws `digit` on the page's pad with the mouse and returns what the page says about it. */
async function drawDigit(page, digit) {
  await page.click('#clear');
  const box = await page.locator('#pad').boundingBox();
  if (!box) throw new Error('the drawing pad is not visible');
  for (const stroke of DRAWN[digit]) {
    const [first, ...rest] = stroke.map(([x, y]) => [
      box.x + x * box.width,
      box.y + y * box.height,
    ]);
    await page.mouse.move(...first);
    await page.mouse.down();
    for (const point of rest) await page.mouse.move(...point, { steps: 8 });
    await page.mouse.up();
  }
  await page.waitForFunction(
    () => document.getElementById('digit-result')?.textContent?.startsWith('Model says'),
    null,
    { timeout: 60_000 },
  );
  return (await page.textContent('#digit-result')) ?? '';
}

ensureChromium(); // before the build, so a missing browser is reported (or installed) first
console.log('Building the Chrome extension and the page SDK…');
execFileSync('npx', ['wxt', 'build', '-b', 'chrome'], {
  cwd: root,
  stdio: ['ignore', 'ignore', 'inherit'],
});
execFileSync('node', [resolve(root, 'tools/build-client.mjs')], {
  cwd: root,
  stdio: ['ignore', 'ignore', 'inherit'],
});

const hub = await serveDemoModels();
const server = await servePages([resolve(root, 'tools/demo'), CLIENT_DIR]);
const browser = await launchWithExtension({ headless });
let exitCode = 1;
try {
  console.log(`Chromium ${headless ? '(headless) ' : ''}with tabpool ${browser.extensionId}`);
  // The model server is a setting on tabpool's options page; set it as that page does.
  const popup = await browser.context.newPage();
  await popup.goto(`chrome-extension://${browser.extensionId}/popup.html`);
  await popup.evaluate(
    (modelBaseUrl) => chrome.storage.local.set({ 'tabpool.settings': { modelBaseUrl } }),
    hub.baseUrl,
  );
  await popup.close();
  console.log(`tabpool downloads models from ${hub.baseUrl} (the demo's trained models)`);

  const page = await browser.context.newPage();
  await page.goto(`${server.origin}/`);
  if (headless) {
    // No one is there to click: do what a person does in the popup when the page asks.
    await page.waitForFunction(() =>
      document.getElementById('status')?.textContent?.startsWith('Asking for access'),
    );
    await allowInPopup(browser.context, browser.extensionId, server.origin);
    console.log(`Allowed ${server.origin} in the tabpool popup, as its user would.`);
  } else {
    console.log('Click the tabpool toolbar button and allow the demo page.');
  }
  const result = await page.evaluate(() => window.demoResult);
  const text = await page.textContent('#out');
  console.log(`\nDemo page ${server.origin}/ printed:\n${text?.trim()}\n`);

  let drawnRight = 0;
  console.log('Digits drawn on the page’s canvas with the mouse:');
  for (const digit of Object.keys(DRAWN)) {
    const said = await drawDigit(page, digit);
    const right = said.startsWith(`Model says ${digit} `);
    if (right) drawnRight++;
    console.log(`  drew ${digit}: ${said}${right ? '' : '  ← WRONG'}`);
  }
  const drawn = drawnRight === Object.keys(DRAWN).length;
  // The generate form as a person uses it: its default prompt, sampled (temperature 0.8, top-k 40).
  await page.click('#generate-form button[type="submit"]');
  await page.waitForFunction(() =>
    /\[\d+ tokens in/.test(document.getElementById('generated')?.textContent ?? ''),
  );
  console.log(
    `\nThe Generate button (sampled, seed 1):\n${(await page.textContent('#generated'))?.trim()}\n`,
  );
  if (process.env.TABPOOL_DEMO_SCREENSHOT) {
    await page.screenshot({ path: process.env.TABPOOL_DEMO_SCREENSHOT, fullPage: true });
    console.log(`Screenshot of the page: ${process.env.TABPOOL_DEMO_SCREENSHOT}`);
  }
  exitCode = result?.correct && drawn ? 0 : 1;
  console.log(
    exitCode === 0
      ? '\nDemo result: correct (digits, text and similarities as PyTorch gives them; drawn digits recognized).'
      : `\nDemo result: WRONG or failed (${JSON.stringify({ ...result, drawn })}).`,
  );
  if (keepOpen) {
    console.log('Browser left open (--keep-open); press Ctrl+C to quit.');
    await new Promise(() => {});
  }
} finally {
  await browser.close();
  await server.close();
  await hub.close();
}
process.exit(exitCode);

// Launches Chromium with the built extension loaded, through playwright-core (never a browser
// download), and finds the extension's service worker. Shared by the demo, benches and e2e tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { ensureChromium } from './chromium.mjs';

export const CHROME_BUILD_DIR = resolve(import.meta.dirname, '../.output/chrome-mv3');

/**
 * @param {{ extensionDir?: string, headless?: boolean, extraArgs?: string[] }} [options]
 * @returns {Promise<{ context: import('playwright-core').BrowserContext,
 *   serviceWorker: import('playwright-core').Worker, extensionId: string, close: () => Promise<void> }>}
 */
export async function launchWithExtension(options = {}) {
  const extensionDir = options.extensionDir ?? CHROME_BUILD_DIR;
  const headless = options.headless ?? !process.env.DISPLAY;
  const executablePath = ensureChromium();
  const userDataDir = mkdtempSync(join(tmpdir(), 'tabpool-profile-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    headless,
    executablePath,
    args: [
      `--disable-extensions-except=${extensionDir}`,
      `--load-extension=${extensionDir}`,
      '--no-sandbox',
      '--enable-unsafe-webgpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      ...(options.extraArgs ?? []),
    ],
  });
  const serviceWorker =
    context.serviceWorkers()[0] ??
    (await context.waitForEvent('serviceworker', { timeout: 30_000 }));
  const extensionId = new URL(serviceWorker.url()).host;
  return {
    context,
    serviceWorker,
    extensionId,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Does what a person does when a page asks for tabpool: opens the popup and clicks Allow for
 * `origin`. The page must have asked (`access`) already or be about to.
 * @param {import('playwright-core').BrowserContext} context
 * @param {string} extensionId
 * @param {string} origin
 */
export async function allowInPopup(context, extensionId, origin) {
  const popup = await context.newPage();
  try {
    await popup.goto(`chrome-extension://${extensionId}/popup.html`);
    await popup.click(`[data-origin="${origin}"] [data-action="allow"]`);
  } finally {
    await popup.close();
  }
}

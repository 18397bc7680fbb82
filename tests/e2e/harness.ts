/**
 * What every end-to-end file needs: Chromium with the built extension, the test pages served on
 * 127.0.0.1, and a page that has found tabpool.
 */
import type { BrowserContext, Page, Worker } from 'playwright-core';
import { allowInPopup, launchWithExtension } from '../../tools/launch.mjs';
import { servePages } from '../../tools/page-server.mjs';

export interface Harness {
  context: BrowserContext;
  serviceWorker: Worker;
  extensionId: string;
  origin: string;
  /** A fresh tab on the test page, with `window.tabpool` (tests/pages/tabpool-call.js) loaded. */
  openPage(path?: string): Promise<Page>;
  /** The popup, opened as a tab. */
  openPopup(): Promise<Page>;
  /** Lets the page's origin use tabpool the way a person does: Allow in the popup. */
  grant(page: Page): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const server = await servePages();
  const browser = await launchWithExtension({ headless: true });
  const openPopup = async () => {
    const popup = await browser.context.newPage();
    await popup.setViewportSize({ width: 380, height: 520 });
    await popup.goto(`chrome-extension://${browser.extensionId}/popup.html`);
    return popup;
  };
  return {
    context: browser.context,
    serviceWorker: browser.serviceWorker,
    extensionId: browser.extensionId,
    origin: server.origin,
    async openPage(path = '/index.html') {
      const page = await browser.context.newPage();
      await page.goto(`${server.origin}${path}`);
      await page.waitForFunction(() => 'tabpool' in window || 'sdkLoaded' in window);
      return page;
    },
    openPopup,
    async grant(page) {
      const answer = page.evaluate(() =>
        (
          window as unknown as { tabpool: { call(op: string): Promise<{ state: string }> } }
        ).tabpool.call('access'),
      );
      await allowInPopup(browser.context, browser.extensionId, new URL(page.url()).origin);
      const { state } = await answer;
      if (state !== 'granted') throw new Error(`grant failed: ${state}`);
    },
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

export interface HostView {
  id: string;
  kind: string;
  state: string;
  served: number;
}

/** Polls the pool status from a page until `check` accepts it. */
export async function waitForHosts(
  page: Page,
  check: (hosts: HostView[]) => boolean,
  timeoutMs = 30_000,
): Promise<HostView[]> {
  const start = Date.now();
  for (;;) {
    const { hosts } = await page.evaluate(() =>
      (
        window as unknown as { tabpool: { call(op: string): Promise<{ hosts: HostView[] }> } }
      ).tabpool.call('status'),
    );
    if (check(hosts)) return hosts;
    if (Date.now() - start > timeoutMs) {
      throw new Error(`pool never reached the wanted state: ${JSON.stringify(hosts)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export const readyKinds = (hosts: HostView[]) =>
  hosts
    .filter((h) => h.state === 'ready')
    .map((h) => h.kind)
    .sort();

/** What tests/pages/tabpool-call.js puts on a test page's window. */
export type TabpoolWindow = {
  tabpool: {
    call(op: string, params?: unknown, options?: unknown): Promise<unknown>;
    sendRaw(
      message: unknown,
      id: string | null,
    ): Promise<{ ok: boolean; error?: { code: string } }>;
    matmul(
      a: Float32Array,
      b: Float32Array,
      m: number,
      k: number,
      n: number,
    ): Promise<{
      c: Float32Array;
      shape: number[];
      host: { kind: string; id: string };
      raw: { c: { data: unknown } };
    }>;
  };
};

/**
 * The usual start of a suite: Chromium with the extension, the test page, its origin allowed in
 * the popup, and both hosts (offscreen document and pool tab) ready.
 */
export async function startGrantedHarness(): Promise<{ h: Harness; page: Page }> {
  const h = await startHarness();
  const page = await h.openPage();
  await h.grant(page);
  await waitForHosts(page, (hosts) => readyKinds(hosts).join() === 'offscreen,tab');
  return { h, page };
}

type SdkWindow = {
  sdk: { connect(): Promise<unknown> };
  client: {
    call(op: string): Promise<unknown>;
    models: { load(p: unknown): Promise<{ model: { state: string } }> };
  };
};

/**
 * Writes tabpool's settings as the options page does (chrome.storage.local, through the popup),
 * e.g. `{ modelBaseUrl }` to point model downloads at a test hub.
 */
export async function writeSettings(h: Harness, settings: Record<string, unknown>): Promise<void> {
  const popup = await h.openPopup();
  await popup.evaluate(
    (s) =>
      (
        globalThis as unknown as {
          chrome: { storage: { local: { set(i: unknown): Promise<void> } } };
        }
      ).chrome.storage.local.set({ 'tabpool.settings': s }),
    settings,
  );
  await popup.close();
}

/**
 * The model suites' start: the SDK test page (/sdk.html) with `window.client` connected, its origin
 * allowed in the popup as a person would, then each model (`repo` → its files) loaded through
 * the SDK and checked ready.
 */
export async function openSdkPageWithModels(
  h: Harness,
  models: Record<string, readonly string[]>,
): Promise<Page> {
  const page = await h.openPage('/sdk.html');
  const access = page.evaluate(async () => {
    const w = window as unknown as SdkWindow;
    w.client = (await w.sdk.connect()) as SdkWindow['client'];
    return w.client.call('access');
  });
  await allowInPopup(h.context, h.extensionId, h.origin);
  if (JSON.stringify(await access) !== '{"state":"granted"}') throw new Error('access refused');
  for (const [repo, files] of Object.entries(models)) {
    const loaded = await page.evaluate(
      ([repo, files]) => (window as unknown as SdkWindow).client.models.load({ repo, files }),
      [repo, files] as const,
    );
    if (loaded.model.state !== 'ready') throw new Error(`${repo} is ${loaded.model.state}`);
  }
  return page;
}

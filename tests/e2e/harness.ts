/**
 * What every end-to-end file needs: Chromium with the built extension, the test pages served on
 * 127.0.0.1, and a page that has found tabpool.
 */
import type { BrowserContext, Page, Worker } from 'playwright-core';
import { launchWithExtension } from '../../tools/launch.mjs';
import { servePages } from '../../tools/page-server.mjs';

export interface Harness {
  context: BrowserContext;
  serviceWorker: Worker;
  extensionId: string;
  origin: string;
  /** A fresh tab on the test page, with `window.tabpool` (tests/pages/tabpool-call.js) loaded. */
  openPage(): Promise<Page>;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const server = await servePages();
  const browser = await launchWithExtension({ headless: true });
  return {
    context: browser.context,
    serviceWorker: browser.serviceWorker,
    extensionId: browser.extensionId,
    origin: server.origin,
    async openPage() {
      const page = await browser.context.newPage();
      await page.goto(`${server.origin}/index.html`);
      await page.waitForFunction(() => 'tabpool' in window);
      return page;
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

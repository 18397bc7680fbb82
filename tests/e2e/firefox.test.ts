/**
 * The same extension in headless Firefox ESR (Debian's firefox-esr, WebDriver BiDi through
 * puppeteer-core): background page as coordinator and host #0, a pool tab, sessions piped by the
 * content script, consent in the popup. Model runs and WebGPU-on-Firefox come with their issues.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matmulCpu } from '../../kernels/matmul/cpu';
import { launchFirefoxWithExtension } from '../../tools/firefox.mjs';
import { servePages } from '../../tools/page-server.mjs';
import type { TabpoolWindow } from './harness';

const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts');

type Host = { id: string; kind: string; state: string; served: number };

let ff: Awaited<ReturnType<typeof launchFirefoxWithExtension>>;
let browser: Browser;
let server: Awaited<ReturnType<typeof servePages>>;
let page: Page;

/** The page's real location: BiDi reports moz-extension pages as about:blank in `url()`. */
const locationOf = (p: Page) => p.evaluate(() => location.href).catch(() => '');

/**
 * moz-extension pages load, but the BiDi navigation never sees their load event: start it,
 * then wait until the document is there.
 */
async function openExtensionPage(path: string): Promise<Page> {
  const p = await browser.newPage();
  const url = `${ff.extensionBase}${path}`;
  void p.goto(url, { timeout: 2_000 }).catch(() => undefined);
  const start = Date.now();
  while ((await locationOf(p)) !== url) {
    if (Date.now() - start > 15_000) throw new Error(`${url} did not open`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return p;
}

async function status(p: Page): Promise<Host[]> {
  return (
    (await p.evaluate(() => (window as unknown as TabpoolWindow).tabpool.call('status'))) as {
      hosts: Host[];
    }
  ).hosts;
}

async function waitForHosts(p: Page, check: (h: Host[]) => boolean, timeoutMs = 30_000) {
  const start = Date.now();
  for (;;) {
    const hosts = await status(p);
    if (check(hosts)) return hosts;
    if (Date.now() - start > timeoutMs)
      throw new Error(`pool never got there: ${JSON.stringify(hosts)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const readyKinds = (hosts: Host[]) =>
  hosts
    .filter((h) => h.state === 'ready')
    .map((h) => h.kind)
    .sort();

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  server = await servePages();
  ff = await launchFirefoxWithExtension();
  browser = ff.browser;
  page = await browser.newPage();
  await page.goto(`${server.origin}/index.html`);
  await page.waitForFunction(() => 'tabpool' in window);
});

afterAll(async () => {
  await ff?.close();
  await server?.close();
});

describe('Firefox', () => {
  it('announces itself and answers hello', async () => {
    const hello = await page.evaluate(() =>
      (window as unknown as TabpoolWindow).tabpool.call('hello'),
    );
    expect(hello).toMatchObject({ extension: 'tabpool', protocol: 1 });
    expect(await page.evaluate(() => document.documentElement.dataset.tabpoolProtocols)).toBe('1');
  });

  it('refuses until the user allows the site in the popup', async () => {
    const refused = await page.evaluate(() =>
      (window as unknown as TabpoolWindow).tabpool.call('status').then(
        () => 'ok',
        (e: { code: string }) => e.code,
      ),
    );
    expect(refused).toBe('NOT_GRANTED');
    const access = page.evaluate(() => (window as unknown as TabpoolWindow).tabpool.call('access'));
    const popup = await openExtensionPage('/popup.html');
    const allow = `[data-origin="${server.origin}"] [data-action="allow"]`;
    await popup.waitForSelector(allow);
    await popup.setViewport({ width: 380, height: 520 });
    await popup.screenshot({ path: resolve(ARTIFACTS, 'firefox-popup-consent.png') });
    await popup.click(allow);
    expect(await access).toEqual({ state: 'granted' });
    await popup.close();
  });

  it('runs hosts in the background page and a pool tab', async () => {
    const hosts = await waitForHosts(page, (h) => readyKinds(h).join() === 'background,tab');
    expect(readyKinds(hosts)).toEqual(['background', 'tab']);
  });

  it('computes a 1 MiB product exactly, returned as binary', async () => {
    const [m, k, n] = [512, 512, 64];
    const values = (len: number, seed: number) =>
      Array.from({ length: len }, (_, i) => (((i * 7919 + seed * 104729) % 2001) - 1000) / 1000);
    const got = await page.evaluate(
      async (m, k, n, a, b) => {
        const r = await (window as unknown as TabpoolWindow).tabpool.matmul(
          Float32Array.from(a),
          Float32Array.from(b),
          m,
          k,
          n,
        );
        return { c: [...r.c], binary: r.raw.c.data instanceof ArrayBuffer };
      },
      m,
      k,
      n,
      values(m * k, 1),
      values(k * n, 2),
    );
    expect(got.binary).toBe(true);
    expect(Float32Array.from(got.c)).toEqual(
      matmulCpu(Float32Array.from(values(m * k, 1)), Float32Array.from(values(k * n, 2)), m, k, n),
    );
  });

  it('spreads requests across both hosts', async () => {
    const kinds = await page.evaluate(async () => {
      const out: string[] = [];
      for (let i = 0; i < 8; i++) {
        const r = await (window as unknown as TabpoolWindow).tabpool.matmul(
          Float32Array.of(i),
          Float32Array.of(2),
          1,
          1,
          1,
        );
        if (r.c[0] !== 2 * i) throw new Error('wrong');
        out.push(r.host.kind);
      }
      return out;
    });
    expect(kinds.filter((k) => k === 'background')).toHaveLength(4);
    expect(kinds.filter((k) => k === 'tab')).toHaveLength(4);
  });

  it('opens an SDK session piped by the content script', async () => {
    const sdkPage = await browser.newPage();
    await sdkPage.goto(`${server.origin}/sdk.html`);
    await sdkPage.waitForFunction(() => 'sdkLoaded' in window);
    const r = await sdkPage.evaluate(async () => {
      type C = {
        session: { origin: string; transport: string };
        matmul(
          a: Float32Array,
          b: Float32Array,
          m: number,
          k: number,
          n: number,
        ): Promise<{ c: Float32Array }>;
      };
      const client = (await (
        window as unknown as { sdk: { connect(): Promise<C> } }
      ).sdk.connect()) as C;
      const out = await client.matmul(
        Float32Array.of(1, 2, 3, 4),
        Float32Array.of(1, 0, 0, 1),
        2,
        2,
        2,
      );
      return { session: client.session, c: [...out.c] };
    });
    expect(r.session).toMatchObject({ origin: server.origin, transport: 'relay' });
    expect(r.c).toEqual([1, 2, 3, 4]);
    await sdkPage.close();
  });

  it('notices a closed pool tab, keeps serving, and replaces it', async () => {
    const before = await waitForHosts(page, (h) => readyKinds(h).join() === 'background,tab');
    const deadId = before.find((h) => h.kind === 'tab')?.id;
    let poolTab: Page | undefined;
    for (const p of await browser.pages()) {
      if ((await locationOf(p)).endsWith('/pool.html')) poolTab = p;
    }
    expect(poolTab).toBeDefined();
    await poolTab?.close();
    await waitForHosts(page, (h) => h.some((x) => x.id === deadId && x.state === 'dead'));
    const ids = await page.evaluate(async () => {
      const out: string[] = [];
      for (let i = 0; i < 4; i++) {
        const r = await (window as unknown as TabpoolWindow).tabpool.matmul(
          Float32Array.of(i),
          Float32Array.of(5),
          1,
          1,
          1,
        );
        if (r.c[0] !== 5 * i) throw new Error('wrong');
        out.push(r.host.id);
      }
      return out;
    });
    expect(ids).not.toContain(deadId);
    await waitForHosts(page, (h) =>
      h.some((x) => x.kind === 'tab' && x.state === 'ready' && x.id !== deadId),
    );
  });

  it('revokes the site from the popup', async () => {
    const popup = await openExtensionPage('/popup.html');
    const revoke = `[aria-label="Revoke ${server.origin}"]`;
    await popup.waitForSelector(revoke);
    await popup.screenshot({ path: resolve(ARTIFACTS, 'firefox-popup-granted.png') });
    await popup.click(revoke);
    await popup.waitForSelector(`.grants__item[data-origin="${server.origin}"]`, { hidden: true });
    const code = await page.evaluate(() =>
      (window as unknown as TabpoolWindow).tabpool.call('status').then(
        () => 'ok',
        (e: { code: string }) => e.code,
      ),
    );
    expect(code).toBe('NOT_GRANTED');
    await popup.close();
  });
});

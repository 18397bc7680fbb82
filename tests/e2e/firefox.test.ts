/**
 * The same extension in headless Firefox ESR (Debian's firefox-esr, WebDriver BiDi through
 * puppeteer-core): background page as coordinator and host #0, a pool tab, sessions piped by the
 * content script, consent in the popup, models loaded from a local hub and run for pages (streamed
 * generation, the LanguageModel global for a page written for Chrome's built-in AI).
 * WebGPU-on-Firefox comes with its issue.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matmulCpu } from '../../kernels/matmul/cpu';
import { startTestHubServer, type TestHubServer } from '../../storage/test-hub-server';
import { launchFirefoxWithExtension } from '../../tools/firefox.mjs';
import { servePages } from '../../tools/page-server.mjs';
import type { TabpoolWindow } from './harness';
import { MODEL_FILES, quiet, reference, serveTinyModels } from './tiny-models';

const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts');

type Host = {
  id: string;
  kind: string;
  state: string;
  served: number;
  backend: string;
  cpuKernels?: string;
};

let ff: Awaited<ReturnType<typeof launchFirefoxWithExtension>>;
let browser: Browser;
let server: Awaited<ReturnType<typeof servePages>>;
let page: Page;
let hub: TestHubServer;

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
  hub = await startTestHubServer();
  serveTinyModels(hub);
});

afterAll(async () => {
  await server?.close();
  await hub?.close();
});

// The whole suite twice: Firefox as it ships on Linux (no WebGPU: hosts run the CPU kernels), and
// with WebGPU turned on by prefs (Mesa's Vulkan driver), where hosts run on the adapter.
describe.each([
  ['without WebGPU', false],
  ['with WebGPU (prefs, Mesa Vulkan)', true],
] as const)('Firefox %s', (_label, webgpu) => {
  const shot = (name: string) =>
    resolve(ARTIFACTS, `firefox${webgpu ? '-webgpu' : ''}-${name}.png`);
  beforeAll(async () => {
    ff = await launchFirefoxWithExtension({ webgpu });
    browser = ff.browser;
    if (webgpu) await setSettings({});
    page = await browser.newPage();
    await page.goto(`${server.origin}/index.html`);
    await page.waitForFunction(() => 'tabpool' in window);
  });
  afterAll(async () => {
    await ff?.close();
  });

  /**
   * Writes the settings as the options page would. With WebGPU on, the hosts are asked to use
   * the adapter even though it is a software one (Mesa's): `auto` would pick the CPU kernels.
   */
  async function setSettings(settings: Record<string, unknown>): Promise<void> {
    const ext = await openExtensionPage('/popup.html');
    await ext.evaluate(
      (value) =>
        (
          globalThis as unknown as {
            browser: { storage: { local: { set(i: unknown): Promise<void> } } };
          }
        ).browser.storage.local.set({ 'tabpool.settings': value }),
      { ...settings, preferredBackend: webgpu ? 'webgpu' : 'auto' },
    );
    await ext.close();
  }

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
    await popup.screenshot({ path: shot('popup-consent') });
    await popup.click(allow);
    expect(await access).toEqual({ state: 'granted' });
    await popup.close();
  });

  it('runs hosts in the background page and a pool tab', async () => {
    const backend = webgpu ? 'webgpu' : 'cpu';
    const hosts = await waitForHosts(
      page,
      (h) => readyKinds(h).join() === 'background,tab' && h.every((x) => x.backend === backend),
    );
    expect(readyKinds(hosts)).toEqual(['background', 'tab']);
    const backends = [...new Set(hosts.map((h) => h.backend))];
    console.info(`firefox ${_label}: host backends ${backends.join(', ')}`);
    expect(backends).toEqual([webgpu ? 'webgpu' : 'cpu']);
    // The manifest's CSP allows 'wasm-unsafe-eval': every host compiled the WASM SIMD matmul.
    expect(hosts.map((h) => h.cpuKernels)).toEqual(['wasm-simd', 'wasm-simd']);
  });

  it("computes a 1 MiB product within the kernels' tolerance, returned as binary", async () => {
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
    const want = matmulCpu(
      Float32Array.from(values(m * k, 1)),
      Float32Array.from(values(k * n, 2)),
      m,
      k,
      n,
    );
    // Another summation order on the GPU and in the CPU's WASM SIMD kernel (each product rounded
    // to f32 before its add): the kernels' conformance tolerance, per element.
    let worst = 0;
    for (let i = 0; i < want.length; i++) {
      const allowed = 2e-6 + 1e-7 * k + 1e-5 * Math.abs(want[i] as number);
      worst = Math.max(worst, Math.abs((want[i] as number) - (got.c[i] as number)) / allowed);
    }
    expect(worst).toBeLessThanOrEqual(webgpu ? 20 : 1);
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

  it('loads a model and streams a generation identical to Node', async () => {
    await setSettings({
      modelBaseUrl: hub.baseUrl,
      languageModel: { repo: 'test/tiny-llama', revision: 'main', files: MODEL_FILES },
    });
    const sdkPage = await browser.newPage();
    await sdkPage.goto(`${server.origin}/sdk.html`);
    await sdkPage.waitForFunction(() => 'sdkLoaded' in window);
    const started = Date.now();
    const r = await sdkPage.evaluate(async (files) => {
      type C = {
        models: { load(p: unknown): Promise<{ model: { state: string } }> };
        generate(
          m: string,
          p: string,
          o: unknown,
        ): AsyncGenerator<string, { text: string; tokens: number }>;
      };
      const client = await (window as unknown as { sdk: { connect(): Promise<C> } }).sdk.connect();
      const loaded = await client.models.load({ repo: 'test/tiny-gpt2', files });
      const t0 = performance.now();
      const gen = client.generate('test/tiny-gpt2', 'Hello, Firefox', {
        maxTokens: 24,
        temperature: 0.9,
        topK: 50,
        seed: 5,
      });
      const pieces: string[] = [];
      let step = await gen.next();
      while (!step.done) {
        pieces.push(step.value);
        step = await gen.next();
      }
      return { state: loaded.model.state, pieces, result: step.value, ms: performance.now() - t0 };
    }, MODEL_FILES);
    const want = await reference.generate(
      {
        model: 'test/tiny-gpt2',
        prompt: 'Hello, Firefox',
        maxTokens: 24,
        temperature: 0.9,
        topK: 50,
        topP: 1,
        seed: 5,
        stop: [],
        addSpecialTokens: true,
      },
      quiet,
    );
    expect(r.state).toBe('ready');
    expect(r.result).toEqual(want);
    expect(r.pieces.join('')).toBe(want.text);
    console.info(
      `firefox: load + 24-token generation ${Date.now() - started} ms (generation ${r.ms.toFixed(0)} ms)`,
    );
    await sdkPage.close();
  });

  it("gives a page written for Chrome's built-in AI a LanguageModel that works", async () => {
    const ai = await browser.newPage();
    await ai.goto(`${server.origin}/chrome-ai.html`);
    await ai.waitForFunction(() => 'LanguageModel' in window, { timeout: 15_000 });
    await ai.click('#ask');
    await ai.waitForSelector('body[data-done]', { timeout: 60_000 });
    const text = (await ai.$eval('#report', (e) => e.textContent)) ?? '';
    expect(text.startsWith('{'), text).toBe(true);
    const report = JSON.parse(text);
    expect(report.after).toBe('available');
    expect(report.progress.at(-1)).toBe(1);
    expect(typeof report.answer).toBe('string');
    expect(report.chunks).toBeGreaterThan(0);
    await ai.close();
  });

  it('finishes requests in flight on a pool tab that is closed, and replaces the tab', async () => {
    const before = await waitForHosts(page, (h) => readyKinds(h).join() === 'background,tab');
    const deadId = before.find((h) => h.kind === 'tab')?.id;
    let poolTab: Page | undefined;
    for (const p of await browser.pages()) {
      if ((await locationOf(p)).endsWith('/pool.html')) poolTab = p;
    }
    expect(poolTab).toBeDefined();
    // Requests in flight when the tab goes: each must still end with the right answer.
    await page.evaluate(() => {
      const w = window as unknown as TabpoolWindow & { inflight?: Promise<unknown> };
      const a = new Float32Array(512 * 512).fill(1);
      const b = new Float32Array(512 * 64).fill(0.5);
      w.inflight = Promise.all(
        Array.from({ length: 6 }, () =>
          w.tabpool.matmul(a, b, 512, 512, 64).then(
            (r) => (r.c.every((x) => x === 256) ? 'ok' : 'wrong'),
            (e: { code: string }) => e.code,
          ),
        ),
      );
    });
    await poolTab?.close();
    const inflight = await page.evaluate(
      () => (window as unknown as { inflight: Promise<string[]> }).inflight,
    );
    expect(inflight).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
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
    await popup.screenshot({ path: shot('popup-granted') });
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

/**
 * The popup and the dashboard in a real Chromium, in the states people meet: healthy, a model
 * downloading (served through a proxy that holds the weights mid-body, so the progress bar is
 * caught part way) and a degraded pool (a pool tab killed, and the next one's circuit breaker opened by real timeouts
 * while the tab hung).
 * Screenshots land in test-artifacts/ under fixed names; every one is taken after assertions on
 * what it shows.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHubServer, type TestHubServer } from '../../storage/test-hub-server';
import { type Harness, readyKinds, startGrantedHarness, waitForHosts } from './harness';
import {
  type Call,
  type ChromeGlobal,
  openDashboard,
  readView,
  SLOW_REPO,
  serveSlowModel,
  setModelServer,
  shot,
  startGatedProxy,
} from './ui-helpers';

let h: Harness;
let page: Page;
let popup: Page;
let dash: Page;
let hub: TestHubServer;
let proxy: Awaited<ReturnType<typeof startGatedProxy>>;

const badgeText = () =>
  h.serviceWorker.evaluate(() =>
    (globalThis as unknown as ChromeGlobal).chrome.action.getBadgeText({}),
  );

beforeAll(async () => {
  hub = await startTestHubServer();
  serveSlowModel(hub);
  proxy = await startGatedProxy(hub.baseUrl, `${SLOW_REPO}/resolve/main/model.safetensors`, 0.4);
  ({ h, page } = await startGrantedHarness());
  popup = await h.openPopup();
  await setModelServer(popup, proxy.baseUrl);
  dash = await openDashboard(h);
}, 180_000);

afterAll(async () => {
  proxy?.release();
  await h?.close();
  await proxy?.close();
  await hub?.close();
});

const matmuls = (n: number) =>
  page.evaluate(async (count) => {
    const one = () => ({ dtype: 'float32', shape: [1, 1], data: Float32Array.from([2]).buffer });
    for (let i = 0; i < count; i++) {
      await (window as unknown as Call).tabpool.call('matmul', { a: one(), b: one() });
    }
  }, n);

describe('popup and dashboard', () => {
  it('healthy: both hosts ready with their facts, work charted, badge quiet', async () => {
    await matmuls(6);
    for (const p of [popup, dash]) {
      await p.waitForFunction(
        () => document.querySelectorAll('.host[data-state="ready"]').length === 2,
      );
      await p.waitForFunction(
        () => Number(document.querySelector('[data-field="requests-minute"]')?.textContent) >= 6,
      );
      // Heap sizes arrive with the first heartbeat after hello.
      await p.waitForFunction(() =>
        [...document.querySelectorAll('[data-field="memory"]')].every(
          (e) => e.textContent !== 'not reported',
        ),
      );
      const view = await readView(p);
      expect(view.state).toBe('busy'); // requests finished in the last minute
      expect(await p.textContent('[data-field="pool-queue"]')).toBe('0');
      expect(view.headline).toBe('2 of 2 hosts ready');
      expect(view.hosts.map((x) => x.kind).sort()).toEqual(['Offscreen document', 'Pool tab']);
      for (const host of view.hosts) {
        expect(host.breaker).toBe('closed');
        // `auto` leaves SwiftShader alone; the CSP lets the CPU's WASM SIMD matmul compile.
        expect(host.backend).toBe('CPU · WASM SIMD');
        expect(host.queue).toMatch(/^0 waiting · 0 running$/);
        expect(host.memory).toMatch(/^\d+(\.\d)? (KB|MB) JS heap$/); // Chromium reports its heap
        expect(host.models).toBe('none loaded');
        expect(host.heartbeat).toMatch(/just now|\d+ s ago/);
      }
      const [throughput, latency] = view.charts;
      expect(throughput?.label).toMatch(
        /^Requests finished per second over the last minute: \d+ in all$/,
      );
      expect(throughput).toMatchObject({ points: 60, canvas: true });
      expect(latency?.points).toBeGreaterThanOrEqual(1);
      expect(latency?.canvas).toBe(true);
    }
    expect(await badgeText()).toBe('');
    await shot(popup, 'popup-healthy.png');
    await shot(dash, 'dashboard-healthy.png');
  });

  it('downloading: progress bars in the popup and the dashboard, caught mid-download', async () => {
    const load = page.evaluate(
      (repo) =>
        (window as unknown as Call).tabpool.call('models.load', {
          repo,
          files: ['config.json', 'model.safetensors'],
        }),
      SLOW_REPO,
    );
    await proxy.held;
    const id = `${SLOW_REPO}@main`;
    // The bar climbs to where the proxy holds the body, and stays there.
    await popup.waitForFunction(
      (model) =>
        Number(
          document.querySelector<HTMLElement>(`.download[data-model="${model}"]`)?.dataset.percent,
        ) >= 35,
      id,
    );
    const bar = await popup.$eval(`.download[data-model="${id}"]`, (el) => ({
      percent: Number((el as HTMLElement).dataset.percent),
      value: Number(el.querySelector('progress')?.getAttribute('value')),
      max: Number(el.querySelector('progress')?.getAttribute('max')),
      text: el.querySelector('[data-field="download-text"]')?.textContent ?? '',
    }));
    // 40% of the weights plus the whole config: part way, not done.
    expect(bar.percent).toBeGreaterThanOrEqual(35);
    expect(bar.percent).toBeLessThanOrEqual(60);
    expect(bar.value).toBeLessThan(bar.max);
    expect(Math.floor((bar.value / bar.max) * 100)).toBe(bar.percent);
    expect(bar.text).toMatch(/^\d+% · [\d.]+ (KB|MB) of [\d.]+ (KB|MB) · model\.safetensors$/);
    await shot(popup, 'popup-downloading.png');

    await dash.waitForFunction(
      (model) =>
        Number(
          document.querySelector<HTMLElement>(
            `.model[data-model="${model}"] [data-field="model-progress"]`,
          )?.dataset.percent,
        ) >= 35,
      id,
    );
    const row = await dash.$eval(`.model[data-model="${id}"]`, (el) => ({
      state: (el as HTMLElement).dataset.state,
      percent: Number(
        el.querySelector<HTMLElement>('[data-field="model-progress"]')?.dataset.percent,
      ),
      label: el.querySelector('[data-field="model-progress"] label')?.textContent ?? '',
    }));
    expect(row.state).toBe('downloading');
    expect(row.percent).toBe(bar.percent);
    expect(row.label).toMatch(/^Downloading model\.safetensors: \d+% \(/);
    await dash.$eval('#models', (el) => el.scrollIntoView());
    await shot(dash, 'dashboard-downloading.png');

    proxy.release();
    expect(await load).toMatchObject({ model: { id, state: 'ready' } });
    await dash.waitForSelector(`.model[data-model="${id}"][data-state="ready"]`, {
      timeout: 15_000,
    });
    await popup.waitForSelector('.download', { state: 'detached' });
    expect(await dash.textContent(`.model[data-model="${id}"] [data-field="model-size"]`)).toMatch(
      /^[\d.]+ KB on disk \([\d.]+ KB its own\)$/,
    );
    // Storage against the quota.
    expect(await dash.textContent('[data-field="quota"] label')).toMatch(
      /^[\d.]+ (KB|MB) of [\d.]+ (MB|GB) quota used \(\d+%\)$/,
    );

    // A forward pass from the page puts the model in one host's memory: both views say where.
    const ran = await page.evaluate(
      (model) =>
        (window as unknown as Call).tabpool.call('run', {
          model,
          inputs: {
            input_ids: { dtype: 'int32', shape: [1, 4], data: Int32Array.of(1, 2, 3, 4).buffer },
          },
        }),
      SLOW_REPO,
    );
    expect(ran).toHaveProperty('outputs');
    await dash.waitForSelector(
      `.model[data-model="${id}"] [data-field="model-resident"]:has-text("In memory on")`,
    );
    expect(
      await dash.textContent(`.model[data-model="${id}"] [data-field="model-resident"]`),
    ).toMatch(/^In memory on (Offscreen document|Pool tab) [0-9a-f]{8}$/);
    await popup.waitForFunction(
      (model) =>
        [...document.querySelectorAll('[data-field="models"]')].filter(
          (e) => e.textContent === model,
        ).length === 1,
      id,
    );
    // Pinned: never evicted.
    await dash.click(`[aria-label="Pin ${id} (never evicted)"]`);
    await dash.waitForSelector(
      `.model[data-model="${id}"] [data-action="pin"][aria-pressed="true"]`,
    );
    expect(await dash.textContent(`.model[data-model="${id}"] [data-action="pin"]`)).toBe('Pinned');
  });

  it('degraded: a killed pool tab and a host whose breaker opened after timeouts', async () => {
    await h.context
      .pages()
      .find((p) => p.url().endsWith('/pool.html'))
      ?.close();
    await waitForHosts(page, (hosts) => readyKinds(hosts).join() === 'offscreen,tab');
    // Hang the new pool tab (its page paused in the debugger, as a wedged host would hang) and
    // send eight matmuls with a 2.5 s deadline: they time out, and a timeout with a deadline that
    // generous is the host's fault; three in a row open a breaker. The tab resumes before its
    // heartbeat runs out, so it stays listed as ready.
    const tab = h.context.pages().find((p) => p.url().endsWith('/pool.html'));
    if (!tab) throw new Error('no pool tab');
    const cdp = await h.context.newCDPSession(tab);
    await cdp.send('Debugger.enable');
    await cdp.send('Debugger.pause');
    const codes = await page.evaluate(() => {
      const w = window as unknown as {
        tabpool: {
          sendRaw(
            m: unknown,
            id: string,
            o: unknown,
          ): Promise<{ ok: boolean; error?: { code: string } }>;
        };
      };
      const one = () => ({ dtype: 'float32', shape: [1, 1], data: Float32Array.from([3]).buffer });
      return Promise.all(
        Array.from({ length: 8 }, async (_, i) => {
          const id = `hung-${i}`;
          const r = await w.tabpool.sendRaw(
            { tabpool: 1, id, op: 'matmul', deadlineMs: 2_500, params: { a: one(), b: one() } },
            id,
            { timeoutMs: 10_000 },
          );
          return r.ok ? 'ok' : (r.error?.code ?? '?');
        }),
      );
    });
    await cdp.send('Debugger.resume');
    await cdp.send('Debugger.disable');
    // Every extension page shares one renderer process in Chromium, so the offscreen document
    // hung too: whichever hosts the scheduler gave three runs (with their full deadline) opened
    // their breakers. If both did, wait out the half-open delay (5 s) and send one request: it
    // is a probe, and its success closes that host's breaker. Either way one stays open.
    expect(codes).toEqual(Array(8).fill('TIMEOUT'));
    await popup.waitForSelector('.host[data-breaker="open"]');
    await new Promise((r) => setTimeout(r, 1_500)); // both breakers' changes reach the popup
    if ((await popup.locator('.host[data-breaker="open"]').count()) === 2) {
      await new Promise((r) => setTimeout(r, 5_500));
      await matmuls(1);
    }

    for (const p of [popup, dash]) {
      await p.waitForFunction(
        () => document.querySelectorAll('.host[data-breaker="open"]').length === 1,
        undefined,
        { timeout: 10_000 },
      );
      const view = await readView(p);
      expect(view.state).toBe('degraded');
      expect(Number(await p.textContent('[data-field="deadline-misses"]'))).toBeGreaterThanOrEqual(
        8,
      );
      expect(view.headline).toMatch(/^2 of 2 hosts ready, 1 lost$/);
      expect(view.hosts.filter((x) => x.state === 'dead').map((x) => x.kind)).toEqual(['Pool tab']);
      const broken = view.hosts.filter((x) => x.breaker === 'open');
      expect(broken.map((x) => x.state)).toEqual(['ready']);
    }
    expect(await popup.textContent('.host[data-breaker="open"] [data-field="breaker"]')).toBe(
      'open: no new work',
    );
    for (let i = 0; i < 50 && (await badgeText()) !== '1/2'; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await badgeText()).toBe('1/2'); // one of two live hosts usable
    const badgeColor = await h.serviceWorker.evaluate(() =>
      (
        globalThis as unknown as {
          chrome: { action: { getBadgeBackgroundColor(d: object): Promise<number[]> } };
        }
      ).chrome.action.getBadgeBackgroundColor({}),
    );
    expect(badgeColor).toEqual([154, 103, 0, 255]); // amber: degraded, not down
    await shot(popup, 'popup-degraded.png');
    await dash.$eval('#pool', (el) => el.scrollIntoView());
    await shot(dash, 'dashboard-degraded.png');
  });

  it('is keyboard-usable with labelled controls, and follows the system theme', async () => {
    // Every control has a name a screen reader can say.
    for (const p of [popup, dash]) {
      const unnamed = await p.evaluate(() =>
        [...document.querySelectorAll<HTMLElement>('button, input, select, a[href]')]
          .filter((el) => {
            const labels = (el as HTMLInputElement).labels;
            const name =
              el.getAttribute('aria-label') ??
              (labels && labels.length > 0 ? labels[0]?.textContent : null) ??
              el.textContent;
            return !name?.trim();
          })
          .map((el) => el.outerHTML.slice(0, 80)),
      );
      expect(unnamed).toEqual([]);
    }
    // Tab order follows the page: the popup's first stop is the dashboard link, then a
    // site's Revoke; the focused control shows a ring.
    await popup.bringToFront();
    await popup.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    const stops: string[] = [];
    for (let i = 0; i < 2; i++) {
      await popup.keyboard.press('Tab');
      stops.push(
        await popup.evaluate(() => {
          const el = document.activeElement as HTMLElement;
          const ring = getComputedStyle(el).outlineStyle;
          return `${el.getAttribute('aria-label') ?? el.textContent} [${ring}]`;
        }),
      );
    }
    expect(stops).toEqual(['Dashboard [solid]', `Revoke ${h.origin} [solid]`]);
    // The benchmark form works from the keyboard: Space toggles a case, Enter runs it.
    await dash.bringToFront();
    await dash.focus('input[name="kernel-softmax-256"]');
    await dash.keyboard.press('Space');
    expect(await dash.isChecked('input[name="kernel-softmax-256"]')).toBe(true);
    await dash.focus('.bench button[type="submit"]');
    await dash.keyboard.press('Enter');
    await dash.waitForFunction(
      () =>
        document.querySelector('[data-field="bench-status"]')?.textContent === 'Done: 2 hosts' &&
        [...document.querySelectorAll('.bench__table tbody tr')].some(
          (r) => r.getAttribute('data-case') === 'softmax 256x256',
        ),
      undefined,
      { timeout: 90_000 },
    );
    // Delete, from the keyboard too: the model leaves the store and the list.
    const id = `${SLOW_REPO}@main`;
    await dash.focus(`[aria-label="Delete ${id}"]`);
    await dash.keyboard.press('Enter');
    await dash.waitForSelector(`.model[data-model="${id}"]`, { state: 'detached' });
    // Dark and light come from the system setting.
    for (const [scheme, background] of [
      ['dark', 'rgb(13, 17, 23)'],
      ['light', 'rgb(255, 255, 255)'],
    ] as const) {
      await popup.emulateMedia({ colorScheme: scheme });
      expect(await popup.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe(
        background,
      );
      if (scheme === 'dark') await shot(popup, 'popup-dark.png');
    }
  });
});

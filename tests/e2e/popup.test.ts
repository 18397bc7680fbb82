/**
 * The popup in a real Chromium: consent (a page asks, the user allows, later revokes), the live
 * hosts (kind, state, last heartbeat, requests served), and a host that dies. Screenshots go to
 * test-artifacts/ for people to look at (the healthy, downloading and degraded states of the
 * popup and dashboard are in dashboard.test.ts).
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness';

const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts');

type Call = { tabpool: { call(op: string, p?: unknown): Promise<unknown> } };

let h: Harness;
let page: Page;
let popup: Page;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  h = await startHarness();
  page = await h.openPage();
  popup = await h.openPopup();
});

afterAll(async () => {
  await h?.close();
});

/** What the popup shows, read from the DOM a person sees. */
const readPopup = (p: Page) =>
  p.evaluate(() => ({
    headline: document.querySelector('[data-field="headline"]')?.textContent ?? '',
    pending: [...document.querySelectorAll<HTMLElement>('.consent__item')].map(
      (e) => e.dataset.origin,
    ),
    granted: [...document.querySelectorAll<HTMLElement>('.grants__item')].map(
      (e) => e.dataset.origin,
    ),
    hosts: [...document.querySelectorAll<HTMLElement>('.host')].map((el) => ({
      kind: el.querySelector('.host__kind')?.textContent ?? '',
      state: el.dataset.state ?? '',
      heartbeat: el.querySelector('[data-field="heartbeat"]')?.textContent ?? '',
      served: Number(el.querySelector('[data-field="served"]')?.textContent),
    })),
  }));

/** The extension's toolbar badge text, read from the service worker. */
const badgeText = () =>
  h.serviceWorker.evaluate(() =>
    (
      globalThis as unknown as { chrome: { action: { getBadgeText(d: object): Promise<string> } } }
    ).chrome.action.getBadgeText({}),
  );

/** One 1×1 matmul from the page; resolves with the error code, or 'ok'. */
const tryMatmul = (p: Page) =>
  p.evaluate(async () => {
    const one = () => ({ dtype: 'float32', shape: [1, 1], data: Float32Array.from([1]).buffer });
    try {
      await (window as unknown as Call).tabpool.call('matmul', { a: one(), b: one() });
      return 'ok';
    } catch (e) {
      return (e as { code: string }).code;
    }
  });

describe('popup', () => {
  it('refuses a page nobody allowed, then shows its request for access', async () => {
    expect(await tryMatmul(page)).toBe('NOT_GRANTED');
    const answer = page.evaluate(() => (window as unknown as Call).tabpool.call('access'));
    await popup.waitForSelector(`.consent__item[data-origin="${h.origin}"]`);
    const view = await readPopup(popup);
    expect(view.pending).toEqual([h.origin]);
    expect(view.granted).toEqual([]);
    expect(await popup.isVisible(`[aria-label="Allow ${h.origin}"]`)).toBe(true);
    await popup.screenshot({ path: resolve(ARTIFACTS, 'popup-consent.png') });
    for (let i = 0; i < 50 && (await badgeText()) !== '1'; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(await badgeText()).toBe('1'); // the toolbar says someone is waiting
    await popup.click(`[aria-label="Allow ${h.origin}"]`);
    expect(await answer).toEqual({ state: 'granted' });
    await popup.waitForSelector(`.grants__item[data-origin="${h.origin}"]`);
    expect((await readPopup(popup)).pending).toEqual([]);
    for (let i = 0; i < 50 && (await badgeText()) !== ''; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(await badgeText()).toBe('');
  });

  it('lists both hosts as ready, with heartbeats and the requests each served', async () => {
    await popup.waitForFunction(
      () => document.querySelectorAll('.host[data-state="ready"]').length === 2,
    );
    for (let i = 0; i < 4; i++) expect(await tryMatmul(page)).toBe('ok');
    await popup.waitForFunction(
      () =>
        [...document.querySelectorAll('[data-field="served"]')].reduce(
          (n, e) => n + Number(e.textContent),
          0,
        ) >= 4,
    );
    const view = await readPopup(popup);
    expect(view.headline).toBe('2 of 2 hosts ready');
    expect(view.hosts.map((x) => x.kind).sort()).toEqual(['Offscreen document', 'Pool tab']);
    expect(view.hosts.every((x) => x.state === 'ready')).toBe(true);
    expect(view.hosts.every((x) => /just now|\d+ s ago/.test(x.heartbeat))).toBe(true);
    expect(view.hosts.map((x) => x.served)).toEqual([2, 2]);
    expect(view.granted).toEqual([h.origin]);
    // The last minute's activity: at least the 4 matmuls, and a latency.
    await popup.waitForFunction(
      () => Number(document.querySelector('[data-field="requests-minute"]')?.textContent) >= 4,
    );
    expect(await popup.textContent('[data-field="latency"]')).toMatch(/^\d+ ms$/);
    // uPlot drew both sparklines: a canvas each, and the latency line has points.
    expect(await popup.locator('.activity figure.chart canvas').count()).toBe(2);
    expect(
      Number(await popup.getAttribute('[data-chart="latency"] figure', 'data-points')),
    ).toBeGreaterThanOrEqual(1);
    expect(await popup.getAttribute('[data-pool-state]', 'data-pool-state')).toBe('busy');
  });

  it('shows a killed pool tab as lost, then its replacement', async () => {
    await h.context
      .pages()
      .find((p) => p.url().endsWith('/pool.html'))
      ?.close();
    await popup.waitForSelector('.host[data-state="dead"]', { timeout: 15_000 });
    await popup.screenshot({ path: resolve(ARTIFACTS, 'popup-host-lost.png'), fullPage: true });
    const view = await readPopup(popup);
    // The replacement may already be starting: the dead tab is listed either way.
    expect(view.headline).toMatch(/^[12] of [12] hosts ready, 1 lost$/);
    expect(view.hosts.find((x) => x.state === 'dead')?.kind).toBe('Pool tab');
    expect(view.hosts.find((x) => x.kind === 'Offscreen document')?.state).toBe('ready');
    expect(await popup.getAttribute('[data-pool-state]', 'data-pool-state')).toBe('degraded');
    await popup.waitForFunction(
      () =>
        document.querySelector('[data-field="headline"]')?.textContent ===
        '2 of 2 hosts ready, 1 lost',
      undefined,
      { timeout: 15_000 },
    );
    const healed = await readPopup(popup);
    expect(
      healed.hosts
        .filter((x) => x.kind === 'Pool tab')
        .map((x) => x.state)
        .sort(),
    ).toEqual(['dead', 'ready']);
  });

  it('revokes a site: its next request is refused', async () => {
    await popup.click(`[aria-label="Revoke ${h.origin}"]`);
    await popup.waitForSelector(`.grants__item[data-origin="${h.origin}"]`, { state: 'detached' });
    expect(await tryMatmul(page)).toBe('NOT_GRANTED');
    expect((await readPopup(popup)).granted).toEqual([]);
  });
});

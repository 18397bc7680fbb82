/**
 * The popup in a real Chromium: it shows the live hosts (kind, state, last heartbeat, requests
 * served) and notices a host that dies. Screenshots go to test-artifacts/ for people to look at.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, readyKinds, startHarness, waitForHosts } from './harness';

const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts');

let h: Harness;
let page: Page;
let popup: Page;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  h = await startHarness();
  page = await h.openPage();
  await waitForHosts(page, (hosts) => readyKinds(hosts).join() === 'offscreen,tab');
  popup = await h.context.newPage();
  await popup.setViewportSize({ width: 360, height: 420 });
  await popup.goto(`chrome-extension://${h.extensionId}/popup.html`);
});

afterAll(async () => {
  await h?.close();
});

/** What the popup shows, read from the DOM a person sees. */
const readPopup = (p: Page) =>
  p.evaluate(() => ({
    headline: document.querySelector('[data-field="headline"]')?.textContent ?? '',
    hosts: [...document.querySelectorAll<HTMLElement>('.host')].map((el) => ({
      kind: el.querySelector('.host__kind')?.textContent ?? '',
      state: el.dataset.state ?? '',
      heartbeat: el.querySelector('[data-field="heartbeat"]')?.textContent ?? '',
      served: Number(el.querySelector('[data-field="served"]')?.textContent),
    })),
  }));

describe('popup', () => {
  it('lists both hosts as ready, with heartbeats and the requests each served', async () => {
    await page.evaluate(async () => {
      const t = (
        window as unknown as { tabpool: { call(op: string, p: unknown): Promise<unknown> } }
      ).tabpool;
      const one = () => ({ dtype: 'float32', shape: [1, 1], data: Float32Array.from([1]).buffer });
      for (let i = 0; i < 4; i++) await t.call('matmul', { a: one(), b: one() });
    });
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
    expect(view.hosts.reduce((n, x) => n + x.served, 0)).toBe(4);
    expect(view.hosts.map((x) => x.served)).toEqual([2, 2]);
    await popup.screenshot({ path: resolve(ARTIFACTS, 'popup-healthy.png') });
  });

  it('shows a killed pool tab as lost', async () => {
    await h.context
      .pages()
      .find((p) => p.url().endsWith('/pool.html'))
      ?.close();
    await popup.waitForSelector('.host[data-state="dead"]', { timeout: 15_000 });
    const view = await readPopup(popup);
    expect(view.headline).toBe('1 of 1 hosts ready, 1 lost');
    expect(view.hosts.find((x) => x.state === 'dead')?.kind).toBe('Pool tab');
    expect(view.hosts.find((x) => x.state === 'ready')?.kind).toBe('Offscreen document');
    await popup.screenshot({ path: resolve(ARTIFACTS, 'popup-degraded.png') });
  });
});

/**
 * MV3 stops idle service workers, and with them the coordinator. The hosts must outlive it:
 * after a stop, the next request wakes the worker, the hosts reconnect, and work goes on.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startGrantedHarness, type TabpoolWindow, waitForHosts } from './harness';

let h: Harness;
let page: Page;

beforeAll(async () => {
  ({ h, page } = await startGrantedHarness());
});

afterAll(async () => {
  await h?.close();
});

const runSome = (p: Page, count: number) =>
  p.evaluate(async (count) => {
    const out: { value: number; host: string }[] = [];
    for (let i = 0; i < count; i++) {
      const r = await (window as unknown as TabpoolWindow).tabpool.matmul(
        Float32Array.from([i]),
        Float32Array.from([5]),
        1,
        1,
        1,
      );
      out.push({ value: r.c[0] as number, host: r.host.id });
    }
    return out;
  }, count);

describe('service worker restart', () => {
  it('keeps the same hosts and serves requests after the worker is stopped', async () => {
    const before = await runSome(page, 4);
    const hostsBefore = new Set(before.map((r) => r.host));
    expect(hostsBefore.size).toBe(2);

    // Mark the running worker, then stop every service worker as Chrome does when idle.
    await h.serviceWorker.evaluate(() => {
      (globalThis as { marker?: number }).marker = 1;
    });
    const cdp = await h.context.newCDPSession(page);
    await cdp.send('ServiceWorker.enable');
    await cdp.send('ServiceWorker.stopAllWorkers');

    const after = await runSome(page, 4);
    expect(after.map((r) => r.value)).toEqual([0, 5, 10, 15]);
    // The same two hosts (same ids) came back: nothing was re-spawned, no tab was duplicated.
    expect(new Set(after.map((r) => r.host))).toEqual(hostsBefore);
    expect(h.context.pages().filter((p) => p.url().endsWith('/pool.html'))).toHaveLength(1);

    const worker = h.context.serviceWorkers()[0];
    const marker = await worker?.evaluate(() => (globalThis as { marker?: number }).marker);
    expect(marker).toBeUndefined(); // a fresh worker: the old one really was stopped

    // Served counts come from the hosts, so they survive the coordinator's restart.
    const hosts = await waitForHosts(page, (hs) => hs.reduce((n, x) => n + x.served, 0) === 8);
    // Each served 2 before the stop; after it, which host reconnects first decides the split.
    expect(hosts.every((x) => x.served >= 2)).toBe(true);
  });

  it('ends an SDK call in flight with COORDINATOR_LOST, and the next call opens a new session', async () => {
    const sdkPage = await h.openPage('/sdk.html'); // same origin: already granted
    await sdkPage.evaluate(async () => {
      const w = window as unknown as { sdk: { connect(): Promise<unknown> }; client: unknown };
      w.client = await w.sdk.connect();
    });
    type C = {
      matmul(
        a: Float32Array,
        b: Float32Array,
        m: number,
        k: number,
        n: number,
      ): Promise<{ c: Float32Array }>;
    };
    // A product big enough to be in flight when the worker stops.
    const inFlight = sdkPage.evaluate(() => {
      const { client } = window as unknown as { client: C };
      const n = 640;
      return client
        .matmul(new Float32Array(n * n).fill(1), new Float32Array(n * n).fill(1), n, n, n)
        .then(
          () => 'finished',
          (e: { code: string }) => e.code,
        );
    });
    await new Promise((r) => setTimeout(r, 30));
    const cdp = await h.context.newCDPSession(page);
    await cdp.send('ServiceWorker.enable');
    await cdp.send('ServiceWorker.stopAllWorkers');
    expect(await inFlight).toBe('COORDINATOR_LOST'); // ended, typed — not left hanging
    const next = await sdkPage.evaluate(async () => {
      const { client } = window as unknown as { client: C };
      return [...(await client.matmul(Float32Array.of(6), Float32Array.of(7), 1, 1, 1)).c];
    });
    expect(next).toEqual([42]);
    await sdkPage.close();
  });
});

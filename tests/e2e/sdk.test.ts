/**
 * The page SDK as a site would use it (tests/pages/sdk.html loads only dist/client): connect,
 * ask for access, run, cancel with an AbortSignal, deadlines, typed errors.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowInPopup } from '../../tools/launch.mjs';
import { type Harness, startHarness } from './harness';

type Client = {
  session: { origin: string; transport: string; protocols: number[] };
  call(op: string, params?: unknown, options?: unknown): Promise<unknown>;
  hello(): Promise<{ protocol: number }>;
  status(): Promise<{ hosts: { state: string }[] }>;
  matmul(
    a: Float32Array,
    b: Float32Array,
    m: number,
    k: number,
    n: number,
    options?: { signal?: AbortSignal; deadlineMs?: number },
  ): Promise<{ c: Float32Array; shape: number[]; host: { kind: string } }>;
};
type W = { sdk: { connect(): Promise<Client> }; client: Client };

let h: Harness;
let page: Page;

beforeAll(async () => {
  h = await startHarness();
  page = await h.openPage('/sdk.html');
});

afterAll(async () => {
  await h?.close();
});

describe('page SDK', () => {
  it('connects over a session that names the page’s real origin', async () => {
    const session = await page.evaluate(async () => {
      const w = window as unknown as W;
      w.client = await w.sdk.connect();
      return w.client.session;
    });
    expect(session).toMatchObject({ origin: h.origin, transport: 'bridge', protocols: [1] });
  });

  it('is refused until the user allows the site, then works', async () => {
    const before = await page.evaluate(() =>
      (window as unknown as W).client.status().then(
        () => 'ok',
        (e: { code: string; name: string }) => `${e.code}/${e.name}`,
      ),
    );
    expect(before).toBe('NOT_GRANTED/NotGrantedError'); // a rebuilt error class, not a bare object
    const access = page.evaluate(() => (window as unknown as W).client.call('access'));
    await allowInPopup(h.context, h.extensionId, h.origin);
    expect(await access).toEqual({ state: 'granted' });
    await page.evaluate(async () => {
      const { client } = window as unknown as W;
      while ((await client.status()).hosts.filter((x) => x.state === 'ready').length < 2) {
        await new Promise((r) => setTimeout(r, 100));
      }
    });
  });

  it('runs a matmul and returns a Float32Array', async () => {
    const r = await page.evaluate(async () => {
      const out = await (window as unknown as W).client.matmul(
        Float32Array.of(1, 2, 3, 4),
        Float32Array.of(1, 0, 0, 1),
        2,
        2,
        2,
      );
      return { c: [...out.c], shape: out.shape, isF32: out.c instanceof Float32Array };
    });
    expect(r).toEqual({ c: [1, 2, 3, 4], shape: [2, 2], isF32: true });
  });

  it('cancels a long run with an AbortSignal, and the pool keeps serving', async () => {
    const r = await page.evaluate(async () => {
      const { client } = window as unknown as W;
      const n = 512;
      const controller = new AbortController();
      const started = performance.now();
      const pending = client.matmul(
        new Float32Array(n * n).fill(1),
        new Float32Array(n * n).fill(1),
        n,
        n,
        n,
        {
          signal: controller.signal,
        },
      );
      setTimeout(() => controller.abort(), 10);
      const code = await pending.then(
        () => 'finished',
        (e: { code: string }) => e.code,
      );
      const afterMs = performance.now() - started;
      const next = await client.matmul(Float32Array.of(2), Float32Array.of(21), 1, 1, 1);
      return { code, afterMs, next: next.c[0] };
    });
    expect(r.code).toBe('ABORTED');
    expect(r.next).toBe(42);
  });

  it('ends a run that passes its deadline with TIMEOUT', async () => {
    const code = await page.evaluate(async () => {
      const { client } = window as unknown as W;
      const n = 768;
      return client
        .matmul(new Float32Array(n * n).fill(1), new Float32Array(n * n).fill(1), n, n, n, {
          deadlineMs: 5,
        })
        .then(
          () => 'finished',
          (e: { code: string }) => e.code,
        );
    });
    expect(code).toBe('TIMEOUT');
  });

  it('rejects a bad call with a typed error and stays usable', async () => {
    const r = await page.evaluate(async () => {
      const { client } = window as unknown as W;
      const bad = await client.matmul(Float32Array.of(1, 2), Float32Array.of(1, 2), 1, 2, 2).then(
        () => 'ok',
        (e: { code: string }) => e.code,
      );
      const hello = await client.hello();
      return { bad, protocol: hello.protocol };
    });
    expect(r).toEqual({ bad: 'INVALID_PARAMS', protocol: 1 });
  });
});

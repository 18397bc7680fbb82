/**
 * The whole request path in a real Chromium: page → content script → service worker coordinator
 * → a runtime host (offscreen document or pool tab) → CPU matmul → back to the page.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matmulCpu } from '../../kernels/matmul/cpu';
import {
  type Harness,
  readyKinds,
  startGrantedHarness,
  type TabpoolWindow,
  waitForHosts,
} from './harness';

/** Deterministic values, the same in Node and in the page. */
const values = (length: number, seed: number) =>
  Array.from({ length }, (_, i) => (((i * 7919 + seed * 104729) % 2001) - 1000) / 1000);

let h: Harness;
let page: Page;

beforeAll(async () => {
  ({ h, page } = await startGrantedHarness());
});

afterAll(async () => {
  await h?.close();
});

describe('discovery', () => {
  it('answers hello with the protocol version', async () => {
    const hello = await page.evaluate(() =>
      (window as unknown as TabpoolWindow).tabpool.call('hello'),
    );
    expect(hello).toMatchObject({ extension: 'tabpool', protocol: 1, protocols: [1] });
    expect((hello as { ops: string[] }).ops).toContain('matmul');
  });

  it('marks the document so late scripts can see tabpool is installed', async () => {
    expect(await page.getAttribute('html', 'data-tabpool-protocols')).toBe('1');
  });
});

describe('matmul through the pool', () => {
  it('computes a small product exactly and returns it as binary', async () => {
    const out = await page.evaluate(async () => {
      const r = await (window as unknown as TabpoolWindow).tabpool.matmul(
        Float32Array.from([1, 2, 3, 4, 5, 6]),
        Float32Array.from([7, 8, 9, 10, 11, 12]),
        2,
        3,
        2,
      );
      const data = (r.raw as { c: { data: unknown } }).c.data;
      return { c: [...r.c], shape: r.shape, binary: data instanceof ArrayBuffer };
    });
    expect(out).toEqual({ c: [58, 64, 139, 154], shape: [2, 2], binary: true });
  });

  it('computes a 1 MiB product on the hosts’ kernels, matching the CPU reference', async () => {
    const m = 512;
    const k = 512;
    const n = 64;
    const got = await page.evaluate(
      async ({ m, k, n, a, b }) => {
        const r = await (window as unknown as TabpoolWindow).tabpool.matmul(
          Float32Array.from(a),
          Float32Array.from(b),
          m,
          k,
          n,
        );
        return [...r.c];
      },
      { m, k, n, a: values(m * k, 1), b: values(k * n, 2) },
    );
    const want = matmulCpu(
      Float32Array.from(values(m * k, 1)),
      Float32Array.from(values(k * n, 2)),
      m,
      k,
      n,
    );
    expect(got.length).toBe(m * n);
    // The kernels' matmul tolerance (kernels/conformance): abs 2e-6 + 1e-7·k, rel 1e-5.
    let worst = 0;
    for (let i = 0; i < got.length; i++) {
      const diff = Math.abs((got[i] as number) - (want[i] as number));
      const allowed = 2e-6 + 1e-7 * k + 1e-5 * Math.abs(want[i] as number);
      worst = Math.max(worst, diff / allowed);
    }
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('leaves a software GPU alone by default, and uses it when the setting says webgpu', async () => {
    type Status = {
      hosts: { state: string; backend: string; adapter: string | null; cpuKernels?: string }[];
    };
    const status = async () =>
      (
        (await page.evaluate(() =>
          (window as unknown as TabpoolWindow).tabpool.call('status'),
        )) as Status
      ).hosts.filter((h) => h.state === 'ready');
    // This Chromium's adapter is SwiftShader: slower than the CPU kernels, so `auto` skips it.
    const auto = await status();
    expect(auto.map((h) => h.backend)).toEqual(['cpu', 'cpu']);
    expect(auto.every((h) => /swiftshader/i.test(h.adapter ?? ''))).toBe(true);
    // The manifest's CSP allows 'wasm-unsafe-eval': both hosts compiled the WASM SIMD matmul.
    expect(auto.map((h) => h.cpuKernels)).toEqual(['wasm-simd', 'wasm-simd']);

    const setBackend = async (preferredBackend: string) => {
      const popup = await h.openPopup();
      await popup.evaluate(
        (preferredBackend) =>
          (
            globalThis as unknown as {
              chrome: { storage: { local: { set(v: unknown): Promise<void> } } };
            }
          ).chrome.storage.local.set({ 'tabpool.settings': { preferredBackend } }),
        preferredBackend,
      );
      await popup.close();
    };
    await setBackend('webgpu');
    const start = Date.now();
    while ((await status()).some((h) => h.backend !== 'webgpu')) {
      if (Date.now() - start > 30_000) throw new Error('hosts did not switch to WebGPU');
      await new Promise((r) => setTimeout(r, 100));
    }
    // The same 1 MiB product, now on the hosts' WebGPU kernels, within the kernels' tolerance.
    const [m, k, n] = [512, 512, 64];
    const got = await page.evaluate(
      async ({ m, k, n, a, b }) => {
        const seen = new Set<string>();
        let out: number[] = [];
        for (let i = 0; i < 2; i++) {
          const r = await (window as unknown as TabpoolWindow).tabpool.matmul(
            Float32Array.from(a),
            Float32Array.from(b),
            m,
            k,
            n,
          );
          seen.add(r.host.kind);
          out = [...r.c];
        }
        return { c: out, kinds: [...seen].sort() };
      },
      { m, k, n, a: values(m * k, 3), b: values(k * n, 4) },
    );
    expect(got.kinds).toEqual(['offscreen', 'tab']);
    const want = matmulCpu(
      Float32Array.from(values(m * k, 3)),
      Float32Array.from(values(k * n, 4)),
      m,
      k,
      n,
    );
    let worst = 0;
    for (let i = 0; i < want.length; i++) {
      const allowed = 2e-6 + 1e-7 * k + 1e-5 * Math.abs(want[i] as number);
      worst = Math.max(worst, Math.abs((got.c[i] as number) - (want[i] as number)) / allowed);
    }
    expect(worst).toBeLessThanOrEqual(1);
    await setBackend('auto');
    while ((await status()).some((h) => h.backend !== 'cpu'))
      await new Promise((r) => setTimeout(r, 100));
  });

  it('spreads requests across the offscreen document and the pool tab', async () => {
    const kinds = await page.evaluate(async () => {
      const seen: string[] = [];
      for (let i = 0; i < 10; i++) {
        const r = await (window as unknown as TabpoolWindow).tabpool.matmul(
          Float32Array.from([i]),
          Float32Array.from([2]),
          1,
          1,
          1,
        );
        if (r.c[0] !== 2 * i) throw new Error(`wrong result ${r.c[0]}`);
        seen.push(r.host.kind);
      }
      return seen;
    });
    expect(kinds.filter((k) => k === 'offscreen').length).toBe(5);
    expect(kinds.filter((k) => k === 'tab').length).toBe(5);
  });

  it('serves concurrent requests from two pages, each matched to its own id', async () => {
    const other = await h.openPage();
    const run = (p: Page, seed: number) =>
      p.evaluate(async (seed) => {
        const jobs = Array.from({ length: 8 }, (_, i) =>
          (window as unknown as TabpoolWindow).tabpool
            .matmul(Float32Array.from([seed + i, 1]), Float32Array.from([1, 1]), 1, 2, 1)
            .then((r) => r.c[0]),
        );
        return Promise.all(jobs);
      }, seed);
    const [a, b] = await Promise.all([run(page, 100), run(other, 200)]);
    expect(a).toEqual([101, 102, 103, 104, 105, 106, 107, 108]);
    expect(b).toEqual([201, 202, 203, 204, 205, 206, 207, 208]);
    await other.close();
  });
});

describe('malformed messages get typed errors', () => {
  const cases: [string, unknown, string | null, string][] = [
    ['no id or op', { tabpool: 1 }, null, 'BAD_MESSAGE'],
    ['id of the wrong type', { tabpool: 1, id: 7, op: 'hello' }, null, 'BAD_MESSAGE'],
    ['an unknown version', { tabpool: 99, id: 'v', op: 'hello' }, 'v', 'UNSUPPORTED_VERSION'],
    ['an unknown op', { tabpool: 1, id: 'u', op: 'launch-missiles' }, 'u', 'UNKNOWN_OP'],
    ['missing params', { tabpool: 1, id: 'p', op: 'matmul' }, 'p', 'INVALID_PARAMS'],
    [
      'numbers instead of bytes',
      {
        tabpool: 1,
        id: 'j',
        op: 'matmul',
        params: {
          a: { dtype: 'float32', shape: [1, 1], data: [1] },
          b: { dtype: 'float32', shape: [1, 1], data: [1] },
        },
      },
      'j',
      'INVALID_PARAMS',
    ],
  ];
  it.each(cases)('rejects %s', async (_name, message, id, code) => {
    const reply = await page.evaluate(
      ([message, id]) =>
        (window as unknown as TabpoolWindow).tabpool.sendRaw(message, id as string | null),
      [message, id] as const,
    );
    expect(reply.ok).toBe(false);
    expect(reply.error?.code).toBe(code);
  });

  it('rejects byte lengths that do not match the shape, and oversize shapes before allocating', async () => {
    const codes = await page.evaluate(async () => {
      const t = (window as unknown as TabpoolWindow).tabpool;
      const tensor = (shape: number[], bytes: number) => ({
        dtype: 'float32',
        shape,
        data: new ArrayBuffer(bytes),
      });
      const mismatch = await t.sendRaw(
        {
          tabpool: 1,
          id: 'len',
          op: 'matmul',
          params: { a: tensor([2, 2], 12), b: tensor([2, 2], 16) },
        },
        'len',
      );
      const huge = await t.sendRaw(
        {
          tabpool: 1,
          id: 'big',
          op: 'matmul',
          params: { a: tensor([8192, 8192], 16), b: tensor([8192, 1], 16) },
        },
        'big',
      );
      const inner = await t.sendRaw(
        {
          tabpool: 1,
          id: 'dim',
          op: 'matmul',
          params: { a: tensor([2, 3], 24), b: tensor([2, 2], 16) },
        },
        'dim',
      );
      return [mismatch.error?.code, huge.error?.code, inner.error?.code];
    });
    expect(codes).toEqual(['INVALID_PARAMS', 'PAYLOAD_TOO_LARGE', 'INVALID_PARAMS']);
  });

  it('keeps serving after the bad messages', async () => {
    const c = await page.evaluate(async () => {
      const r = await (window as unknown as TabpoolWindow).tabpool.matmul(
        Float32Array.from([3]),
        Float32Array.from([4]),
        1,
        1,
        1,
      );
      return r.c[0];
    });
    expect(c).toBe(12);
  });
});

describe('a pool tab that disappears', () => {
  it('is noticed, gets no more work, requests still succeed, and it is replaced', async () => {
    const poolTab = h.context.pages().find((p) => p.url().endsWith('/pool.html'));
    expect(poolTab).toBeDefined();
    const before = await waitForHosts(page, (hs) =>
      hs.some((x) => x.kind === 'tab' && x.state === 'ready'),
    );
    const deadId = before.find((x) => x.kind === 'tab')?.id;
    await poolTab?.close();
    await waitForHosts(page, (hs) => hs.some((x) => x.id === deadId && x.state === 'dead'));
    const hosts = await page.evaluate(async () => {
      const seen: string[] = [];
      for (let i = 0; i < 6; i++) {
        const r = await (window as unknown as TabpoolWindow).tabpool.matmul(
          Float32Array.from([i]),
          Float32Array.from([3]),
          1,
          1,
          1,
        );
        if (r.c[0] !== 3 * i) throw new Error('wrong result');
        seen.push(r.host.id);
      }
      return seen;
    });
    expect(hosts).toHaveLength(6);
    expect(hosts).not.toContain(deadId); // the dead host got no work
    // The coordinator opens a new pool tab in its place.
    const after = await waitForHosts(page, (hs) =>
      hs.some((x) => x.kind === 'tab' && x.state === 'ready' && x.id !== deadId),
    );
    expect(readyKinds(after)).toEqual(['offscreen', 'tab']);
    expect(h.context.pages().filter((p) => p.url().endsWith('/pool.html'))).toHaveLength(1);
  });
});

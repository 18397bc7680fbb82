/**
 * Attacks on the page API in a real Chromium. Two origins: the test server as 127.0.0.1
 * (granted) and as localhost (never granted) — same server, different origins.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, readyKinds, startHarness, waitForHosts } from './harness';

type W = {
  tabpool: { call(op: string, params?: unknown): Promise<unknown> };
  sdk: {
    connect(o?: { timeoutMs?: number }): Promise<{
      session: { origin: string };
      call(op: string, p?: unknown): Promise<unknown>;
      matmul(
        a: Float32Array,
        b: Float32Array,
        m: number,
        k: number,
        n: number,
        o?: unknown,
      ): Promise<{ c: Float32Array }>;
    }>;
  };
};

let h: Harness;
let granted: Page;
let otherOrigin: string;

beforeAll(async () => {
  h = await startHarness();
  granted = await h.openPage();
  await h.grant(granted);
  await waitForHosts(granted, (hosts) => readyKinds(hosts).join() === 'offscreen,tab');
  otherOrigin = h.origin.replace('127.0.0.1', 'localhost');
});

afterAll(async () => {
  await h?.close();
});

async function openAt(origin: string, path: string): Promise<Page> {
  const page = await h.context.newPage();
  await page.goto(`${origin}${path}`);
  await page.waitForFunction(() => 'tabpool' in window || 'sdkLoaded' in window);
  return page;
}

describe('origin spoofing', () => {
  it('ignores origin fields in the payload: an ungranted page claiming a granted origin is refused', async () => {
    const page = await openAt(otherOrigin, '/index.html');
    const codes = await page.evaluate(
      async ({ claimed, one }) => {
        const out: string[] = [];
        for (const forged of [
          { op: 'matmul', params: { a: one, b: one }, origin: claimed },
          { op: 'matmul', params: { a: one, b: one, origin: claimed } },
          { op: 'status', sender: { origin: claimed }, tab: { url: `${claimed}/` } },
        ]) {
          const { op, params, ...extra } = forged as { op: string; params?: unknown };
          try {
            await new Promise((resolve, reject) => {
              const id = `forged-${out.length}`;
              addEventListener('message', function on(e) {
                if (e.data?.id !== id || !('ok' in e.data)) return;
                removeEventListener('message', on);
                if (e.data.ok) resolve(e.data);
                else reject(e.data.error);
              });
              postMessage({ tabpool: 1, id, op, params, ...extra }, '*');
            });
            out.push('ok');
          } catch (e) {
            out.push((e as { code: string }).code);
          }
        }
        return out;
      },
      { claimed: h.origin, one: { dtype: 'float32', shape: [1, 1], data: [2] } },
    );
    // (data as a JSON array also fails validation, but the grant check comes first for status)
    expect(codes[2]).toBe('NOT_GRANTED');
    expect(codes.every((c) => c !== 'ok')).toBe(true);
    await page.close();
  });

  it('names the real origin in an SDK session and refuses it', async () => {
    const page = await openAt(otherOrigin, '/sdk.html');
    const result = await page.evaluate(async () => {
      const client = await (window as unknown as W).sdk.connect();
      try {
        await client.matmul(Float32Array.of(1), Float32Array.of(1), 1, 1, 1);
        return { origin: client.session.origin, code: 'ok' };
      } catch (e) {
        return { origin: client.session.origin, code: (e as { code: string }).code };
      }
    });
    expect(result).toEqual({ origin: otherOrigin, code: 'NOT_GRANTED' });
    await page.close();
  });
});

describe('cross-origin frames', () => {
  it('gives a cross-origin frame inside a granted page no way in', async () => {
    const page = await openAt(
      h.origin,
      `/embed.html?child=${encodeURIComponent(`${otherOrigin}/attacker-frame.html`)}`,
    );
    // Make sure the parent has a bridge frame for the attacker to find.
    await page.evaluate(async () => {
      const ch = new MessageChannel();
      postMessage({ tabpool: 1, id: 'open-bridge', op: 'connect' }, '*', [ch.port2]);
      await new Promise((r) => setTimeout(r, 300));
    });
    const before = await page.evaluate(() => (window as unknown as W).tabpool.call('status'));
    const attack = await page.evaluate(
      () =>
        new Promise<{ repliesHere: unknown[]; sessionReplies: unknown[]; frames: number }>(
          (resolve) => {
            addEventListener('message', (e) => {
              if (e.data?.attackDone) resolve(e.data.result);
            });
          },
        ),
    );
    expect(attack.frames).toBeGreaterThanOrEqual(1); // it could see the bridge frame
    expect(attack.repliesHere).toEqual([]); // no content script answers inside the frame
    expect(attack.sessionReplies).toEqual([]); // the bridge refused its port
    // The parent's relay ignored the frame's post into the parent (source is not the parent).
    const parentReplies = await page.evaluate(
      () => (window as unknown as { seen?: unknown[] }).seen ?? [],
    );
    expect(parentReplies).toEqual([]);
    const after = await page.evaluate(() => (window as unknown as W).tabpool.call('status'));
    const served = (s: unknown) =>
      (s as { hosts: { served: number }[] }).hosts.reduce((n, x) => n + x.served, 0);
    expect(served(after)).toBe(served(before));
    await page.close();
  });
});

describe('grants and limits', () => {
  it('refuses the next request of an open session once the grant is revoked', async () => {
    const page = await openAt(h.origin, '/sdk.html');
    const first = await page.evaluate(async () => {
      const client = await (window as unknown as W).sdk.connect();
      (window as unknown as { client: unknown }).client = client;
      return [...(await client.matmul(Float32Array.of(3), Float32Array.of(4), 1, 1, 1)).c];
    });
    expect(first).toEqual([12]);
    const popup = await h.openPopup();
    await popup.click(`[aria-label="Revoke ${h.origin}"]`);
    await popup.waitForSelector(`.grants__item[data-origin="${h.origin}"]`, { state: 'detached' });
    const code = await page.evaluate(async () => {
      const client = (
        window as unknown as {
          client: {
            matmul: W['sdk'] extends never ? never : (...a: unknown[]) => Promise<unknown>;
          };
        }
      ).client;
      try {
        await client.matmul(Float32Array.of(3), Float32Array.of(4), 1, 1, 1);
        return 'ok';
      } catch (e) {
        return (e as { code: string }).code;
      }
    });
    expect(code).toBe('NOT_GRANTED');
    await popup.close();
    await h.grant(granted); // restore for the tests below
    await page.close();
  });

  it('does not let a flood from one origin starve another', async () => {
    // The flood goes through an SDK session: its MessagePort has no per-message relay cost, so
    // 600 requests arrive far faster than the hosts finish them and pile up in flight.
    const flooder = await openAt(h.origin, '/sdk.html');
    const other = await openAt(otherOrigin, '/index.html');
    await h.grant(other);
    const flood = flooder.evaluate(async () => {
      type C = {
        matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Promise<unknown>;
      };
      const client = (await (
        window as unknown as { sdk: { connect(): Promise<C> } }
      ).sdk.connect()) as C;
      const n = 96;
      const results = await Promise.allSettled(
        Array.from({ length: 600 }, () =>
          client.matmul(new Float32Array(n * n).fill(1), new Float32Array(n * n).fill(1), n, n, n),
        ),
      );
      const codes: Record<string, number> = {};
      for (const r of results) {
        const code = r.status === 'fulfilled' ? 'ok' : (r.reason as { code: string }).code;
        codes[code] = (codes[code] ?? 0) + 1;
      }
      return codes;
    });
    const steady = other.evaluate(async () => {
      const t = (window as unknown as W).tabpool;
      const out: string[] = [];
      for (let i = 0; i < 20; i++) {
        try {
          const r = (await t.call('matmul', {
            a: { dtype: 'float32', shape: [1, 1], data: Float32Array.from([i]).buffer },
            b: { dtype: 'float32', shape: [1, 1], data: Float32Array.from([1]).buffer },
          })) as { c: { data: ArrayBuffer } };
          out.push(String(new Float32Array(r.c.data)[0]));
        } catch (e) {
          out.push((e as { code: string }).code);
        }
      }
      return out;
    });
    const [floodCodes, steadyResults] = await Promise.all([flood, steady]);
    console.log(`flood of 600 from one origin: ${JSON.stringify(floodCodes)}`);
    await flooder.close();
    expect(floodCodes.RATE_LIMITED ?? 0).toBeGreaterThan(0); // the flooder hit its own limits
    expect(floodCodes.ok ?? 0).toBeGreaterThan(0);
    expect(steadyResults).toEqual(Array.from({ length: 20 }, (_, i) => String(i))); // the other origin never did
    await other.close();
  });
});

describe('the bridge frame removed mid-request', () => {
  it('finishes the request in flight, and a new session re-creates the bridge', async () => {
    const page = await openAt(h.origin, '/sdk.html');
    const result = await page.evaluate(async () => {
      const sdk = (window as unknown as W).sdk;
      const client = await sdk.connect();
      const a = new Float32Array(262144).fill(1);
      const pending = client.matmul(a, Float32Array.of(3), 262144, 1, 1);
      document.querySelector('tabpool-bridge')?.remove(); // the page tears the bridge out
      const bridgesAfterRemoval = document.querySelectorAll('tabpool-bridge').length;
      const r = await pending;
      const again = await sdk.connect();
      const r2 = await again.matmul(Float32Array.of(5), Float32Array.of(5), 1, 1, 1);
      return {
        bridgesAfterRemoval,
        first: [r.c.length, r.c[0], r.c[262143]],
        second: [...r2.c],
        bridgesNow: document.querySelectorAll('tabpool-bridge').length,
      };
    });
    expect(result).toEqual({
      bridgesAfterRemoval: 0,
      first: [262144, 3, 3],
      second: [25],
      bridgesNow: 1,
    });
    await page.close();
  });
});

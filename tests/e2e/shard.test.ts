/**
 * Sharded runs in Chromium with the built extension: a page asks for `run` with `shard`, the
 * coordinator splits the model over the offscreen document and the pool tab, the activation
 * crosses from one host's model Worker to the other's over a MessagePort the service worker
 * handed out, and the outputs are the unsharded run's, bit for bit (both hosts on the CPU here).
 * Then the pool tab is closed mid-run and the run resumes from the stage the offscreen
 * document kept.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomModelFiles } from '../../core/models/testing/random-models';
import { startTestHubServer, type TestHubServer } from '../../storage/test-hub-server';
import { type Harness, readyKinds, startGrantedHarness, waitForHosts } from './harness';

let h: Harness;
let hub: TestHubServer;
let page: Page;

/** Big enough that a range takes a while on the CPU (the kill must land mid-run). */
const MODELS: Record<string, Record<string, Uint8Array | string>> = {
  'test/shard-gpt2': randomModelFiles(
    'gpt2',
    { hidden: 32, layers: 4, heads: 4, intermediate: 64, vocab: 260, maxPositions: 128 },
    21,
    0.5,
  ),
  'test/shard-gpt2-big': randomModelFiles(
    'gpt2',
    { hidden: 192, layers: 8, heads: 4, intermediate: 768, vocab: 260, maxPositions: 512 },
    22,
    0.1,
  ),
};

type Call = (op: string, params?: unknown) => Promise<unknown>;
type RunReply = {
  backend: string;
  outputs: Record<string, { data: ArrayBuffer; shape: number[] }>;
  shard?: {
    ranges: { host: string; from: number; to: number; transferMs: number | null; bytes: number }[];
    resumedFrom: number[];
  };
};

beforeAll(async () => {
  hub = await startTestHubServer();
  for (const [repo, files] of Object.entries(MODELS)) {
    for (const [name, body] of Object.entries(files)) {
      const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
      hub.addFile(repo, 'main', name, bytes, name.endsWith('.safetensors'));
    }
  }
  ({ h, page } = await startGrantedHarness());
  const popup = await h.openPopup();
  await popup.evaluate(
    (baseUrl) =>
      (
        globalThis as unknown as {
          chrome: { storage: { local: { set(i: unknown): Promise<void> } } };
        }
      ).chrome.storage.local.set({ 'tabpool.settings': { modelBaseUrl: baseUrl } }),
    hub.baseUrl,
  );
  await popup.close();
  for (const repo of Object.keys(MODELS)) {
    const r = await page.evaluate(
      ([repo]) =>
        (window as unknown as { tabpool: { call: Call } }).tabpool.call('models.load', {
          repo,
          files: ['config.json', 'model.safetensors'],
        }),
      [repo] as const,
    );
    expect((r as { model: { state: string } }).model.state).toBe('ready');
  }
}, 240_000);

afterAll(async () => {
  await h?.close();
  await hub?.close();
});

/** `run` from the page: token ids 0..seq-1 (mod 256), optionally sharded. */
const runInPage = (model: string, seq: number, shard?: unknown) =>
  page.evaluate(
    async ([model, seq, shard]) => {
      const ids = Int32Array.from({ length: seq }, (_, i) => (i * 7 + 3) % 256);
      const t0 = performance.now();
      const r = (await (window as unknown as { tabpool: { call: Call } }).tabpool.call('run', {
        model,
        inputs: { input_ids: { dtype: 'int32', shape: [1, seq], data: ids.buffer } },
        ...(shard ? { shard } : {}),
      })) as RunReply;
      const outputs: Record<string, { bytes: number[]; shape: number[] }> = {};
      for (const [k, t] of Object.entries(r.outputs)) {
        outputs[k] = { bytes: [...new Uint8Array(t.data)], shape: t.shape };
      }
      return { backend: r.backend, outputs, shard: r.shard, ms: performance.now() - t0 };
    },
    [model, seq, shard ?? null] as const,
  );

describe('sharded runs across the offscreen document and a pool tab', () => {
  it.each(['layers', 'sublayers'])(
    'split by %s: same outputs as the unsharded run, bit for bit',
    async (split) => {
      const whole = await runInPage('test/shard-gpt2', 12);
      const sharded = await runInPage('test/shard-gpt2', 12, { hosts: 2, split });
      expect(sharded.backend).toBe('cpu');
      expect(Object.keys(sharded.outputs).sort()).toEqual(Object.keys(whole.outputs).sort());
      for (const [k, t] of Object.entries(whole.outputs)) {
        expect(sharded.outputs[k]?.shape, k).toEqual(t.shape);
        expect(sharded.outputs[k]?.bytes, k).toEqual(t.bytes);
      }
      const ranges = sharded.shard?.ranges ?? [];
      expect(ranges).toHaveLength(2);
      expect(new Set(ranges.map((r) => r.host)).size).toBe(2);
      expect(ranges[0]?.from).toBe(0);
      expect(ranges[1]?.from).toBe((ranges[0]?.to ?? -2) + 1);
      expect(ranges[1]?.transferMs).not.toBeNull();
      console.info(
        `chromium shard (${split}): ranges ${ranges.map((r) => `${r.from}..${r.to}`).join(' | ')}; ` +
          `activation ${ranges[0]?.bytes} bytes, transfer ${ranges[1]?.transferMs?.toFixed(2)} ms ` +
          `(offscreen → pool tab Worker); sharded ${sharded.ms.toFixed(0)} ms, whole ${whole.ms.toFixed(0)} ms`,
      );
    },
  );

  it('resumes from the last finished stage when the pool tab is closed mid-run', async () => {
    const seq = 384;
    const whole = await runInPage('test/shard-gpt2-big', seq);
    await waitForHosts(page, (hs) => readyKinds(hs).join() === 'offscreen,tab');
    const running = runInPage('test/shard-gpt2-big', seq, { hosts: 2, split: 'layers' });
    // The offscreen document runs the first half (~half of `whole.ms`); close the tab that
    // waits for its activation well before that half is done.
    await new Promise((r) => setTimeout(r, Math.min(300, whole.ms / 6)));
    const poolTab = h.context.pages().find((p) => p.url().endsWith('/pool.html'));
    expect(poolTab).toBeDefined();
    await poolTab?.close();
    const sharded = await running;
    for (const [k, t] of Object.entries(whole.outputs)) {
      expect(sharded.outputs[k]?.bytes, k).toEqual(t.bytes);
    }
    const resumed = sharded.shard?.resumedFrom ?? [];
    expect(resumed).toHaveLength(1);
    // Not from the start: from the stage after the offscreen document's range.
    expect(resumed[0]).toBeGreaterThan(0);
    console.info(
      `chromium shard resume: whole ${whole.ms.toFixed(0)} ms; killed tab mid-run, resumed from stage ${resumed[0]}; ` +
        `ranges ${(sharded.shard?.ranges ?? [])
          .map(
            (r) =>
              `${r.from}..${r.to} (in ${r.transferMs?.toFixed(2) ?? '-'} ms, out ${r.bytes} B)`,
          )
          .join(' | ')}; total ${sharded.ms.toFixed(0)} ms`,
    );
  }, 180_000);
});

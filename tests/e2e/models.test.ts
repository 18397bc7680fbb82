/**
 * Models into the shared store, in Chromium with the built extension: a page asks for a model,
 * a host downloads it from a Hugging Face-shaped server on 127.0.0.1 (storage/test-hub-server.ts)
 * that drops connections, serves wrong bytes and 404s; the store is checked in IndexedDB itself.
 */
import { createHash } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSafetensors } from '../../storage/safetensors-header';
import { startTestHubServer, type TestHubServer } from '../../storage/test-hub-server';
import { seededBytes } from '../../storage/testing';
import { allowInPopup } from '../../tools/launch.mjs';
import { type Harness, startHarness } from './harness';

type Loaded = { model: { id: string; state: string; bytes: number; files: string[] } };
type Progress = { bytes: number; totalBytes: number };
type W = {
  sdk: { connect(): Promise<unknown> };
  client: {
    call(op: string, p?: unknown): Promise<unknown>;
    models: {
      load(p: unknown, o?: { onProgress?: (p: Progress) => void }): Promise<Loaded>;
      list(): Promise<{ models: { id: string; state: string }[] }>;
    };
  };
  progress: Progress[];
};

type ChromeGlobal = {
  chrome: {
    storage: { local: { set(items: Record<string, unknown>): Promise<void> } };
    offscreen: { closeDocument(): Promise<void> };
  };
};

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const config = new TextEncoder().encode(JSON.stringify({ model_type: 'test' }));
const shared = seededBytes(3 * 1024 * 1024, 7); // one tensor both models have
const modelA = encodeSafetensors({
  'shared.weight': { dtype: 'F32', shape: [shared.length / 4], data: shared },
  'a.weight': { dtype: 'F32', shape: [262144], data: seededBytes(1 << 20, 1) },
});
const modelB = encodeSafetensors({
  'b.weight': { dtype: 'F32', shape: [131072], data: seededBytes(1 << 19, 2) },
  'shared.weight': { dtype: 'F32', shape: [shared.length / 4], data: shared },
});
// Big enough that a download is caught half-way: hashing runs at tens of MB/s here.
const big = encodeSafetensors({
  'big.weight': { dtype: 'F32', shape: [24 << 20], data: seededBytes(96 << 20, 3) },
});

let h: Harness;
let hub: TestHubServer;
let page: Page;

/** What the store holds, read from IndexedDB by an extension page (not through our code). */
async function storeState(): Promise<{ models: Record<string, string>; chunkBytes: number }> {
  const popup = await h.openPopup();
  const state = await popup.evaluate(
    () =>
      new Promise<{ models: Record<string, string>; chunkBytes: number }>((resolve, reject) => {
        const open = indexedDB.open('tabpool');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const tx = open.result.transaction(['models', 'chunks'], 'readonly');
          const models = tx.objectStore('models').getAll();
          const chunks = tx.objectStore('chunks').getAll();
          tx.oncomplete = () => {
            const byId: Record<string, string> = {};
            for (const m of models.result) byId[m.id] = m.state;
            const chunkBytes = chunks.result.reduce(
              (n: number, c: { bytes: number }) => n + c.bytes,
              0,
            );
            open.result.close();
            resolve({ models: byId, chunkBytes });
          };
        };
      }),
  );
  await popup.close();
  return state;
}

/** The SHA-256 of a stored file, rebuilt from its chunks in IndexedDB. */
async function storedFileSha(modelId: string, path: string): Promise<string> {
  const popup = await h.openPopup();
  const hex = await popup.evaluate(
    ([modelId, path]) =>
      new Promise<string>((resolve, reject) => {
        const open = indexedDB.open('tabpool');
        open.onsuccess = () => {
          const tx = open.result.transaction(['models', 'chunks'], 'readonly');
          const req = tx.objectStore('models').get(modelId);
          req.onsuccess = async () => {
            const file = req.result.files.find((f: { path: string }) => f.path === path);
            const blobs: Blob[] = [];
            for (const c of file.chunks) {
              const row = await new Promise<{ blob: Blob }>((r) => {
                const g = open.result.transaction('chunks').objectStore('chunks').get(c.hash);
                g.onsuccess = () => r(g.result);
              });
              blobs.push(row.blob);
            }
            const bytes = await new Blob(blobs).arrayBuffer();
            const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
            open.result.close();
            resolve([...digest].map((b) => b.toString(16).padStart(2, '0')).join(''));
          };
          req.onerror = () => reject(req.error);
        };
      }),
    [modelId, path] as const,
  );
  await popup.close();
  return hex;
}

beforeAll(async () => {
  hub = await startTestHubServer();
  for (const [repo, weights] of [
    ['org/a', modelA],
    ['org/b', modelB],
    ['org/big', big],
    ['org/flaky', modelA],
    ['org/corrupt', modelB],
    ['org/missing', modelB],
  ] as const) {
    hub.addFile(repo, 'main', 'config.json', config, false);
    hub.addFile(repo, 'main', 'model.safetensors', weights);
  }
  h = await startHarness();
  // Point the extension's model server at the test hub: a setting, as a user would change it.
  const popup = await h.openPopup();
  await popup.evaluate(
    (baseUrl) =>
      (globalThis as unknown as ChromeGlobal).chrome.storage.local.set({
        'tabpool.settings': { modelBaseUrl: baseUrl },
      }),
    hub.baseUrl,
  );
  await popup.close();
  page = await h.openPage('/sdk.html');
  const access = page.evaluate(async () => {
    const w = window as unknown as W;
    w.client = (await w.sdk.connect()) as W['client'];
    return w.client.call('access');
  });
  await allowInPopup(h.context, h.extensionId, h.origin);
  expect(await access).toEqual({ state: 'granted' });
  await page.evaluate(async () => {
    const { client } = window as unknown as W;
    const ready = async () =>
      ((await client.call('status')) as { hosts: { state: string }[] }).hosts.filter(
        (x) => x.state === 'ready',
      ).length;
    while ((await ready()) < 2) await new Promise((r) => setTimeout(r, 100));
  });
}, 180_000);

afterAll(async () => {
  await h?.close();
  await hub?.close();
});

const load = (repo: string, files = ['config.json', 'model.safetensors']) =>
  page.evaluate(
    async ([repo, files]) => {
      const w = window as unknown as W;
      w.progress = [];
      try {
        return await w.client.models.load(
          { repo, files },
          { onProgress: (p) => w.progress.push(p) },
        );
      } catch (e) {
        return { error: (e as { code: string }).code };
      }
    },
    [repo, files] as const,
  );

describe('models in the shared store', () => {
  it('downloads a model with progress, verified byte for byte', async () => {
    const r = (await load('org/a')) as Loaded;
    expect(r.model).toMatchObject({
      id: 'org/a@main',
      state: 'ready',
      bytes: config.length + modelA.length,
    });
    const progress = await page.evaluate(() => (window as unknown as W).progress);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({
      bytes: config.length + modelA.length,
      totalBytes: config.length + modelA.length,
    });
    expect(await storedFileSha('org/a@main', 'model.safetensors')).toBe(sha(modelA));
  });

  it('stores a tensor two models share once', async () => {
    const before = await storeState();
    const r = (await load('org/b')) as Loaded;
    expect(r.model.state).toBe('ready');
    const after = await storeState();
    // B's new bytes: its own tensor, header and config — not the shared 3 MiB again.
    const added = after.chunkBytes - before.chunkBytes;
    expect(added).toBeLessThan(modelB.length + config.length - shared.length + 1);
    expect(added).toBeGreaterThanOrEqual(modelB.length + config.length - shared.length - 1024);
    expect(await storedFileSha('org/b@main', 'model.safetensors')).toBe(sha(modelB));
  });

  it('resumes with Range after the server drops the connection', async () => {
    hub.fail('org/flaky', 'main', 'model.safetensors', { kind: 'drop', afterBytes: 1_500_000 });
    const r = (await load('org/flaky')) as Loaded;
    expect(r.model.state).toBe('ready');
    const gets = hub.requests.filter(
      (q) =>
        q.method === 'GET' && q.path.includes('org/flaky/') && q.path.endsWith('model.safetensors'),
    );
    expect(gets.length).toBeGreaterThanOrEqual(2);
    expect(gets.slice(1).some((q) => q.range?.startsWith('bytes='))).toBe(true);
    expect(await storedFileSha('org/flaky@main', 'model.safetensors')).toBe(sha(modelA));
  });

  it('detects wrong bytes and fetches them again', async () => {
    hub.fail('org/corrupt', 'main', 'model.safetensors', { kind: 'corrupt', atByte: 2_000_000 });
    const r = (await load('org/corrupt')) as Loaded;
    expect(r.model.state).toBe('ready');
    expect(await storedFileSha('org/corrupt@main', 'model.safetensors')).toBe(sha(modelB));
  });

  it('answers a missing file with a typed error and stores nothing', async () => {
    const before = await storeState();
    const r = await load('org/missing', ['config.json', 'nope.bin']);
    expect(['NOT_FOUND', 'DOWNLOAD_FAILED']).toContain((r as { error: string }).error);
    const after = await storeState();
    expect(after.models['org/missing@main']).toBeUndefined();
    expect(after.chunkBytes).toBe(before.chunkBytes);
  });

  it('never serves a model whose host died mid-download, and finishes it on another host', async () => {
    const pending = load('org/big');
    // Wait until the download is well under way, then close the host doing it.
    await page.waitForFunction(
      () => {
        const p = (window as unknown as W).progress;
        const last = p.at(-1);
        return last !== undefined && last.bytes > last.totalBytes * 0.2;
      },
      undefined,
      { timeout: 60_000, polling: 20 },
    );
    const hosts = (await page.evaluate(() => (window as unknown as W).client.call('status'))) as {
      hosts: { id: string; kind: string; inflight: number }[];
    };
    const busy = hosts.hosts.find((x) => x.inflight > 0);
    expect(busy).toBeDefined();
    if (busy?.kind === 'tab') {
      await h.context
        .pages()
        .find((p) => p.url().endsWith('/pool.html'))
        ?.close();
    } else {
      await h.serviceWorker.evaluate(() =>
        (globalThis as unknown as ChromeGlobal).chrome.offscreen.closeDocument(),
      );
    }
    const mid = await storeState();
    expect(mid.models['org/big@main']).toBe('downloading'); // half a model is never ready
    const r = (await pending) as Loaded;
    expect(r.model).toMatchObject({ id: 'org/big@main', state: 'ready' });
    expect(await storedFileSha('org/big@main', 'model.safetensors')).toBe(sha(big));
    // Resumed, not restarted: the server sent less than twice the file.
    const sent = hub.requests
      .filter(
        (q) =>
          q.method === 'GET' && q.path.includes('org/big/') && q.path.endsWith('model.safetensors'),
      )
      .reduce((n, q) => n + q.bodyBytes, 0);
    expect(sent).toBeLessThan(2 * big.length);
  });

  it('lists the models for the page', async () => {
    const list = await page.evaluate(() => (window as unknown as W).client.models.list());
    const ids = list.models.map((m) => `${m.id}:${m.state}`).sort();
    expect(ids).toEqual([
      'org/a@main:ready',
      'org/b@main:ready',
      'org/big@main:ready',
      'org/corrupt@main:ready',
      'org/flaky@main:ready',
    ]);
  });

  it('shows the store on the options page, where deleting a model frees its own bytes', async () => {
    const options = await h.context.newPage();
    await options.goto(`chrome-extension://${h.extensionId}/options.html`);
    await options.waitForSelector('[data-model="org/flaky@main"]');
    expect(await options.getAttribute('[data-model="org/a@main"]', 'data-state')).toBe('ready');
    expect(await options.textContent('[data-field="storage"]')).toMatch(/saved by sharing/);
    const before = await storeState();
    await options.click('[aria-label="Delete org/flaky@main"]');
    await options.waitForSelector('[data-model="org/flaky@main"]', { state: 'detached' });
    const after = await storeState();
    expect(after.models['org/flaky@main']).toBeUndefined();
    // org/flaky is org/a's bytes under another name: deleting it frees nothing org/a still uses.
    expect(after.chunkBytes).toBe(before.chunkBytes);
    expect(await storedFileSha('org/a@main', 'model.safetensors')).toBe(sha(modelA));
    await options.close();
  });
});

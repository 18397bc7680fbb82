import 'fake-indexeddb/auto';
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storedChunkBytes } from './chunk-store';
import { type DownloadModelOptions, type DownloadProgress, downloadModel } from './downloader';
import { getModel } from './model-registry';
import { readFile, readTensor } from './reader';
import { encodeSafetensors } from './safetensors-header';
import { startTestHubServer, type TestHubServer } from './test-hub-server';
import { closeTestDbs, injectFaults, openTestDb, seededBytes } from './testing';

const CHUNK = 1024;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const config = new TextEncoder().encode(JSON.stringify({ model_type: 'test', hidden: 16 }));
const weights = encodeSafetensors({
  'embed.weight': { dtype: 'F32', shape: [600], data: seededBytes(2400, 1) },
  'norm.weight': { dtype: 'F32', shape: [16], data: seededBytes(64, 2) },
  'head.weight': { dtype: 'F32', shape: [700], data: seededBytes(2800, 3) },
});

let hub: TestHubServer;
beforeEach(async () => {
  hub = await startTestHubServer();
  hub.addFile('org/tiny', 'main', 'config.json', config, false);
  hub.addFile('org/tiny', 'main', 'model.safetensors', weights);
});
afterEach(async () => {
  await hub.close();
  await closeTestDbs();
});

function options(db: ReturnType<typeof openTestDb>, extra: Partial<DownloadModelOptions> = {}) {
  return {
    db,
    baseUrl: hub.baseUrl,
    repo: 'org/tiny',
    files: ['config.json', 'model.safetensors'],
    chunkBytes: CHUNK,
    retry: { attempts: 4, baseDelayMs: 1, maxDelayMs: 5 },
    ...extra,
  } satisfies DownloadModelOptions;
}

const gets = () => hub.requests.filter((r) => r.method === 'GET');

describe('downloadModel against a local Hub-shaped server', () => {
  it('checks the file list first, streams with progress, verifies, and ends ready', async () => {
    const db = openTestDb();
    const events: DownloadProgress[] = [];
    const model = await downloadModel(options(db, { onProgress: (p) => events.push(p) }));

    expect(model.state).toBe('ready');
    expect(model.commit).toBe('c0ffee');
    expect(model.files.map((f) => [f.path, f.bytes, f.sha256])).toEqual([
      ['config.json', config.length, sha(config)],
      ['model.safetensors', weights.length, sha(weights)],
    ]);
    // Both HEADs happen before the first GET.
    expect(hub.requests.slice(0, 2).map((r) => r.method)).toEqual(['HEAD', 'HEAD']);
    expect(gets()).toHaveLength(2);

    const total = config.length + weights.length;
    expect(events.at(-1)).toMatchObject({
      bytes: total,
      totalBytes: total,
      file: { path: 'model.safetensors', bytes: weights.length, totalBytes: weights.length },
    });
    expect(events.every((e, i) => i === 0 || e.bytes >= (events[i - 1]?.bytes ?? 0))).toBe(true);

    expect(new Uint8Array(await readFile(db, 'org/tiny@main', 'model.safetensors'))).toEqual(
      weights,
    );
    const head = await readTensor(db, 'org/tiny@main', 'head.weight');
    expect(head.shape).toEqual([700]);
    expect(new Uint8Array(head.data)).toEqual(seededBytes(2800, 3));
    // Ready models come back without touching the network.
    const before = hub.requests.length;
    expect((await downloadModel(options(db))).state).toBe('ready');
    expect(hub.requests.length).toBe(before);
  });

  it('resumes with Range after dropped connections, re-fetching at most a chunk each time', async () => {
    const db = openTestDb();
    hub.fail(
      'org/tiny',
      'main',
      'model.safetensors',
      { kind: 'drop', afterBytes: 2500 },
      { kind: 'drop', afterBytes: 1500 },
    );
    const model = await downloadModel(options(db));
    expect(model.state).toBe('ready');
    const weightGets = gets().filter((r) => r.path.endsWith('model.safetensors'));
    expect(weightGets.map((r) => r.status)).toEqual([200, 206, 206]);
    const [, first, second] = weightGets;
    const offsets = [first, second].map((r) => Number(/^bytes=(\d+)-$/.exec(r?.range ?? '')?.[1]));
    expect(offsets[0]).toBeGreaterThan(0);
    expect(offsets[1]).toBeGreaterThan(offsets[0] ?? 0);
    const served = weightGets.reduce((n, r) => n + r.bodyBytes, 0);
    expect(served).toBeLessThan(weights.length + 2 * CHUNK);
    expect(new Uint8Array(await readFile(db, model.id, 'model.safetensors'))).toEqual(weights);
  });

  it('retries 500 and 429 (honouring Retry-After), and fails 404 before storing anything', async () => {
    const db = openTestDb();
    hub.fail(
      'org/tiny',
      'main',
      'config.json',
      { kind: 'status', status: 500 },
      { kind: 'status', status: 429, retryAfter: '0' },
    );
    expect((await downloadModel(options(db))).state).toBe('ready');
    expect(
      gets()
        .filter((r) => r.path.endsWith('config.json'))
        .map((r) => r.status),
    ).toEqual([500, 429, 200]);

    const other = openTestDb();
    const error = await downloadModel(
      options(other, { files: ['config.json', 'missing.bin', 'model.safetensors'] }),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DOWNLOAD_FAILED', detail: { status: 404 } });
    expect(await other.models.count()).toBe(0);
    expect(await other.chunks.count()).toBe(0);
  });

  it('gives up on a server that keeps failing, leaving a resumable model that is not ready', async () => {
    const db = openTestDb();
    const fail = { kind: 'status', status: 503 } as const;
    hub.fail('org/tiny', 'main', 'model.safetensors', fail, fail, fail, fail);
    await expect(downloadModel(options(db))).rejects.toMatchObject({
      code: 'DOWNLOAD_FAILED',
      detail: { status: 503 },
    });
    const row = await getModel(db, 'org/tiny@main');
    expect(row.state).toBe('downloading');
    expect(row.files[0]?.committedBytes).toBe(config.length);
    await expect(readFile(db, row.id, 'config.json')).rejects.toMatchObject({
      code: 'MODEL_NOT_READY',
    });
    // The next call picks up where it stopped: config.json is not fetched again.
    expect((await downloadModel(options(db))).state).toBe('ready');
    expect(gets().filter((r) => r.path.endsWith('config.json'))).toHaveLength(1);
  });

  it("detects wrong bytes by the server's SHA-256 and fetches the file again", async () => {
    const db = openTestDb();
    hub.fail('org/tiny', 'main', 'model.safetensors', {
      kind: 'corrupt',
      atByte: weights.length - 5,
    });
    const model = await downloadModel(options(db));
    expect(model.state).toBe('ready');
    expect(gets().filter((r) => r.path.endsWith('.safetensors'))).toHaveLength(2);
    expect(new Uint8Array(await readFile(db, model.id, 'model.safetensors'))).toEqual(weights);
    // The bad tail chunk was released when the file restarted: only good chunks remain.
    expect(await storedChunkBytes(db)).toBe(config.length + weights.length);

    const bad = openTestDb();
    const always = { kind: 'corrupt', atByte: 100 } as const;
    hub.fail('org/tiny', 'main', 'model.safetensors', always, always, always, always);
    await expect(downloadModel(options(bad))).rejects.toMatchObject({ code: 'INTEGRITY_FAILED' });
    const row = await getModel(bad, 'org/tiny@main');
    expect(row.state).toBe('downloading');
    expect(row.files[1]?.chunks).toEqual([]);
    expect(await storedChunkBytes(bad)).toBe(config.length);
  });

  it('never serves a model cut off mid-download, and a fresh context resumes it', async () => {
    const db = openTestDb();
    // The connection drops after 3000 bytes; the context dies as it tries to resume.
    hub.fail('org/tiny', 'main', 'model.safetensors', { kind: 'drop', afterBytes: 3000 });
    const controller = new AbortController();
    const cut = downloadModel(
      options(db, {
        signal: controller.signal,
        fetch: (url, init) => {
          if (new Headers(init?.headers).has('range')) controller.abort();
          return fetch(url, init);
        },
      }),
    );
    await expect(cut).rejects.toMatchObject({ code: 'ABORTED' });
    const partial = await getModel(db, 'org/tiny@main');
    expect(partial.state).toBe('downloading');
    const committed = partial.files[1]?.committedBytes ?? 0;
    expect(committed).toBeGreaterThan(0);
    expect(committed).toBeLessThan(weights.length);
    await expect(readTensor(db, partial.id, 'embed.weight')).rejects.toMatchObject({
      code: 'MODEL_NOT_READY',
    });

    // A new context (the old one died): same database, new connection.
    db.close();
    await db.open();
    const model = await downloadModel(options(db));
    expect(model.state).toBe('ready');
    expect(gets().at(-1)?.range).toBe(`bytes=${committed}-`);
    expect(new Uint8Array(await readFile(db, model.id, 'model.safetensors'))).toEqual(weights);
  });

  it('re-reads what a dead context stored before resuming, and starts over if it went bad', async () => {
    const db = openTestDb();
    hub.fail('org/tiny', 'main', 'model.safetensors', { kind: 'drop', afterBytes: 3000 });
    const controller = new AbortController();
    await downloadModel(
      options(db, {
        signal: controller.signal,
        fetch: (url, init) => {
          if (new Headers(init?.headers).has('range')) controller.abort();
          return fetch(url, init);
        },
      }),
    ).catch(() => undefined);
    const partial = await getModel(db, 'org/tiny@main');
    const stored = partial.files[1]?.chunks ?? [];
    expect(stored.length).toBeGreaterThan(1);
    const victim = stored[1]?.hash ?? '';
    await db.chunks.update(victim, { blob: new Blob([seededBytes(stored[1]?.bytes ?? 0, 5)]) });

    const model = await downloadModel(options(db));
    expect(model.state).toBe('ready');
    // The resume found the bad chunk and fetched the whole file again, without a Range.
    expect(gets().at(-1)?.range).toBeUndefined();
    expect(new Uint8Array(await readFile(db, model.id, 'model.safetensors'))).toEqual(weights);
    expect((await db.chunks.get(victim))?.corrupt).toBe(0);
  });

  it('a second call for the same model joins the download in flight', async () => {
    const db = openTestDb();
    const seen: number[] = [];
    const first = downloadModel(options(db));
    const second = downloadModel(options(db, { onProgress: (p) => seen.push(p.bytes) }));
    const [a, b] = await Promise.all([first, second]);
    expect(a.state).toBe('ready');
    expect(b).toEqual(a);
    expect(gets()).toHaveLength(2);
    expect(seen.at(-1)).toBe(config.length + weights.length);

    const other = openTestDb();
    const shared = downloadModel(options(other));
    const conflicting = downloadModel(options(other, { files: ['config.json'] }));
    await expect(conflicting).rejects.toMatchObject({ code: 'STORAGE_FAILED' });
    const controller = new AbortController();
    const impatient = downloadModel(options(other, { signal: controller.signal }));
    controller.abort();
    await expect(impatient).rejects.toMatchObject({ code: 'ABORTED' });
    // The shared download is unaffected by the joined caller giving up.
    expect((await shared).state).toBe('ready');
  });

  it('out of space: QUOTA_EXCEEDED, the partial model is deleted, other models untouched', async () => {
    const db = openTestDb();
    const faults = injectFaults(db);
    hub.addFile('org/other', 'main', 'model.safetensors', weights);
    await downloadModel(options(db, { repo: 'org/other', files: ['model.safetensors'] }));
    const chunksBefore = await db.chunks.count();

    faults.failWrites('chunks', new DOMException('quota', 'QuotaExceededError'), { after: 1 });
    const error = await downloadModel(
      options(db, {
        files: ['config.json', 'model.safetensors'],
        // Different bytes from org/other, so chunks are new writes.
      }),
    ).catch((e: unknown) => e);
    // config.json's chunk was written, the next write failed.
    expect(error).toMatchObject({ code: 'QUOTA_EXCEEDED', detail: { cleanedUp: true } });
    expect(error).toHaveProperty('cause');
    expect(await db.models.get('org/tiny@main')).toBeUndefined();
    expect(await db.chunks.count()).toBe(chunksBefore);
    expect((await getModel(db, 'org/other@main')).state).toBe('ready');
  });
});

import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storedChunkBytes } from './chunk-store';
import type { TabpoolDb } from './db';
import { downloadModel } from './downloader';
import { getModel } from './model-registry';
import { createQuota } from './quota';
import {
  listTensors,
  readFile,
  readFileChunks,
  readTensor,
  readTensorPieces,
  readTensors,
} from './reader';
import { encodeSafetensors } from './safetensors-header';
import { startTestHubServer, type TestHubServer } from './test-hub-server';
import { closeTestDbs, openTestDb, seededBytes } from './testing';

const CHUNK = 1024;
const embed = seededBytes(3000, 1);
const modelA = encodeSafetensors({
  'embed.weight': { dtype: 'F32', shape: [750], data: embed },
  'a.weight': { dtype: 'F32', shape: [100], data: seededBytes(400, 2) },
});
// Model B shares the embedding, at a different offset, under another name.
const modelB = encodeSafetensors({
  'b.weight': { dtype: 'F16', shape: [250], data: seededBytes(500, 3) },
  'model.embed_tokens.weight': { dtype: 'F32', shape: [750], data: embed },
});

let hub: TestHubServer;
beforeEach(async () => {
  hub = await startTestHubServer();
  hub.addFile('org/a', 'main', 'model.safetensors', modelA);
  hub.addFile('org/b', 'main', 'model.safetensors', modelB);
});
afterEach(async () => {
  await hub.close();
  await closeTestDbs();
});

const fetchModel = (db: TabpoolDb, repo: string) =>
  downloadModel({
    db,
    baseUrl: hub.baseUrl,
    repo,
    files: ['model.safetensors'],
    chunkBytes: CHUNK,
    retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
  });

describe('reading stored models', () => {
  it('stores a tensor shared by two models once and reads it from both', async () => {
    const db = openTestDb();
    await fetchModel(db, 'org/a');
    await fetchModel(db, 'org/b');
    const a = await readTensor(db, 'org/a@main', 'embed.weight');
    const b = await readTensor(db, 'org/b@main', 'model.embed_tokens.weight');
    expect(new Uint8Array(a.data)).toEqual(embed);
    expect(new Uint8Array(b.data)).toEqual(embed);
    expect(b).toMatchObject({ dtype: 'F32', shape: [750] });
    expect(await storedChunkBytes(db)).toBe(modelA.length + modelB.length - embed.length);
    const usage = await createQuota({ db }).usage();
    expect(usage.sharedSavedBytes).toBe(embed.length);

    const names = (await listTensors(db, 'org/b@main')).map((t) => t.name);
    expect(names).toEqual(['b.weight', 'model.embed_tokens.weight']);
    await expect(readTensor(db, 'org/b@main', 'nope')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('reads all (or the named) tensors one by one, in file order', async () => {
    const db = openTestDb();
    await fetchModel(db, 'org/b');
    const all: Array<[string, number]> = [];
    for await (const t of readTensors(db, 'org/b@main')) all.push([t.name, t.data.byteLength]);
    expect(all).toEqual([
      ['b.weight', 500],
      ['model.embed_tokens.weight', 3000],
    ]);
    const named = readTensors(db, 'org/b@main', { names: ['model.embed_tokens.weight'] });
    const first = await named.next();
    expect(first.done).toBe(false);
    expect(new Uint8Array(first.done ? new ArrayBuffer(0) : first.value.data)).toEqual(embed);
    expect((await named.next()).done).toBe(true);
    await expect(readTensors(db, 'org/b@main', { names: ['x'] }).next()).rejects.toMatchObject({
      code: 'NOT_FOUND',
      detail: { missing: ['x'] },
    });
  });

  it('hands out tensors as unjoined chunk pieces that rebuild each tensor exactly', async () => {
    const db = openTestDb();
    await fetchModel(db, 'org/a');
    const rebuilt = new Map<string, Uint8Array>();
    const offsets: Array<[string, number, number]> = [];
    for await (const piece of readTensorPieces(db, 'org/a@main')) {
      if (piece.byteOffset === 0) rebuilt.set(piece.name, new Uint8Array(piece.byteLength));
      rebuilt.get(piece.name)?.set(new Uint8Array(piece.data), piece.byteOffset);
      offsets.push([piece.name, piece.byteOffset, piece.data.byteLength]);
    }
    // embed.weight (3000 bytes) spans three 1 KiB chunks; a.weight fits in one.
    expect(offsets).toEqual([
      ['embed.weight', 0, 1024],
      ['embed.weight', 1024, 1024],
      ['embed.weight', 2048, 952],
      ['a.weight', 0, 400],
    ]);
    expect(rebuilt.get('embed.weight')).toEqual(embed);
    expect(rebuilt.get('a.weight')).toEqual(seededBytes(400, 2));
  });

  it('streams a file chunk by chunk, each an ArrayBuffer no larger than a chunk', async () => {
    const db = openTestDb();
    await fetchModel(db, 'org/a');
    const sizes: number[] = [];
    const out = new Uint8Array(modelA.length);
    for await (const chunk of readFileChunks(db, 'org/a@main', 'model.safetensors')) {
      expect(chunk).toBeInstanceOf(ArrayBuffer);
      out.set(
        new Uint8Array(chunk),
        sizes.reduce((n, s) => n + s, 0),
      );
      sizes.push(chunk.byteLength);
    }
    expect(out).toEqual(modelA);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(CHUNK);
  });

  it('a tampered chunk fails the read, marks the model corrupt, and a download repairs it', async () => {
    const db = openTestDb();
    await fetchModel(db, 'org/a');
    await fetchModel(db, 'org/b');
    const [hash] = (await db.tensors.get(['org/a@main', 'embed.weight']))?.chunks ?? [];
    if (hash === undefined) throw new Error('embed.weight has no chunks');
    const bad = new Uint8Array(await readFile(db, 'org/a@main', 'model.safetensors')).slice(
      0,
      CHUNK,
    );
    await db.chunks.update(hash, { blob: new Blob([bad]) });

    await expect(readTensor(db, 'org/a@main', 'embed.weight')).rejects.toMatchObject({
      code: 'INTEGRITY_FAILED',
    });
    expect((await getModel(db, 'org/a@main')).state).toBe('corrupt');
    await expect(readTensor(db, 'org/a@main', 'a.weight')).rejects.toMatchObject({
      code: 'MODEL_NOT_READY',
    });
    // Model B shares the chunk: its read fails fast too, without serving bad bytes.
    await expect(readTensor(db, 'org/b@main', 'model.embed_tokens.weight')).rejects.toMatchObject({
      code: 'INTEGRITY_FAILED',
    });

    expect((await fetchModel(db, 'org/a')).state).toBe('ready');
    expect((await db.chunks.get(hash))?.corrupt).toBe(0);
    const a = await readTensor(db, 'org/a@main', 'embed.weight');
    expect(new Uint8Array(a.data)).toEqual(embed);
  });

  it('refuses a model the quota cannot hold before fetching any of it', async () => {
    const db = openTestDb();
    const quota = createQuota({ db, maxStoredBytes: modelA.length - 1 });
    await expect(
      downloadModel({
        db,
        baseUrl: hub.baseUrl,
        repo: 'org/a',
        files: ['model.safetensors'],
        chunkBytes: CHUNK,
        reserve: quota.reserve,
      }),
    ).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' });
    expect(hub.requests.map((r) => r.method)).toEqual(['HEAD']);
    expect(await db.models.count()).toBe(0);
  });
});

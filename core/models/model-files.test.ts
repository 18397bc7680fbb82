import 'fake-indexeddb/auto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { downloadModel } from '../../storage/index';
import { startTestHubServer } from '../../storage/test-hub-server';
import { closeTestDbs, openTestDb } from '../../storage/testing';
import type { TabpoolError } from '../protocol/errors';
import { type ModelFiles, modelFilesFromMap, openWeights, readJsonFile } from './model-files';
import { modelFilesFromDir } from './model-files-node';
import { modelFilesFromStorage } from './model-files-storage';
import { writeSafetensors } from './safetensors';

const f32 = (...v: number[]) => new Float32Array(v);
const single = writeSafetensors({
  'a.weight': { dtype: 'F32', shape: [2], data: f32(1, 2) },
  'b.weight': { dtype: 'F16', shape: [1, 2], data: f32(0.5, -1) },
  'c.weight': { dtype: 'BF16', shape: [1], data: f32(3) },
});
const shard1 = writeSafetensors({ 'a.weight': { dtype: 'F32', shape: [2], data: f32(1, 2) } });
const shard2 = writeSafetensors({
  'b.weight': { dtype: 'F16', shape: [2], data: f32(4, 5) },
  'c.ids': { dtype: 'I64', shape: [1], data: new Int32Array([7]) },
});
const index = (map: Record<string, string>) => JSON.stringify({ metadata: {}, weight_map: map });
const sharded = {
  'model.safetensors.index.json': index({
    'a.weight': 'model-00001-of-00002.safetensors',
    'b.weight': 'model-00002-of-00002.safetensors',
  }),
  'model-00001-of-00002.safetensors': shard1,
  'model-00002-of-00002.safetensors': shard2,
};

/** Map files that count whole reads and head reads per file. */
function counted(files: Record<string, Uint8Array | string>, withHead = true) {
  const inner = modelFilesFromMap('test/model', files);
  const reads: string[] = [];
  const heads: string[] = [];
  const wrapped: ModelFiles = {
    id: inner.id,
    read: (name) => {
      reads.push(name);
      return inner.read(name);
    },
    ...(withHead
      ? {
          readHead: (name: string, n: number) => {
            heads.push(name);
            return inner.readHead?.(name, n) ?? Promise.resolve(null);
          },
        }
      : {}),
  };
  return { files: wrapped, reads, heads };
}

async function rejection(p: Promise<unknown>): Promise<TabpoolError> {
  try {
    await p;
  } catch (e) {
    return e as TabpoolError;
  }
  throw new TypeError('expected a rejection');
}

describe('modelFilesFromMap and readJsonFile', () => {
  it('reads strings as UTF-8, absent files as null, and bad JSON as BAD_MODEL_FILE', async () => {
    const files = modelFilesFromMap('m', { 'config.json': '{"a": "é"}', 'bad.json': '{nope' });
    expect(await readJsonFile(files, 'config.json')).toEqual({ a: 'é' });
    expect(await readJsonFile(files, 'missing.json')).toBeNull();
    const e = await rejection(readJsonFile(files, 'bad.json'));
    expect(e.code).toBe('BAD_MODEL_FILE');
    expect(e.detail).toMatchObject({ file: 'bad.json' });
  });
});

describe('openWeights', () => {
  it('opens model.safetensors, reading headers first and the data once, lazily', async () => {
    const { files, reads, heads } = counted({ 'model.safetensors': single });
    const w = await openWeights(files);
    expect(reads).toEqual([]);
    expect(heads.length).toBeGreaterThan(0);
    expect(w.names().sort()).toEqual(['a.weight', 'b.weight', 'c.weight']);
    expect(w.info('b.weight')).toEqual({ dtype: 'F16', shape: [1, 2] });
    expect(w.info('nope')).toBeNull();
    expect(w.has('c.weight')).toBe(true);
    expect([...(await w.float32('a.weight'))]).toEqual([1, 2]);
    expect([...(await w.float32('b.weight'))]).toEqual([0.5, -1]);
    expect([...(await w.float32('c.weight'))]).toEqual([3]);
    expect(reads).toEqual(['model.safetensors']);
    const e = await rejection(w.float32('nope'));
    expect(e.code).toBe('NOT_FOUND');
  });

  it('reads a header larger than the first head read with a second one', async () => {
    const big = writeSafetensors(
      { w: { dtype: 'F32', shape: [1], data: f32(5) } },
      { note: 'x'.repeat(100_000) },
    );
    const { files, reads, heads } = counted({ 'model.safetensors': big });
    const w = await openWeights(files);
    expect(heads).toEqual(['model.safetensors', 'model.safetensors']);
    expect([...(await w.float32('w'))]).toEqual([5]);
    expect(reads).toEqual(['model.safetensors']);
  });

  it('reads each file once when the files offer no readHead', async () => {
    const { files, reads } = counted({ 'model.safetensors': single }, false);
    const w = await openWeights(files);
    await w.float32('a.weight');
    await w.float32('b.weight');
    expect(reads).toEqual(['model.safetensors']);
  });

  it('opens the shards of an index, each read once, only when one of its tensors is asked for', async () => {
    const { files, reads } = counted(sharded);
    const w = await openWeights(files);
    expect(w.names().sort()).toEqual(['a.weight', 'b.weight', 'c.ids']);
    expect(reads).toEqual(['model.safetensors.index.json']);
    expect([...(await w.float32('b.weight'))]).toEqual([4, 5]);
    expect([...(await w.float32('b.weight'))]).toEqual([4, 5]);
    expect(reads).toEqual(['model.safetensors.index.json', 'model-00002-of-00002.safetensors']);
    expect([...(await w.float32('a.weight'))]).toEqual([1, 2]);
    expect(reads).toHaveLength(3);
    expect((await rejection(w.float32('c.ids'))).code).toBe('BAD_MODEL_FILE');
  });

  it('answers NOT_FOUND naming both files when there are no weights', async () => {
    const e = await rejection(openWeights(modelFilesFromMap('org/none', { 'config.json': '{}' })));
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toContain('model.safetensors');
    expect(e.message).toContain('model.safetensors.index.json');
  });

  it.each([
    [
      'an index weight missing from its shard',
      { 'x.weight': 'model-00001-of-00002.safetensors' },
      /places x.weight/,
    ],
    [
      'a shard the snapshot lacks',
      { 'a.weight': 'model-00009.safetensors' },
      /lists shard model-00009/,
    ],
    [
      'a shard path outside the model',
      { 'a.weight': '../model-00001-of-00002.safetensors' },
      /outside the model/,
    ],
  ])('rejects %s', async (_, map, message) => {
    const e = await rejection(
      openWeights(
        modelFilesFromMap('m', { ...sharded, 'model.safetensors.index.json': index(map) }),
      ),
    );
    expect(e.code).toBe('BAD_MODEL_FILE');
    expect(e.message).toMatch(message);
  });

  it('rejects one tensor name in two shards', async () => {
    const e = await rejection(
      openWeights(
        modelFilesFromMap('m', {
          ...sharded,
          'model.safetensors.index.json': index({
            'a.weight': 's1.safetensors',
            'b.weight': 's2.safetensors',
          }),
          's1.safetensors': shard1,
          's2.safetensors': writeSafetensors({
            'a.weight': { dtype: 'F32', shape: [2], data: f32(0, 0) },
            'b.weight': { dtype: 'F32', shape: [1], data: f32(0) },
          }),
        }),
      ),
    );
    expect(e.code).toBe('BAD_MODEL_FILE');
    expect(e.message).toMatch(/a.weight is in both s1.safetensors and s2.safetensors/);
  });

  it('rejects an index without a weight_map, and a malformed shard with its file name', async () => {
    const noMap = await rejection(
      openWeights(modelFilesFromMap('m', { 'model.safetensors.index.json': '{"metadata": {}}' })),
    );
    expect(noMap.code).toBe('BAD_MODEL_FILE');
    const bad = await rejection(
      openWeights(modelFilesFromMap('m', { 'model.safetensors': 'short' })),
    );
    expect(bad.code).toBe('BAD_MODEL_FILE');
    expect(bad.detail).toMatchObject({ file: 'model.safetensors' });
  });
});

describe('modelFilesFromDir', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads a snapshot on disk, heads included, with missing files as null', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tabpool-model-'));
    await mkdir(join(dir, 'sub'));
    for (const [name, data] of Object.entries(sharded)) await writeFile(join(dir, name), data);
    await writeFile(join(dir, 'sub', 'x.txt'), 'hi');
    const files = modelFilesFromDir(dir);
    expect(await files.read('missing.json')).toBeNull();
    expect(await files.readHead?.('missing.json', 8)).toBeNull();
    expect(new TextDecoder().decode((await files.read('sub/x.txt')) ?? undefined)).toBe('hi');
    expect(await files.readHead?.('sub/x.txt', 100)).toEqual({
      bytes: new TextEncoder().encode('hi'),
      fileSize: 2,
    });
    await expect(files.read('../outside')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const w = await openWeights(files);
    expect([...(await w.float32('a.weight'))]).toEqual([1, 2]);
  });
});

describe('modelFilesFromStorage', () => {
  afterEach(closeTestDbs);

  it('reads a stored model: whole files, heads across chunks, missing files as null', async () => {
    const hub = await startTestHubServer();
    try {
      const big = writeSafetensors({
        'a.weight': { dtype: 'F32', shape: [300], data: new Float32Array(300).map((_, i) => i) },
        'b.weight': { dtype: 'BF16', shape: [5], data: f32(1, 2, 3, 4, 5) },
      });
      hub.addFile('org/m', 'main', 'model.safetensors', big);
      hub.addFile(
        'org/m',
        'main',
        'config.json',
        new TextEncoder().encode('{"model_type":"bert"}'),
      );
      const db = openTestDb();
      await downloadModel({
        db,
        baseUrl: hub.baseUrl,
        repo: 'org/m',
        files: ['config.json', 'model.safetensors'],
        chunkBytes: 256,
        retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
      });
      const files = modelFilesFromStorage(db, 'org/m@main');
      expect(await readJsonFile(files, 'config.json')).toEqual({ model_type: 'bert' });
      expect(await files.read('tokenizer.json')).toBeNull();
      expect(await files.readHead?.('tokenizer.json', 8)).toBeNull();
      const head = await files.readHead?.('model.safetensors', 700);
      expect(head?.fileSize).toBe(big.length);
      expect(head?.bytes).toEqual(big.subarray(0, 700));
      const w = await openWeights(files);
      expect((await w.float32('a.weight'))[299]).toBe(299);
      expect([...(await w.float32('b.weight'))]).toEqual([1, 2, 3, 4, 5]);
      await expect(
        modelFilesFromStorage(db, 'org/none@main').read('config.json'),
      ).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
    } finally {
      await hub.close();
    }
  });
});

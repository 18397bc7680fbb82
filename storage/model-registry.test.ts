import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { commitChunk } from './chunk-store';
import type { TensorRow } from './db';
import {
  beginModel,
  finishModel,
  getModel,
  resetFile,
  setPinned,
  useReadyModel,
} from './model-registry';
import { closeTestDbs, openTestDb, seededBytes } from './testing';

afterEach(closeTestDbs);

const bytes = seededBytes(64, 9);
const files = [
  { path: 'a.bin', bytes: 64, etag: '"e1"' },
  { path: 'b.bin', bytes: 64 },
];
const tensor: TensorRow = {
  modelId: 'm@main',
  name: 't',
  file: 'a.bin',
  dtype: 'F32',
  shape: [16],
  byteOffset: 0,
  byteLength: 64,
  chunks: [],
};

describe('model registry', () => {
  it('is only ready after every file is complete; a failed finish changes nothing', async () => {
    const db = openTestDb();
    await beginModel(db, { repo: 'm', revision: 'main', files });
    const hash = await commitChunk(db, { modelId: 'm@main', path: 'a.bin', offset: 0, bytes });
    const shas = new Map([
      ['a.bin', 'x'],
      ['b.bin', 'y'],
    ]);
    await expect(finishModel(db, 'm@main', shas, [tensor])).rejects.toMatchObject({
      code: 'INTEGRITY_FAILED',
      detail: { path: 'b.bin', coveredBytes: 0 },
    });
    expect((await getModel(db, 'm@main')).state).toBe('downloading');
    expect(await db.tensors.count()).toBe(0);
    await expect(useReadyModel(db, 'm@main')).rejects.toMatchObject({ code: 'MODEL_NOT_READY' });

    await commitChunk(db, { modelId: 'm@main', path: 'b.bin', offset: 0, bytes });
    const ready = await finishModel(db, 'm@main', shas, [{ ...tensor, chunks: [hash] }]);
    expect(ready.state).toBe('ready');
    expect(ready.files.map((f) => f.sha256)).toEqual(['x', 'y']);
    expect(await db.tensors.where('modelId').equals('m@main').count()).toBe(1);
    expect((await useReadyModel(db, 'm@main')).state).toBe('ready');
    // Starting a ready model again is a no-op.
    expect((await beginModel(db, { repo: 'm', revision: 'main', files })).state).toBe('ready');
  });

  it('resumes unchanged files, restarts changed ones, and releases their chunks', async () => {
    const db = openTestDb();
    await beginModel(db, { repo: 'm', revision: 'main', files });
    await commitChunk(db, { modelId: 'm@main', path: 'a.bin', offset: 0, bytes });
    await commitChunk(db, { modelId: 'm@main', path: 'b.bin', offset: 0, bytes: bytes.slice(1) });
    expect(await db.chunks.count()).toBe(2);

    const changed = [files[0], { path: 'b.bin', bytes: 64, etag: '"new"' }].filter(
      (f) => f !== undefined,
    );
    const row = await beginModel(db, { repo: 'm', revision: 'main', files: changed });
    expect(row.files.map((f) => f.committedBytes)).toEqual([64, 0]);
    expect(await db.chunks.count()).toBe(1);

    await resetFile(db, 'm@main', 'a.bin');
    expect((await getModel(db, 'm@main')).files[0]?.committedBytes).toBe(0);
    expect(await db.chunks.count()).toBe(0);
  });

  it('pins models and reports unknown ones as NOT_FOUND', async () => {
    const db = openTestDb();
    await beginModel(db, { repo: 'm', revision: 'main', files });
    await setPinned(db, 'm@main', true);
    expect((await getModel(db, 'm@main')).pinned).toBe(1);
    await expect(setPinned(db, 'x@main', true)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(getModel(db, 'x@main')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

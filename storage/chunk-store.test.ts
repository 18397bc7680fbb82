import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { commitChunk, readChunk, storedChunkBytes } from './chunk-store';
import { sha256Hex } from './hash';
import { beginModel, deleteModel } from './model-registry';
import { closeTestDbs, injectFaults, openTestDb, seededBytes } from './testing';

afterEach(closeTestDbs);

const shared = seededBytes(1000, 1);
const onlyA = seededBytes(500, 2);
const onlyB = seededBytes(700, 3);

describe('chunk store', () => {
  it('stores identical bytes once across models and frees them with the last reference', async () => {
    const db = openTestDb();
    await beginModel(db, { repo: 'a', revision: 'main', files: [{ path: 'w', bytes: 1500 }] });
    await beginModel(db, { repo: 'b', revision: 'main', files: [{ path: 'w', bytes: 1700 }] });
    await commitChunk(db, { modelId: 'a@main', path: 'w', offset: 0, bytes: shared });
    await commitChunk(db, { modelId: 'a@main', path: 'w', offset: 1000, bytes: onlyA });
    const hash = await commitChunk(db, { modelId: 'b@main', path: 'w', offset: 0, bytes: shared });
    await commitChunk(db, { modelId: 'b@main', path: 'w', offset: 1000, bytes: onlyB });

    expect(hash).toBe(await sha256Hex(shared));
    expect(await db.chunks.count()).toBe(3);
    expect((await db.chunks.get(hash))?.refs).toBe(2);
    expect(await storedChunkBytes(db)).toBe(1000 + 500 + 700);

    expect(await deleteModel(db, 'a@main')).toBe(500);
    expect((await db.chunks.get(hash))?.refs).toBe(1);
    expect(await deleteModel(db, 'b@main')).toBe(1700);
    expect(await db.chunks.count()).toBe(0);
  });

  it('counts a chunk used twice by one file as two references', async () => {
    const db = openTestDb();
    await beginModel(db, { repo: 'a', revision: 'main', files: [{ path: 'w', bytes: 2000 }] });
    await commitChunk(db, { modelId: 'a@main', path: 'w', offset: 0, bytes: shared });
    const hash = await commitChunk(db, {
      modelId: 'a@main',
      path: 'w',
      offset: 1000,
      bytes: shared,
    });
    expect((await db.chunks.get(hash))?.refs).toBe(2);
    expect(await deleteModel(db, 'a@main')).toBe(1000);
    expect(await db.chunks.count()).toBe(0);
  });

  it('refuses a chunk that does not follow the committed bytes, changing nothing', async () => {
    const db = openTestDb();
    await beginModel(db, { repo: 'a', revision: 'main', files: [{ path: 'w', bytes: 1500 }] });
    await expect(
      commitChunk(db, { modelId: 'a@main', path: 'w', offset: 1000, bytes: onlyA }),
    ).rejects.toMatchObject({ code: 'STORAGE_FAILED' });
    await expect(
      commitChunk(db, { modelId: 'nope@main', path: 'w', offset: 0, bytes: onlyA }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await db.chunks.count()).toBe(0);
    expect((await db.models.get('a@main'))?.files[0]?.committedBytes).toBe(0);
  });

  it('verifies on read, marks a tampered chunk corrupt, and a fresh write repairs it', async () => {
    const db = openTestDb();
    await beginModel(db, { repo: 'a', revision: 'main', files: [{ path: 'w', bytes: 2000 }] });
    const hash = await commitChunk(db, { modelId: 'a@main', path: 'w', offset: 0, bytes: shared });
    expect(new Uint8Array(await readChunk(db, hash))).toEqual(shared);

    const tampered = shared.slice();
    tampered[10] = (tampered[10] ?? 0) ^ 1;
    await db.chunks.update(hash, { blob: new Blob([tampered]) });
    await expect(readChunk(db, hash)).rejects.toMatchObject({
      code: 'INTEGRITY_FAILED',
      detail: { hash },
    });
    expect((await db.chunks.get(hash))?.corrupt).toBe(1);
    // Even an unverified read refuses a chunk known to be corrupt.
    await expect(readChunk(db, hash, { verify: false })).rejects.toMatchObject({
      code: 'INTEGRITY_FAILED',
    });

    await commitChunk(db, { modelId: 'a@main', path: 'w', offset: 1000, bytes: shared });
    const repaired = await db.chunks.get(hash);
    expect(repaired?.corrupt).toBe(0);
    expect(repaired?.refs).toBe(2);
    expect(new Uint8Array(await readChunk(db, hash))).toEqual(shared);
  });

  it('maps a quota failure to QUOTA_EXCEEDED and leaves neither chunk nor reference', async () => {
    const db = openTestDb();
    const faults = injectFaults(db);
    await beginModel(db, { repo: 'a', revision: 'main', files: [{ path: 'w', bytes: 1500 }] });
    await commitChunk(db, { modelId: 'a@main', path: 'w', offset: 0, bytes: shared });
    const dom = new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    faults.failWrites('chunks', dom);
    const error = await commitChunk(db, {
      modelId: 'a@main',
      path: 'w',
      offset: 1000,
      bytes: onlyA,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'QUOTA_EXCEEDED' });
    expect(error).toHaveProperty('cause');
    expect(await db.chunks.count()).toBe(1);
    const file = (await db.models.get('a@main'))?.files[0];
    expect(file?.committedBytes).toBe(1000);
    expect(file?.chunks).toHaveLength(1);
  });

  it('reports a missing chunk as NOT_FOUND', async () => {
    const db = openTestDb();
    await expect(readChunk(db, 'f'.repeat(64))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

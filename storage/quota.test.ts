import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { commitChunk, storedChunkBytes } from './chunk-store';
import type { TabpoolDb } from './db';
import { beginModel, finishModel, setPinned } from './model-registry';
import { createQuota } from './quota';
import { closeTestDbs, openTestDb, seededBytes } from './testing';

afterEach(closeTestDbs);

/** Stores a ready model `repo@main` made of the given chunks, last used at `usedAt`. */
async function storeModel(db: TabpoolDb, repo: string, parts: Uint8Array[], usedAt: number) {
  const bytes = parts.reduce((n, p) => n + p.length, 0);
  await beginModel(db, { repo, revision: 'main', files: [{ path: 'w.bin', bytes }] });
  let offset = 0;
  for (const part of parts) {
    await commitChunk(db, { modelId: `${repo}@main`, path: 'w.bin', offset, bytes: part });
    offset += part.length;
  }
  await finishModel(db, `${repo}@main`, new Map([['w.bin', 'sha']]), []);
  await db.models.update(`${repo}@main`, { lastUsedAt: usedAt });
}

const shared = seededBytes(1000, 1);

/** A browser estimate that tracks what the store holds, under a fixed quota. */
const fakeEstimate = (db: TabpoolDb, quotaBytes: number) => async () => ({
  usage: await storedChunkBytes(db),
  quota: quotaBytes,
});

describe('quota', () => {
  it('reports stored vs logical bytes, sharing savings and per-model exclusive bytes', async () => {
    const db = openTestDb();
    await storeModel(db, 'a', [shared, seededBytes(300, 2)], 1);
    await storeModel(db, 'b', [shared, seededBytes(200, 3)], 2);
    const quota = createQuota({ db, estimate: fakeEstimate(db, 10_000), headroomBytes: 0 });
    const usage = await quota.usage();
    expect(usage.storedBytes).toBe(1500);
    expect(usage.logicalBytes).toBe(2500);
    expect(usage.sharedSavedBytes).toBe(1000);
    expect(usage.availableBytes).toBe(8500);
    expect(usage.estimate).toEqual({ usageBytes: 1500, quotaBytes: 10_000 });
    expect(usage.models.map((m) => [m.id, m.exclusiveBytes])).toEqual([
      ['a@main', 300],
      ['b@main', 200],
    ]);
  });

  it('evicts least recently used unpinned models until the download fits', async () => {
    const db = openTestDb();
    await storeModel(db, 'old', [seededBytes(1000, 4)], 1);
    await storeModel(db, 'pinned', [seededBytes(1000, 5)], 0);
    await storeModel(db, 'mid', [seededBytes(1000, 6)], 2);
    await storeModel(db, 'new', [seededBytes(1000, 7)], 3);
    await setPinned(db, 'pinned@main', true);
    const quota = createQuota({ db, estimate: fakeEstimate(db, 5000), headroomBytes: 0 });

    await quota.reserve(2500);
    expect((await db.models.toCollection().primaryKeys()).sort()).toEqual([
      'new@main',
      'pinned@main',
    ]);
    expect(await storedChunkBytes(db)).toBe(2000);
  });

  it('throws QUOTA_EXCEEDED and evicts nothing when eviction cannot make room', async () => {
    const db = openTestDb();
    await storeModel(db, 'a', [seededBytes(1000, 8)], 1);
    await storeModel(db, 'b', [seededBytes(1000, 9)], 2);
    await setPinned(db, 'b@main', true);
    const quota = createQuota({ db, maxStoredBytes: 3000 });
    await expect(quota.reserve(2500)).rejects.toMatchObject({
      code: 'QUOTA_EXCEEDED',
      detail: { neededBytes: 2500, availableBytes: 1000, evictableBytes: 1000 },
    });
    expect(await db.models.count()).toBe(2);
    // Never evicts the model it is making room for.
    await expect(quota.reserve(1500, 'a@main')).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' });
    expect(await db.models.count()).toBe(2);
  });

  it('evicts one model at a time in LRU order, skipping downloads until they go stale', async () => {
    const db = openTestDb();
    await beginModel(db, { repo: 'busy', revision: 'main', files: [{ path: 'x', bytes: 5 }] });
    await db.models.update('busy@main', { lastUsedAt: 0 });
    await storeModel(db, 'a', [shared], 1);
    await storeModel(db, 'b', [shared, seededBytes(10, 1)], 2);
    const quota = createQuota({ db, staleDownloadMs: 1000, now: () => 500 });
    expect(await quota.evictOne()).toEqual({ id: 'a@main', freedBytes: 0 });
    expect(await quota.evictOne()).toEqual({ id: 'b@main', freedBytes: 1010 });
    expect(await quota.evictOne()).toBeUndefined();
    expect(await db.models.count()).toBe(1);
    // Once the download has been untouched for longer than staleDownloadMs, it goes too.
    const later = createQuota({ db, staleDownloadMs: 1000, now: () => 1001 });
    expect(await later.evictOne()).toEqual({ id: 'busy@main', freedBytes: 0 });
    expect(await db.models.count()).toBe(0);
  });

  it('asks for persistence only when not already persistent', async () => {
    const db = openTestDb();
    const calls: string[] = [];
    const quota = (already: boolean) =>
      createQuota({
        db,
        persisted: async () => {
          calls.push('persisted');
          return already;
        },
        persist: async () => {
          calls.push('persist');
          return true;
        },
      });
    expect(await quota(true).requestPersistence()).toBe(true);
    expect(calls).toEqual(['persisted']);
    expect(await quota(false).requestPersistence()).toBe(true);
    expect(calls).toEqual(['persisted', 'persisted', 'persist']);
  });
});

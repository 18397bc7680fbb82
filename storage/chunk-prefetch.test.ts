import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { prefetchChunks } from './chunk-prefetch';
import * as chunkStore from './chunk-store';
import { beginModel } from './model-registry';
import { closeTestDbs, openTestDb, seededBytes } from './testing';

afterEach(async () => {
  vi.restoreAllMocks();
  await closeTestDbs();
});

async function storeParts(count: number) {
  const db = openTestDb();
  const parts = Array.from({ length: count }, (_, i) => seededBytes(100, i + 1));
  await beginModel(db, { repo: 'm', revision: 'main', files: [{ path: 'w', bytes: 100 * count }] });
  const hashes: string[] = [];
  for (const [i, bytes] of parts.entries()) {
    hashes.push(
      await chunkStore.commitChunk(db, { modelId: 'm@main', path: 'w', offset: i * 100, bytes }),
    );
  }
  return { db, parts, hashes };
}

describe('prefetchChunks', () => {
  it('yields every chunk in order with at most `window` reads started ahead', async () => {
    const { db, parts, hashes } = await storeParts(6);
    const reads = vi.spyOn(chunkStore, 'readChunk');
    const seen: Uint8Array[] = [];
    for await (const buffer of prefetchChunks(db, hashes, {}, 2)) {
      // When chunk k is handed out, reads for k+1 and k+2 (if any) have started, no more.
      expect(reads.mock.calls.length).toBe(Math.min(hashes.length, seen.length + 3));
      seen.push(new Uint8Array(buffer));
    }
    expect(seen).toEqual(parts);
  });

  it('fails at the bad chunk, in order, after yielding the good ones before it', async () => {
    const { db, parts, hashes } = await storeParts(4);
    await db.chunks.update(hashes[2] ?? '', { blob: new Blob([seededBytes(100, 99)]) });
    const seen: Uint8Array[] = [];
    const run = async () => {
      for await (const buffer of prefetchChunks(db, hashes, {}, 3))
        seen.push(new Uint8Array(buffer));
    };
    await expect(run()).rejects.toMatchObject({ code: 'INTEGRITY_FAILED' });
    expect(seen).toEqual(parts.slice(0, 2));
  });

  it('reads nothing for an empty list and strictly one at a time with window 0', async () => {
    const { db, hashes } = await storeParts(3);
    const reads = vi.spyOn(chunkStore, 'readChunk');
    for await (const _ of prefetchChunks(db, [])) throw new Error('nothing to yield');
    let handed = 0;
    for await (const _ of prefetchChunks(db, hashes, {}, 0)) {
      handed++;
      expect(reads.mock.calls.length).toBe(handed);
    }
    expect(handed).toBe(3);
  });
});

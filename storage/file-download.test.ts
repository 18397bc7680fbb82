import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storedChunkBytes } from './chunk-store';
import { downloadFile } from './file-download';
import { hubFileUrl } from './hub-files';
import { beginModel, getModel } from './model-registry';
import { startTestHubServer, type TestHubServer } from './test-hub-server';
import { closeTestDbs, openTestDb, seededBytes } from './testing';

const bytes = seededBytes(5000, 11);
const retry = { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 };
let hub: TestHubServer;

beforeEach(async () => {
  hub = await startTestHubServer();
  hub.addFile('org/f', 'main', 'w.bin', bytes);
});
afterEach(async () => {
  await hub.close();
  await closeTestDbs();
});

/** Starts the model row and downloads its one file through `fetchImpl`. */
async function run(fetchImpl: typeof fetch, declaredBytes = bytes.length) {
  const db = openTestDb();
  const row = await beginModel(db, {
    repo: 'org/f',
    revision: 'main',
    files: [{ path: 'w.bin', bytes: declaredBytes }],
  });
  const file = row.files[0];
  if (file === undefined) throw new Error('no file row');
  const url = hubFileUrl(hub.baseUrl, 'org/f', 'main', 'w.bin');
  const result = downloadFile({
    db,
    modelId: row.id,
    url,
    file,
    chunkBytes: 1024,
    fetch: fetchImpl,
    retry,
  });
  return { db, result };
}

describe('downloadFile', () => {
  it('starts the file over when a resume comes back whole (Range ignored)', async () => {
    hub.fail('org/f', 'main', 'w.bin', { kind: 'drop', afterBytes: 2500 });
    const ranges: Array<string | null> = [];
    const { db, result } = await run((url, init) => {
      const headers = new Headers(init?.headers);
      ranges.push(headers.get('range'));
      headers.delete('range');
      return fetch(url, { ...init, headers });
    });
    const { sha256 } = await result;
    expect(ranges).toEqual([null, 'bytes=2048-', null]);
    expect(sha256).toMatch(/^[0-9a-f]{64}$/);
    const file = (await getModel(db, 'org/f@main')).files[0];
    expect(file?.committedBytes).toBe(bytes.length);
    expect(file?.chunks.map((c) => c.offset)).toEqual([0, 1024, 2048, 3072, 4096]);
    expect(await storedChunkBytes(db)).toBe(bytes.length);
  });

  it('refuses a body longer than the file list said, storing only whole chunks', async () => {
    const { db, result } = await run(fetch, 3000);
    await expect(result).rejects.toMatchObject({ code: 'DOWNLOAD_FAILED' });
    const file = (await getModel(db, 'org/f@main')).files[0];
    expect(file?.committedBytes).toBeLessThanOrEqual(3000);
    expect(await storedChunkBytes(db)).toBe(file?.committedBytes);
  });
});

import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { downloadModel } from './downloader';
import { readFile } from './reader';
import { encodeSafetensors } from './safetensors-header';
import { startTestHubServer, type TestHubServer } from './test-hub-server';
import { brokenInvariants, closeTestDbs, injectFaults, openTestDb, seededBytes } from './testing';

/**
 * Fails the download at every IndexedDB write in turn — the closest a unit test gets to killing
 * the context at each point — and checks the database after each failure: never a model that
 * looks ready, never a chunk whose count is off, and the next attempt always finishes.
 */
const weights = encodeSafetensors({
  shared: { dtype: 'F32', shape: [400], data: seededBytes(1600, 1) },
  own: { dtype: 'F32', shape: [300], data: seededBytes(1200, 2) },
});
const other = encodeSafetensors({
  shared: { dtype: 'F32', shape: [400], data: seededBytes(1600, 1) },
});

let hub: TestHubServer;
beforeEach(async () => {
  hub = await startTestHubServer();
  hub.addFile('org/m', 'main', 'config.json', new TextEncoder().encode('{"a":1}'), false);
  hub.addFile('org/m', 'main', 'model.safetensors', weights);
  hub.addFile('org/other', 'main', 'model.safetensors', other);
});
afterEach(async () => {
  await hub.close();
  await closeTestDbs();
});

const download = (db: ReturnType<typeof openTestDb>, repo = 'org/m') =>
  downloadModel({
    db,
    baseUrl: hub.baseUrl,
    repo,
    files: repo === 'org/m' ? ['config.json', 'model.safetensors'] : ['model.safetensors'],
    chunkBytes: 1024,
    retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
  });

describe('crash consistency', () => {
  it('keeps every invariant when any single write fails, and the retry completes', async () => {
    const probe = openTestDb();
    const counter = injectFaults(probe);
    await download(probe, 'org/other');
    const before = counter.writes;
    await download(probe);
    const writesPerDownload = counter.writes - before;
    expect(writesPerDownload).toBeGreaterThan(5);

    for (let k = 0; k < writesPerDownload; k++) {
      const db = openTestDb();
      const faults = injectFaults(db);
      await download(db, 'org/other');
      faults.failWrites('*', new DOMException(`write ${k} lost`, 'UnknownError'), {
        after: k,
        deletes: true,
      });
      const error = await download(db).catch((e: unknown) => e);
      expect(error, `failure at write ${k}`).toMatchObject({ code: 'STORAGE_FAILED' });
      expect(await brokenInvariants(db), `after failing write ${k}`).toEqual([]);
      expect((await db.models.get('org/m@main'))?.state).not.toBe('ready');
      expect((await db.models.get('org/other@main'))?.state).toBe('ready');

      faults.clear();
      expect((await download(db)).state).toBe('ready');
      expect(await brokenInvariants(db)).toEqual([]);
      expect(new Uint8Array(await readFile(db, 'org/m@main', 'model.safetensors'))).toEqual(
        weights,
      );
    }
  });
});

import 'fake-indexeddb/auto';
import Dexie from 'dexie';
import { afterEach, describe, expect, it } from 'vitest';
import { createTabpoolDb, modelId, SCHEMA, type TabpoolDb } from './db';

let seq = 0;
const opened: Dexie[] = [];
const freshName = () => `db-test-${process.pid}-${seq++}`;

afterEach(async () => {
  for (const db of opened.splice(0)) {
    db.close();
    await Dexie.delete(db.name);
  }
});

describe('tabpool database', () => {
  it('creates every table at the latest version', async () => {
    const db = createTabpoolDb(freshName());
    opened.push(db);
    await db.open();
    expect(db.verno).toBe(3);
    expect(db.tables.map((t) => t.name).sort()).toEqual([
      'benchResults',
      'chunks',
      'grants',
      'journal',
      'models',
      'perfHistory',
      'tensors',
    ]);
    await db.perfHistory.add({
      modelId: 'm@main',
      backend: 'webgpu',
      hostKind: 'tab',
      op: 'run',
      ms: 3,
      at: 1,
    });
    const perf = await db.perfHistory.where({ modelId: 'm@main', backend: 'webgpu' }).toArray();
    expect(perf).toHaveLength(1);
    await db.journal.put({
      requestId: 'r1',
      origin: 'https://a.test',
      op: 'run',
      state: 'pending',
      deadlineAt: 10,
      createdAt: 1,
      updatedAt: 1,
    });
    expect(await db.journal.where('state').equals('pending').count()).toBe(1);
  });

  it('migrates a v2 database to v3: every row kept, an empty benchResults table added', async () => {
    const name = freshName();
    const v2 = new Dexie(name);
    v2.version(1).stores(SCHEMA[1]);
    v2.version(2).stores(SCHEMA[2]);
    await v2.open();
    await v2.table('grants').put({ origin: 'https://a.test', grantedAt: 5, scopes: ['run'] });
    await v2
      .table('perfHistory')
      .add({ modelId: 'm@main', backend: 'cpu', hostKind: 'tab', op: 'run', ms: 2, at: 1 });
    v2.close();

    const db = createTabpoolDb(name);
    opened.push(db);
    await db.open();
    expect(db.verno).toBe(3);
    expect(await db.grants.get('https://a.test')).toMatchObject({ grantedAt: 5 });
    expect(await db.perfHistory.count()).toBe(1);
    expect(await db.benchResults.count()).toBe(0);
    const row = {
      runId: 'r1',
      at: 10,
      suite: 'kernel' as const,
      name: 'matmul',
      shape: '64x64x64',
      backend: 'cpu' as const,
      adapter: null,
      hostId: 'h1',
      hostKind: 'tab',
      ms: 1.5,
      gflops: 0.35,
      iterations: 12,
    };
    await db.benchResults.bulkAdd([row, { ...row, at: 20, ms: 1.25 }]);
    const history = await db.benchResults
      .where('[name+shape+backend]')
      .equals(['matmul', '64x64x64', 'cpu'])
      .sortBy('at');
    expect(history.map((r) => r.ms)).toEqual([1.5, 1.25]);
  });

  it('migrates a v1 database: keeps models, chunks and tensors, adds pinned: 0', async () => {
    const name = freshName();
    const v1 = new Dexie(name);
    v1.version(1).stores(SCHEMA[1]);
    await v1.open();
    const blob = new Blob([new Uint8Array([1, 2, 3])]);
    await v1.table('models').bulkPut([
      // A v1 row had no pinned field at all.
      { id: 'a@main', repo: 'a', revision: 'main', state: 'ready', lastUsedAt: 5, files: [] },
      { id: 'b@main', repo: 'b', revision: 'main', state: 'ready', lastUsedAt: 2, files: [] },
    ]);
    await v1.table('chunks').put({ hash: 'h1', bytes: 3, blob, refs: 2, corrupt: 0, createdAt: 1 });
    v1.close();

    const db: TabpoolDb = createTabpoolDb(name);
    opened.push(db);
    await db.open();
    expect(db.verno).toBe(3); // through v2 and v3
    const models = await db.models.orderBy('id').toArray();
    expect(models.map((m) => [m.id, m.pinned])).toEqual([
      ['a@main', 0],
      ['b@main', 0],
    ]);
    // The v2 LRU index sees migrated rows.
    const lru = await db.models
      .where('[pinned+lastUsedAt]')
      .between([0, Dexie.minKey], [0, Dexie.maxKey])
      .toArray();
    expect(lru.map((m) => m.id)).toEqual(['b@main', 'a@main']);
    const chunk = await db.chunks.get('h1');
    if (chunk === undefined) throw new Error('chunk h1 lost in migration');
    expect(chunk.refs).toBe(2);
    expect(new Uint8Array(await chunk.blob.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('names models by repo and revision', () => {
    expect(modelId('Xenova/gpt2', 'main')).toBe('Xenova/gpt2@main');
  });
});

/**
 * Test support shared by the storage tests (imported only from `*.test.ts`): fresh databases on
 * fake-indexeddb, seeded bytes, and a fault injector at the Dexie boundary.
 */
import 'fake-indexeddb/auto';
import Dexie, { type DBCore, type DBCoreMutateRequest } from 'dexie';
import { createTabpoolDb, type TabpoolDb } from './db';

let seq = 0;
const open: TabpoolDb[] = [];

/** A new, empty database with a unique name; `closeTestDbs` deletes it. */
export function openTestDb(): TabpoolDb {
  const db = createTabpoolDb(`tabpool-test-${process.pid}-${seq++}`);
  open.push(db);
  return db;
}

export async function closeTestDbs(): Promise<void> {
  for (const db of open.splice(0)) {
    db.close();
    await Dexie.delete(db.name);
  }
}

/** Deterministic pseudo-random bytes (xorshift32), so tests can build the same data twice. */
export function seededBytes(length: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 255;
  }
  return out;
}

export interface FaultInjector {
  /**
   * Fail every later put/add on `table` (`'*'`: any table) with `error` once `after` writes have
   * gone through; with `deletes`, deletes count and fail too (a crash; a full disk still deletes).
   */
  failWrites(table: string, error: unknown, options?: { after?: number; deletes?: boolean }): void;
  clear(): void;
  /** Writes that reached IndexedDB since the injector was installed. */
  readonly writes: number;
}

/**
 * Installs a DBCore middleware: the layer right above IndexedDB, where a real
 * `QuotaExceededError` surfaces. Call before the database is first opened.
 */
export function injectFaults(db: Dexie): FaultInjector {
  let rule: { table: string; error: unknown; remaining: number; deletes: boolean } | undefined;
  let writes = 0;
  db.use({
    stack: 'dbcore',
    name: 'test-faults',
    create: (down: DBCore): DBCore => ({
      ...down,
      table: (name) => {
        const table = down.table(name);
        return {
          ...table,
          mutate: (req: DBCoreMutateRequest) => {
            const counted = req.type !== 'delete' && req.type !== 'deleteRange';
            if (
              rule !== undefined &&
              (rule.table === '*' || rule.table === name) &&
              (counted || rule.deletes)
            ) {
              if (rule.remaining <= 0) return Promise.reject(rule.error);
              rule.remaining--;
            }
            writes++;
            return table.mutate(req);
          },
        };
      },
    }),
  });
  return {
    failWrites: (table, error, options = {}) => {
      rule = { table, error, remaining: options.after ?? 0, deletes: options.deletes ?? false };
    },
    clear: () => {
      rule = undefined;
    },
    get writes() {
      return writes;
    },
  };
}

/**
 * The store's invariants, as a list of broken ones (empty when all hold): every chunk's `refs`
 * equals the references model files hold, every reference has its chunk, a `ready` model covers
 * each file end to end, and only ready models have tensor rows.
 */
export async function brokenInvariants(db: TabpoolDb): Promise<string[]> {
  const broken: string[] = [];
  const models = await db.models.toArray();
  const chunks = new Map((await db.chunks.toArray()).map((c) => [c.hash, c]));
  const refs = new Map<string, number>();
  for (const m of models) {
    for (const f of m.files) {
      let end = 0;
      for (const c of f.chunks) {
        refs.set(c.hash, (refs.get(c.hash) ?? 0) + 1);
        if (!chunks.has(c.hash)) broken.push(`${m.id}/${f.path} points at missing ${c.hash}`);
        if (c.offset !== end) broken.push(`${m.id}/${f.path} has a gap at ${end}`);
        end += c.bytes;
      }
      if (end !== f.committedBytes)
        broken.push(`${m.id}/${f.path} committed ${f.committedBytes} ≠ ${end}`);
      if (m.state === 'ready' && end !== f.bytes)
        broken.push(`${m.id} ready but ${f.path} partial`);
    }
  }
  for (const [hash, row] of chunks) {
    if (row.refs !== (refs.get(hash) ?? 0)) {
      broken.push(`chunk ${hash.slice(0, 8)} refs ${row.refs} ≠ ${refs.get(hash) ?? 0} references`);
    }
  }
  const readyIds = new Set(models.filter((m) => m.state === 'ready').map((m) => m.id));
  for (const t of await db.tensors.toArray()) {
    if (!readyIds.has(t.modelId)) broken.push(`tensor ${t.name} of non-ready ${t.modelId}`);
  }
  return broken;
}

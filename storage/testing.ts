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
  /** Fail every later `put`/`add` on `table` with `error` once `afterWrites` have gone through. */
  failWrites(table: string, error: unknown, afterWrites?: number): void;
  clear(): void;
}

/**
 * Installs a DBCore middleware: the layer right above IndexedDB, where a real
 * `QuotaExceededError` surfaces. Call before the database is first opened.
 */
export function injectFaults(db: Dexie): FaultInjector {
  let rule: { table: string; error: unknown; remaining: number } | undefined;
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
            if (rule?.table === name && (req.type === 'put' || req.type === 'add')) {
              if (rule.remaining <= 0) return Promise.reject(rule.error);
              rule.remaining--;
            }
            return table.mutate(req);
          },
        };
      },
    }),
  });
  return {
    failWrites: (table, error, afterWrites = 0) => {
      rule = { table, error, remaining: afterWrites };
    },
    clear: () => {
      rule = undefined;
    },
  };
}

/**
 * The tabpool database: one IndexedDB database in the extension's origin, shared by the service
 * worker, the offscreen document and pool tabs (never opened from a content script — that would be
 * the page's origin).
 *
 * Schema history (never edit an old version; add one):
 * - v1: weights — models, content-addressed chunks, tensor index.
 * - v2: the pool's tables — performance history, origin grants, request journal — and an explicit
 *   `pinned` flag on models (v1 rows are migrated to `pinned: 0`) with an index for LRU eviction.
 * - v3: `benchResults`, the dashboard's benchmark history (one row per case, backend and host).
 *   A new table only: v2 data is untouched and the table starts empty.
 */
import Dexie, { type EntityTable, type Table } from 'dexie';

export type ModelState = 'downloading' | 'ready' | 'corrupt';

/** A run of a file's bytes stored as one chunk. `offset` is the chunk's start within the file. */
export interface ChunkRef {
  hash: string;
  offset: number;
  bytes: number;
}

export interface ModelFileRow {
  /** Path inside the repo, e.g. `model.safetensors`. */
  path: string;
  bytes: number;
  /** SHA-256 the server published (LFS `x-linked-etag` / ETag), if any. */
  serverSha256?: string;
  /** Our own SHA-256 of the whole file, set once every byte is stored. */
  sha256?: string;
  /** The server's ETag, sent back as `If-Range` when resuming. */
  etag?: string;
  /** Bytes [0, committedBytes) are stored, as `chunks`, in order. */
  committedBytes: number;
  chunks: ChunkRef[];
}

export interface ModelRow {
  /** `<repo>@<revision>`, see `modelId`. */
  id: string;
  repo: string;
  revision: string;
  /** The commit the server resolved the revision to (`x-repo-commit`), when it says. */
  commit?: string;
  state: ModelState;
  /** 1 = never evicted. A number because IndexedDB cannot index booleans. */
  pinned: 0 | 1;
  createdAt: number;
  lastUsedAt: number;
  totalBytes: number;
  files: ModelFileRow[];
}

export interface ChunkRow {
  /** SHA-256 of the bytes, hex: the primary key. */
  hash: string;
  bytes: number;
  blob: Blob;
  /** How many (model file, position) references point here; the row is deleted at 0. */
  refs: number;
  /** 1 after a read found bytes that no longer match `hash`; the next write of it replaces them. */
  corrupt: 0 | 1;
  createdAt: number;
}

export interface TensorRow {
  modelId: string;
  name: string;
  file: string;
  dtype: string;
  shape: number[];
  /** Byte range inside `file`. */
  byteOffset: number;
  byteLength: number;
  /** The chunks that hold exactly this tensor's bytes, in order. */
  chunks: string[];
}

export interface PerfRow {
  id?: number;
  modelId: string;
  /** e.g. `webgpu`, `wasm`, `webnn`. */
  backend: string;
  hostKind: string;
  op: string;
  ms: number;
  at: number;
}

export interface GrantRow {
  origin: string;
  grantedAt: number;
  /** What the origin may do, e.g. `['load', 'run']`. */
  scopes: string[];
}

export type JournalState = 'pending' | 'running' | 'done' | 'failed';

export interface JournalRow {
  requestId: string;
  origin: string;
  op: string;
  state: JournalState;
  hostId?: string;
  deadlineAt: number;
  createdAt: number;
  updatedAt: number;
}

/** One benchmark case on one backend of one host, from one run of the dashboard's runner. */
export interface BenchResultRow {
  id?: number;
  /** Every row of one run shares it (the runner's id). */
  runId: string;
  /** When the run started, epoch ms: the charts' x axis. */
  at: number;
  suite: 'kernel' | 'model';
  /** `matmul`, `softmax`, or a model id. */
  name: string;
  shape: string;
  backend: 'webgpu' | 'cpu';
  adapter: string | null;
  hostId: string;
  hostKind: string;
  /** Median ms per iteration. */
  ms: number;
  gflops: number | null;
  iterations: number;
}

export const DB_NAME = 'tabpool';

/** Dexie store specs per version; exported so the migration test can build the old versions. */
export const SCHEMA = {
  1: {
    models: 'id, state, lastUsedAt',
    chunks: 'hash, refs',
    tensors: '[modelId+name], modelId',
  },
  2: {
    models: 'id, state, lastUsedAt, [pinned+lastUsedAt]',
    perfHistory: '++id, modelId, [modelId+backend], at',
    grants: 'origin',
    journal: 'requestId, state, deadlineAt',
  },
  3: {
    benchResults: '++id, runId, at, [name+shape+backend]',
  },
} as const;

export type TabpoolDb = Dexie & {
  models: EntityTable<ModelRow, 'id'>;
  chunks: EntityTable<ChunkRow, 'hash'>;
  // Compound primary key [modelId+name].
  tensors: Table<TensorRow, [string, string]>;
  perfHistory: EntityTable<PerfRow, 'id'>;
  grants: EntityTable<GrantRow, 'origin'>;
  journal: EntityTable<JournalRow, 'requestId'>;
  benchResults: EntityTable<BenchResultRow, 'id'>;
};

/**
 * Opens (lazily, on first use) the tabpool database, upgrading older versions.
 *
 * @example
 * const db = createTabpoolDb();
 * const ready = await db.models.where('state').equals('ready').toArray();
 */
export function createTabpoolDb(name: string = DB_NAME): TabpoolDb {
  const db = new Dexie(name) as TabpoolDb;
  db.version(1).stores(SCHEMA[1]);
  db.version(2)
    .stores(SCHEMA[2])
    .upgrade((tx) =>
      tx
        .table('models')
        .toCollection()
        .modify((row: Partial<ModelRow>) => {
          if (row.pinned !== 1) row.pinned = 0;
        }),
    );
  // Adds a table; nothing older changes shape, so there is nothing to migrate.
  db.version(3).stores(SCHEMA[3]);
  return db;
}

/**
 * The key of a model: repo plus the revision asked for.
 *
 * @example
 * modelId('Xenova/gpt2', 'main') // 'Xenova/gpt2@main'
 */
export const modelId = (repo: string, revision: string): string => `${repo}@${revision}`;

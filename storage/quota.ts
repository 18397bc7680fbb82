/**
 * Space: what the store holds, what the browser allows, and LRU eviction of unpinned models to
 * make room before a download writes anything. The extension also asks for `unlimitedStorage`
 * (manifest) and `navigator.storage.persist()` (from an extension page) so the browser does not
 * evict the whole origin under pressure.
 */
import Dexie from 'dexie';
import { storedChunkBytes } from './chunk-store';
import type { ModelRow, ModelState, TabpoolDb } from './db';
import { atBoundary, QuotaExceededError } from './errors';
import { deleteModel } from './model-registry';

export interface StorageEstimateLike {
  usage?: number;
  quota?: number;
}

export interface QuotaOptions {
  db: TabpoolDb;
  /** Default: `navigator.storage.estimate` where it exists. */
  estimate?: () => Promise<StorageEstimateLike>;
  /** Default: `navigator.storage.persist` where it exists. */
  persist?: () => Promise<boolean>;
  /** Default: `navigator.storage.persisted` where it exists. */
  persisted?: () => Promise<boolean>;
  /** Our own cap on stored chunk bytes (a user setting), on top of the browser's quota. */
  maxStoredBytes?: number;
  /** Space to leave free under the browser's quota (default 64 MiB). */
  headroomBytes?: number;
  /**
   * A download untouched this long (default 7 days) was abandoned by a context that died: its
   * partial chunks become evictable like any unpinned model.
   */
  staleDownloadMs?: number;
  now?: () => number;
}

export interface ModelUsage {
  id: string;
  state: ModelState;
  pinned: boolean;
  totalBytes: number;
  /** Bytes no other model shares: what deleting this model alone frees. */
  exclusiveBytes: number;
  lastUsedAt: number;
}

export interface StorageUsage {
  /** Bytes of distinct chunks actually stored. */
  storedBytes: number;
  /** Bytes the stored models would take without sharing. */
  logicalBytes: number;
  /** logicalBytes − storedBytes of committed data: what content addressing saved. */
  sharedSavedBytes: number;
  /** Room left: under our cap and under the browser's quota (minus headroom); Infinity if unknown. */
  availableBytes: number;
  models: ModelUsage[];
  /** The browser's view of the whole origin, when it gives one. */
  estimate?: { usageBytes: number; quotaBytes: number };
}

export interface Quota {
  usage(): Promise<StorageUsage>;
  /**
   * Makes sure `bytes` more can be stored, evicting least recently used unpinned models (never
   * `forModelId`) if needed. Throws QUOTA_EXCEEDED, having evicted nothing, when even that
   * cannot make room.
   */
  reserve(bytes: number, forModelId?: string): Promise<void>;
  /**
   * Evicts one model by LRU order (ready or corrupt, or a download abandoned for
   * `staleDownloadMs`); returns its id and the bytes freed, or undefined if none.
   */
  evictOne(exceptModelId?: string): Promise<{ id: string; freedBytes: number } | undefined>;
  /** Asks the browser to keep our storage through pressure; true when it is persistent. */
  requestPersistence(): Promise<boolean>;
}

const DEFAULT_HEADROOM_BYTES = 64 * 1024 * 1024;
const DEFAULT_STALE_DOWNLOAD_MS = 7 * 24 * 60 * 60 * 1000;

const browserStorage = (): StorageManager | undefined =>
  (globalThis as { navigator?: { storage?: StorageManager } }).navigator?.storage;

/** Bytes each model would free alone: chunks whose every reference is its own. */
async function exclusiveBytes(db: TabpoolDb, models: ModelRow[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const model of models) {
    const counts = new Map<string, number>();
    for (const f of model.files)
      for (const c of f.chunks) counts.set(c.hash, (counts.get(c.hash) ?? 0) + 1);
    const rows = await db.chunks.bulkGet([...counts.keys()]);
    let bytes = 0;
    for (const row of rows)
      if (row !== undefined && row.refs <= (counts.get(row.hash) ?? 0)) bytes += row.bytes;
    out.set(model.id, bytes);
  }
  return out;
}

/**
 * @example
 * const quota = createQuota({ db });
 * await downloadModel({ db, ..., reserve: quota.reserve });
 * const { storedBytes, availableBytes } = await quota.usage();
 */
export function createQuota(options: QuotaOptions): Quota {
  const { db } = options;
  const storage = browserStorage();
  const estimate = options.estimate ?? (storage ? () => storage.estimate() : undefined);
  const headroom = options.headroomBytes ?? DEFAULT_HEADROOM_BYTES;
  const staleMs = options.staleDownloadMs ?? DEFAULT_STALE_DOWNLOAD_MS;
  const now = options.now ?? Date.now;

  const evictionOrder = (except?: string) =>
    atBoundary('listing models for eviction', () =>
      db.models
        .where('[pinned+lastUsedAt]')
        .between([0, Dexie.minKey], [0, Dexie.maxKey])
        .filter(
          (m) => m.id !== except && (m.state !== 'downloading' || now() - m.lastUsedAt > staleMs),
        )
        .toArray(),
    );

  const available = async (storedBytes: number) => {
    let room = Number.POSITIVE_INFINITY;
    if (options.maxStoredBytes !== undefined) room = options.maxStoredBytes - storedBytes;
    const e = estimate ? await estimate() : undefined;
    if (e?.quota !== undefined && e.usage !== undefined) {
      room = Math.min(room, e.quota - e.usage - headroom);
    }
    return { room: Math.max(0, room), estimate: e };
  };

  const quota: Quota = {
    async usage() {
      const models = await atBoundary('listing models', () => db.models.toArray());
      const storedBytes = await storedChunkBytes(db);
      const exclusive = await atBoundary('measuring models', () => exclusiveBytes(db, models));
      const committed = models.reduce(
        (sum, m) => sum + m.files.reduce((s, f) => s + f.committedBytes, 0),
        0,
      );
      const { room, estimate: e } = await available(storedBytes);
      const usage: StorageUsage = {
        storedBytes,
        logicalBytes: models.reduce((sum, m) => sum + m.totalBytes, 0),
        sharedSavedBytes: Math.max(0, committed - storedBytes),
        availableBytes: room,
        models: models.map((m) => ({
          id: m.id,
          state: m.state,
          pinned: m.pinned === 1,
          totalBytes: m.totalBytes,
          exclusiveBytes: exclusive.get(m.id) ?? 0,
          lastUsedAt: m.lastUsedAt,
        })),
      };
      if (e?.usage !== undefined && e.quota !== undefined) {
        usage.estimate = { usageBytes: e.usage, quotaBytes: e.quota };
      }
      return usage;
    },

    async reserve(bytes, forModelId) {
      const { room } = await available(await storedChunkBytes(db));
      if (room >= bytes) return;
      const candidates = await evictionOrder(forModelId);
      const exclusive = await atBoundary('measuring models', () => exclusiveBytes(db, candidates));
      const plan: string[] = [];
      let freeable = 0;
      for (const m of candidates) {
        if (room + freeable >= bytes) break;
        // A model whose every chunk is shared frees nothing by itself: keep it.
        if ((exclusive.get(m.id) ?? 0) === 0) continue;
        plan.push(m.id);
        freeable += exclusive.get(m.id) ?? 0;
      }
      if (room + freeable < bytes) {
        throw new QuotaExceededError(
          `Not enough storage: need ${bytes} bytes, ${room} free, ${freeable} more by evicting every unpinned model`,
          { detail: { neededBytes: bytes, availableBytes: room, evictableBytes: freeable } },
        );
      }
      for (const id of plan) await deleteModel(db, id);
    },

    async evictOne(exceptModelId) {
      const [oldest] = await evictionOrder(exceptModelId);
      if (oldest === undefined) return undefined;
      return { id: oldest.id, freedBytes: await deleteModel(db, oldest.id) };
    },

    async requestPersistence() {
      const persisted = options.persisted ?? (storage ? () => storage.persisted() : undefined);
      if (persisted && (await persisted())) return true;
      const persist = options.persist ?? (storage ? () => storage.persist() : undefined);
      return persist ? persist() : false;
    },
  };
  return quota;
}

/**
 * Model downloads in flight, for the popup and the dashboard's progress bars. It listens to the
 * hosts' data plane for the storage downloader's progress events (`DownloadProgress`), so it sees
 * every download whoever started it, and drops one when its task ends, its host dies, or it has
 * been silent for `staleAfterMs` (a cancelled task may never answer).
 */
import type { DownloadView } from '../protocol/host';
import type { HostRegistry } from './host-registry';

export type { DownloadView };

export interface DownloadTracker {
  /** Downloads in flight, oldest first, one per model (the latest event wins). */
  list(): DownloadView[];
  /** Called (at most once per event) when a download starts, moves or ends. */
  onChange(cb: () => void): () => void;
}

/**
 * @example
 * const downloads = trackDownloads(coordinator.registry);
 * downloads.onChange(() => console.log(downloads.list()));
 */
export function trackDownloads(
  registry: HostRegistry,
  { staleAfterMs = 60_000, now = Date.now }: { staleAfterMs?: number; now?: () => number } = {},
): DownloadTracker {
  /** By `<hostId>:<runId>`: run ids are only unique per coordinator, hosts keep their own. */
  const running = new Map<string, DownloadView>();
  const listeners = new Set<() => void>();
  const emit = () => {
    for (const cb of [...listeners]) cb();
  };
  registry.onData((host, msg) => {
    const key = `${host.id}:${msg.runId}`;
    if (msg.type === 'task-progress') {
      const p = asDownloadProgress(msg.progress);
      if (!p) return;
      running.set(key, { ...p, hostId: host.id, updatedAtMs: now() });
      emit();
    } else if (running.delete(key)) {
      emit();
    }
  });
  registry.onDeath((host) => {
    let changed = false;
    for (const [key, d] of running) {
      if (d.hostId !== host.id) continue;
      running.delete(key);
      changed = true;
    }
    if (changed) emit();
  });
  return {
    list() {
      const byModel = new Map<string, DownloadView>();
      for (const [key, d] of running) {
        if (now() - d.updatedAtMs > staleAfterMs) {
          running.delete(key);
          continue;
        }
        const seen = byModel.get(d.modelId);
        if (!seen || seen.updatedAtMs <= d.updatedAtMs) byModel.set(d.modelId, d);
      }
      return [...byModel.values()];
    },
    onChange(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
  };
}

/** The downloader's progress event, checked field by field (it crossed a process boundary). */
function asDownloadProgress(p: unknown): Omit<DownloadView, 'hostId' | 'updatedAtMs'> | null {
  const o = p as Partial<DownloadView> | null;
  const file = o?.file;
  if (
    typeof o?.modelId !== 'string' ||
    typeof o.bytes !== 'number' ||
    typeof o.totalBytes !== 'number' ||
    typeof file?.path !== 'string' ||
    typeof file.bytes !== 'number' ||
    typeof file.totalBytes !== 'number'
  ) {
    return null;
  }
  return {
    modelId: o.modelId,
    bytes: o.bytes,
    totalBytes: o.totalBytes,
    file: { path: file.path, bytes: file.bytes, totalBytes: file.totalBytes },
  };
}

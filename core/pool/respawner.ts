/**
 * Replaces hosts that die. A dead pool tab or offscreen document is re-created after a short
 * delay (so a crash loop cannot spin), at most `maxPerMinute` times a minute per kind; past that
 * the pool runs degraded until the minute has passed.
 */
import type { HostKind } from '../protocol/host';

export interface RespawnerOptions {
  /** Re-creates the hosts of one kind (idempotent: it opens only what is missing). */
  spawn: (kind: HostKind) => Promise<void>;
  delayMs?: number;
  maxPerMinute?: number;
  now?: () => number;
  onError?: (kind: HostKind, e: unknown) => void;
}

export class Respawner {
  private readonly history = new Map<HostKind, number[]>();
  private readonly scheduled = new Set<HostKind>();
  private readonly delayMs: number;
  private readonly maxPerMinute: number;
  private readonly now: () => number;
  private stopped = false;

  constructor(private readonly options: RespawnerOptions) {
    this.delayMs = options.delayMs ?? 2_000;
    this.maxPerMinute = options.maxPerMinute ?? 6;
    this.now = options.now ?? Date.now;
  }

  /** A host of `kind` died: schedule its replacement (once, however many died together). */
  hostDied(kind: HostKind): void {
    if (this.stopped || kind === 'background' || this.scheduled.has(kind)) return;
    const now = this.now();
    const recent = (this.history.get(kind) ?? []).filter((t) => now - t < 60_000);
    this.history.set(kind, recent);
    const waitMs =
      recent.length < this.maxPerMinute
        ? this.delayMs
        : 60_000 - (now - (recent[0] ?? now)) + this.delayMs;
    this.scheduled.add(kind);
    setTimeout(() => {
      this.scheduled.delete(kind);
      if (this.stopped) return;
      this.history.get(kind)?.push(this.now());
      this.options.spawn(kind).catch((e) => this.options.onError?.(kind, e));
    }, waitMs);
  }

  /** Respawns done (or started) in the last minute, per kind. */
  recent(kind: HostKind): number {
    const now = this.now();
    return (this.history.get(kind) ?? []).filter((t) => now - t < 60_000).length;
  }

  stop(): void {
    this.stopped = true;
  }
}

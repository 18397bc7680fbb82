/**
 * Default deny: a page's origin may load or run nothing until the user grants it.
 *
 * Grants persist (the `grants` table); a denial lasts while the coordinator runs, so a denied page
 * cannot re-prompt in a loop. There is at most one pending prompt per origin: every `request`
 * from that origin waits on the same decision.
 */
import type { GrantRow } from '../../storage';
import type { GrantState } from '../protocol/page';

export type { GrantState };

/** Where grants are kept: the Dexie `grants` table in the extension, a Map in tests. */
export interface GrantTable {
  get(origin: string): Promise<GrantRow | undefined>;
  put(row: GrantRow): Promise<unknown>;
  delete(origin: string): Promise<void>;
  toArray(): Promise<GrantRow[]>;
}

/** A grants table in memory: for tests, and wherever IndexedDB cannot be had. */
export function memoryGrantTable(): GrantTable {
  const rows = new Map<string, GrantRow>();
  return {
    get: async (origin) => rows.get(origin),
    put: async (row) => rows.set(row.origin, row),
    delete: async (origin) => {
      rows.delete(origin);
    },
    toArray: async () => [...rows.values()],
  };
}

export interface PendingPrompt {
  origin: string;
  askedAtMs: number;
}

export class OriginGate {
  private readonly denied = new Set<string>();
  private readonly pending = new Map<
    string,
    { prompt: PendingPrompt; waiters: ((s: GrantState) => void)[] }
  >();
  private readonly listeners = new Set<() => void>();
  /** Grants cached for the hot path; the table stays the source of truth. */
  private cache: Map<string, GrantRow> | null = null;

  constructor(
    private readonly table: GrantTable,
    private readonly now: () => number = Date.now,
  ) {}

  async state(origin: string): Promise<GrantState> {
    if ((await this.grants()).has(origin)) return 'granted';
    return this.denied.has(origin) ? 'denied' : 'prompt';
  }

  /**
   * Asks the user (through the popup) unless already decided. Resolves with the decision, or with
   * 'prompt' when `timeoutMs` passes first (the prompt stays pending for later).
   */
  async request(origin: string, timeoutMs: number): Promise<GrantState> {
    const current = await this.state(origin);
    if (current !== 'prompt') return current;
    let entry = this.pending.get(origin);
    if (!entry) {
      entry = { prompt: { origin, askedAtMs: this.now() }, waiters: [] };
      this.pending.set(origin, entry);
      this.emit();
    }
    const waiters = entry.waiters;
    return new Promise<GrantState>((resolve) => {
      const timer = setTimeout(() => {
        const i = waiters.indexOf(done);
        if (i >= 0) waiters.splice(i, 1);
        resolve('prompt');
      }, timeoutMs);
      const done = (s: GrantState) => {
        clearTimeout(timer);
        resolve(s);
      };
      waiters.push(done);
    });
  }

  /** The user's answer to a pending prompt (or a grant made directly from the options page). */
  async decide(origin: string, allow: boolean): Promise<void> {
    if (allow) {
      const row: GrantRow = { origin, grantedAt: this.now(), scopes: ['load', 'run'] };
      await this.table.put(row);
      (await this.grants()).set(origin, row);
      this.denied.delete(origin);
    } else {
      this.denied.add(origin);
    }
    const entry = this.pending.get(origin);
    this.pending.delete(origin);
    for (const w of entry?.waiters ?? []) w(allow ? 'granted' : 'denied');
    this.emit();
  }

  /** Takes a grant back: the origin's next request is refused. */
  async revoke(origin: string): Promise<void> {
    await this.table.delete(origin);
    (await this.grants()).delete(origin);
    this.emit();
  }

  pendingPrompts(): PendingPrompt[] {
    return [...this.pending.values()].map((e) => e.prompt);
  }

  async granted(): Promise<GrantRow[]> {
    return [...(await this.grants()).values()].sort((a, b) => a.origin.localeCompare(b.origin));
  }

  onChange(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  private async grants(): Promise<Map<string, GrantRow>> {
    if (!this.cache) {
      const rows = await this.table.toArray();
      this.cache ??= new Map(rows.map((r) => [r.origin, r]));
    }
    return this.cache;
  }

  private emit(): void {
    for (const cb of [...this.listeners]) cb();
  }
}

/**
 * The request journal: every page request the coordinator accepts is written down until its
 * reply goes out, in `storage.session` — which outlives a service-worker restart (MV3 stops idle
 * workers) but not the browser session, and never touches the disk quota of the model store.
 *
 * After a restart the new worker reads what the old one left open. The page's relay has kept
 * those requests; it sends the ones safe to run twice again, marked `resume`, and the new worker
 * runs them under their original deadline — only if the journal has them, so a request runs at
 * most once per worker and is answered once. Anything else the relay answers COORDINATOR_LOST
 * itself; left-over entries nobody resumes are dropped after `resumeWindowMs`.
 */

export interface JournalEntry {
  /** `origin|scope|id`: unique per page frame and request id. */
  key: string;
  op: string;
  deadlineAtMs: number;
  acceptedAtMs: number;
}

/** The slice of `storage.session` the journal uses (also a Map-backed fake in tests). */
export interface JournalStorage {
  get(key: string): Promise<Record<string, unknown>>;
  set(items: Record<string, unknown>): Promise<void>;
}

export interface JournalStats {
  /** Requests accepted and not yet answered, by this worker. */
  open: number;
  /** Requests an earlier worker left open, still waiting to be resumed. */
  leftOver: number;
  /** Requests resumed after a restart (run again under their first deadline). */
  resumed: number;
  /** Left-over requests nobody resumed (their relay answered COORDINATOR_LOST). */
  abandoned: number;
}

export const JOURNAL_KEY = 'tabpool.journal';

export class RequestJournal {
  private readonly open = new Map<string, JournalEntry>();
  private readonly leftOvers = new Map<string, JournalEntry>();
  private readonly counts = { resumed: 0, abandoned: 0 };
  private writing = false;
  private dirty = false;
  /** Callers waiting for the next write to settle. */
  private waiters: (() => void)[] = [];
  /** Until the earlier worker's entries are read, a write would erase them: hold writes. */
  private restored = false;
  /** Settles once the earlier worker's entries are read: resumes wait for it. */
  readonly ready: Promise<void>;

  constructor(
    private readonly storage: JournalStorage | undefined,
    private readonly options: { resumeWindowMs?: number; now?: () => number } = {},
  ) {
    this.ready = this.restore();
  }

  static keyOf(origin: string, scope: string, id: string): string {
    return `${origin}|${scope}|${id}`;
  }

  /**
   * A request was accepted. Resolves once a write that holds it has settled: the caller starts
   * work only then, so a request the next worker does not find was never started. A failed
   * write (storage.session full) resolves too: the request runs, it just cannot be resumed.
   */
  accept(entry: JournalEntry): Promise<void> {
    this.open.set(entry.key, entry);
    if (!this.storage) return Promise.resolve();
    const written = new Promise<void>((resolve) => this.waiters.push(resolve));
    this.save();
    return written;
  }

  /** Its reply (result or error) is going out: the request has ended. */
  end(key: string): void {
    if (this.open.delete(key)) this.save();
  }

  /**
   * A relay sent a request again after a restart. Returns the earlier worker's entry (taken:
   * a second resume of the same key gets nothing), or undefined if the journal never had it.
   */
  async resume(key: string): Promise<JournalEntry | undefined> {
    await this.ready;
    const entry = this.leftOvers.get(key);
    if (!entry) return undefined;
    this.leftOvers.delete(key);
    this.counts.resumed++;
    this.save();
    return entry;
  }

  stats(): JournalStats {
    return { open: this.open.size, leftOver: this.leftOvers.size, ...this.counts };
  }

  private async restore(): Promise<void> {
    if (!this.storage) {
      this.restored = true;
      return;
    }
    try {
      const saved = (await this.storage.get(JOURNAL_KEY))[JOURNAL_KEY];
      if (Array.isArray(saved)) {
        for (const e of saved as JournalEntry[]) {
          if (typeof e?.key === 'string' && !this.open.has(e.key)) this.leftOvers.set(e.key, e);
        }
      }
    } catch (e) {
      console.warn('tabpool: could not read the request journal', e);
    }
    this.restored = true;
    if (this.dirty) this.save();
    if (this.leftOvers.size === 0) return;
    // Relays resend at once on reconnect; whatever has not come back by then will not.
    setTimeout(() => {
      this.counts.abandoned += this.leftOvers.size;
      this.leftOvers.clear();
      this.save();
    }, this.options.resumeWindowMs ?? 10_000);
  }

  /** One write at a time, the latest state last: a burst of requests costs a few writes. */
  private save(): void {
    if (!this.storage) return;
    if (this.writing || !this.restored) {
      this.dirty = true;
      return;
    }
    this.writing = true;
    this.dirty = false;
    const entries = [...this.open.values(), ...this.leftOvers.values()];
    const waiters = this.waiters;
    this.waiters = [];
    this.storage
      .set({ [JOURNAL_KEY]: entries })
      .catch((e: unknown) => console.warn('tabpool: could not write the request journal', e))
      .finally(() => {
        this.writing = false;
        for (const w of waiters) w();
        if (this.dirty) this.save();
      });
  }
}

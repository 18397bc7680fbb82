/**
 * How many pool tabs the pool wants now: `poolTabs` while there is work, none after
 * `idleRetireSeconds` without any (host #0 always stays), and `poolTabs` again as soon as work
 * comes back. `apply` opens or closes tabs to match.
 */
export interface PoolSizerOptions {
  apply: (tabs: number) => Promise<void>;
  now?: () => number;
  onError?: (e: unknown) => void;
}

export class PoolSizer {
  private poolTabs = 0;
  private idleRetireMs = 0;
  private wanted = 0;
  private lastWorkMs: number;
  private readonly now: () => number;

  constructor(private readonly options: PoolSizerOptions) {
    this.now = options.now ?? Date.now;
    this.lastWorkMs = this.now();
  }

  /** The pool tabs wanted now (what a respawn should restore). */
  get desired(): number {
    return this.wanted;
  }

  /** New settings: back to full size (a settings change counts as activity). */
  configure(settings: { poolTabs: number; idleRetireSeconds: number }): void {
    this.poolTabs = settings.poolTabs;
    this.idleRetireMs = settings.idleRetireSeconds * 1000;
    this.lastWorkMs = this.now();
    this.set(this.poolTabs);
  }

  /** Work arrived: remember when, and grow back if the pool had shrunk while idle. */
  noteWork(): void {
    this.lastWorkMs = this.now();
    if (this.wanted < this.poolTabs) this.set(this.poolTabs);
  }

  /** Called on a timer: retire the pool tabs once the pool has been idle long enough. */
  tick(): void {
    if (this.idleRetireMs <= 0 || this.wanted === 0) return;
    if (this.now() - this.lastWorkMs >= this.idleRetireMs) this.set(0);
  }

  private set(tabs: number): void {
    this.wanted = tabs;
    this.options.apply(tabs).catch((e) => this.options.onError?.(e));
  }
}

/** "just now", "3 s ago", "2 min ago": how long since `thenMs`, for people. */
export function formatAgo(thenMs: number | null, nowMs: number): string {
  if (thenMs === null) return 'never';
  const seconds = Math.max(0, Math.round((nowMs - thenMs) / 1000));
  if (seconds < 1) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  return `${Math.round(minutes / 60)} h ago`;
}

const KIND_LABELS: Record<string, string> = {
  offscreen: 'Offscreen document',
  background: 'Background page',
  tab: 'Pool tab',
};

/** "Pool tab" for `tab`; an unknown kind (from stored history, say) as it is. */
export function kindLabel(kind: string): string {
  return KIND_LABELS[kind] ?? kind;
}

/** One line for the whole pool: what a person wants to know first. */
export function poolHeadline(hosts: { state: string }[]): string {
  const ready = hosts.filter((h) => h.state === 'ready').length;
  const dead = hosts.filter((h) => h.state === 'dead').length;
  if (hosts.length === 0) return 'Starting: no hosts yet';
  const base = `${ready} of ${hosts.length - dead} hosts ready`;
  return dead > 0 ? `${base}, ${dead} lost` : base;
}

/** Where the pool stands, in one word a person can act on (and the UI can colour). */
export type PoolState = 'starting' | 'idle' | 'busy' | 'degraded' | 'down';

export interface PoolStateInput {
  hosts: { state: string; breaker: string; inflight: number }[];
  /** Requests finished per second over the last minute. */
  completed: number[];
}

/**
 * `starting`: no host ready yet (and none lost). `down`: hosts were there, none is ready.
 * `degraded`: a host was lost in the last minute or a ready host's breaker is not closed.
 * `idle`: healthy, nothing in flight and nothing finished in the last minute. Else `busy`.
 */
export function poolState({ hosts, completed }: PoolStateInput): PoolState {
  const ready = hosts.filter((h) => h.state === 'ready');
  const lost = hosts.some((h) => h.state === 'dead');
  if (ready.length === 0) return lost ? 'down' : 'starting';
  if (lost || ready.some((h) => h.breaker !== 'closed')) return 'degraded';
  const working = ready.some((h) => h.inflight > 0) || completed.some((n) => n > 0);
  return working ? 'busy' : 'idle';
}

export const POOL_STATE_TEXT: Record<PoolState, string> = {
  starting: 'Starting',
  idle: 'Idle',
  busy: 'Working',
  degraded: 'Degraded',
  down: 'Down',
};

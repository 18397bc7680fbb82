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

const KIND_LABELS = {
  offscreen: 'Offscreen document',
  background: 'Background page',
  tab: 'Pool tab',
};

export function kindLabel(kind: keyof typeof KIND_LABELS): string {
  return KIND_LABELS[kind];
}

/** One line for the whole pool: what a person wants to know first. */
export function poolHeadline(hosts: { state: string }[]): string {
  const ready = hosts.filter((h) => h.state === 'ready').length;
  const dead = hosts.filter((h) => h.state === 'dead').length;
  if (hosts.length === 0) return 'Starting: no hosts yet';
  const base = `${ready} of ${hosts.length - dead} hosts ready`;
  return dead > 0 ? `${base}, ${dead} lost` : base;
}

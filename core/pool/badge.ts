/**
 * What the toolbar badge says, from the pool's state: pages waiting for consent first (the user
 * has something to do), then a pool with no ready host (red "!"), then a degraded pool — a host
 * whose breaker is not closed, or one lost in the last minute — as usable/live hosts in amber,
 * else nothing.
 */
export interface BadgeState {
  text: string;
  /** Background colour; null leaves it as it is. */
  color: string | null;
  title: string;
}

/** What the badge needs to know of each host. */
export interface BadgeHost {
  state: 'starting' | 'ready' | 'dead';
  breaker: 'closed' | 'open' | 'half-open';
}

const AMBER = '#9a6700';
const RED = '#cf222e';

export function badgeFor(pendingConsents: number, hosts: readonly BadgeHost[]): BadgeState {
  if (pendingConsents > 0) {
    return {
      text: String(pendingConsents),
      color: AMBER,
      title: `tabpool: ${pendingConsents} page${pendingConsents === 1 ? '' : 's'} asking for access`,
    };
  }
  const live = hosts.filter((h) => h.state !== 'dead').length;
  const ready = hosts.filter((h) => h.state === 'ready').length;
  const usable = hosts.filter((h) => h.state === 'ready' && h.breaker === 'closed').length;
  const lost = hosts.length - live;
  if (live > 0 && ready === 0) {
    return { text: '!', color: RED, title: 'tabpool: no runtime host is ready' };
  }
  if (usable < ready || lost > 0) {
    const broken = ready - usable;
    const why = [
      broken > 0 ? `${broken} with an open breaker` : '',
      lost > 0 ? `${lost} lost in the last minute` : '',
    ].filter(Boolean);
    return {
      text: `${usable}/${live}`,
      color: AMBER,
      title: `tabpool: degraded, ${usable} of ${live} hosts usable (${why.join(', ')})`,
    };
  }
  return {
    text: '',
    color: null,
    title: `tabpool: ${ready} host${ready === 1 ? '' : 's'} ready`,
  };
}

/**
 * What the toolbar badge says, from the pool's state: pages waiting for consent first (the user
 * has something to do), then a pool with no ready host, else nothing.
 */
export interface BadgeState {
  text: string;
  /** Background colour; null leaves it as it is. */
  color: string | null;
  title: string;
}

export function badgeFor(
  pendingConsents: number,
  readyHosts: number,
  totalHosts: number,
): BadgeState {
  if (pendingConsents > 0) {
    return {
      text: String(pendingConsents),
      color: '#9a6700',
      title: `tabpool: ${pendingConsents} page${pendingConsents === 1 ? '' : 's'} asking for access`,
    };
  }
  if (totalHosts > 0 && readyHosts === 0) {
    return { text: '!', color: '#cf222e', title: 'tabpool: no runtime host is ready' };
  }
  return {
    text: '',
    color: null,
    title: `tabpool: ${readyHosts} host${readyHosts === 1 ? '' : 's'} ready`,
  };
}

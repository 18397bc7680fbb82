import { describe, expect, it } from 'vitest';
import { type BadgeHost, badgeFor } from './badge';

const ready: BadgeHost = { state: 'ready', breaker: 'closed' };
const starting: BadgeHost = { state: 'starting', breaker: 'closed' };
const dead: BadgeHost = { state: 'dead', breaker: 'closed' };
const broken: BadgeHost = { state: 'ready', breaker: 'open' };

describe('badgeFor', () => {
  it('asks for attention when pages wait for consent', () => {
    expect(badgeFor(2, [ready, ready])).toMatchObject({
      text: '2',
      title: 'tabpool: 2 pages asking for access',
    });
  });
  it('warns when no host is ready', () => {
    expect(badgeFor(0, [starting, starting])).toMatchObject({ text: '!', color: '#cf222e' });
  });
  it('stays quiet while starting (no hosts yet) and when healthy', () => {
    expect(badgeFor(0, []).text).toBe('');
    expect(badgeFor(0, [ready, starting])).toMatchObject({
      text: '',
      title: 'tabpool: 1 host ready',
    });
  });
  it('shows usable of live hosts in amber when a breaker is open or a host was lost', () => {
    expect(badgeFor(0, [ready, broken])).toMatchObject({
      text: '1/2',
      color: '#9a6700',
      title: 'tabpool: degraded, 1 of 2 hosts usable (1 with an open breaker)',
    });
    expect(badgeFor(0, [ready, dead, ready])).toMatchObject({
      text: '2/2',
      title: 'tabpool: degraded, 2 of 2 hosts usable (1 lost in the last minute)',
    });
    expect(badgeFor(0, [{ state: 'ready', breaker: 'half-open' }, dead]).text).toBe('0/1');
  });
});

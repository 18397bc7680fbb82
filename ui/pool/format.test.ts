import { describe, expect, it } from 'vitest';
import { formatAgo, kindLabel, poolHeadline, poolState } from './format';

describe('formatAgo', () => {
  it.each([
    [null, 'never'],
    [10_000, 'just now'],
    [7_000, '3 s ago'],
    [10_000 - 125_000, '2 min ago'],
    [10_000 - 3 * 3_600_000, '3 h ago'],
    [20_000, 'just now'], // a clock a little ahead is not "in the future"
  ])('formats %s', (then, text) => {
    expect(formatAgo(then, 10_000)).toBe(text);
  });
});

describe('poolHeadline', () => {
  it('says when the pool is starting, healthy or degraded', () => {
    expect(poolHeadline([])).toBe('Starting: no hosts yet');
    expect(poolHeadline([{ state: 'ready' }, { state: 'starting' }])).toBe('1 of 2 hosts ready');
    expect(poolHeadline([{ state: 'ready' }, { state: 'dead' }])).toBe(
      '1 of 1 hosts ready, 1 lost',
    );
  });
});

describe('poolState', () => {
  const ready = { state: 'ready', breaker: 'closed', inflight: 0 };
  const quiet = [0, 0, 0];
  it('is starting until a host is ready, and down when every host was lost', () => {
    expect(poolState({ hosts: [], completed: quiet })).toBe('starting');
    expect(poolState({ hosts: [{ ...ready, state: 'starting' }], completed: quiet })).toBe(
      'starting',
    );
    expect(poolState({ hosts: [{ ...ready, state: 'dead' }], completed: quiet })).toBe('down');
  });
  it('is idle with nothing in flight and nothing finished in the last minute, else busy', () => {
    expect(poolState({ hosts: [ready, ready], completed: quiet })).toBe('idle');
    expect(poolState({ hosts: [ready], completed: [0, 3, 0] })).toBe('busy');
    expect(poolState({ hosts: [{ ...ready, inflight: 1 }], completed: quiet })).toBe('busy');
  });
  it('is degraded when a host was lost or a breaker is not closed', () => {
    expect(poolState({ hosts: [ready, { ...ready, state: 'dead' }], completed: quiet })).toBe(
      'degraded',
    );
    expect(poolState({ hosts: [ready, { ...ready, breaker: 'open' }], completed: quiet })).toBe(
      'degraded',
    );
    expect(poolState({ hosts: [{ ...ready, breaker: 'half-open' }], completed: [1, 1, 1] })).toBe(
      'degraded',
    );
  });
});

describe('kindLabel', () => {
  it('names the host kinds and keeps an unknown one as it is', () => {
    expect(kindLabel('offscreen')).toBe('Offscreen document');
    expect(kindLabel('tab')).toBe('Pool tab');
    expect(kindLabel('worker')).toBe('worker');
  });
});

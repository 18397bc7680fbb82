import { describe, expect, it } from 'vitest';
import { formatAgo, poolHeadline } from './format';

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

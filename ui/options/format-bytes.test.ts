import { describe, expect, it } from 'vitest';
import { formatBytes } from './format-bytes';

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1536, '1.5 KB'],
    [10 * 1024, '10 KB'],
    [256 * 1024 * 1024, '256 MB'],
    [3.2 * 1024 ** 3, '3.2 GB'],
    [Number.POSITIVE_INFINITY, '—'],
  ])('formats %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});

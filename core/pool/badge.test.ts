import { describe, expect, it } from 'vitest';
import { badgeFor } from './badge';

describe('badgeFor', () => {
  it('asks for attention when pages wait for consent', () => {
    expect(badgeFor(2, 2, 2)).toMatchObject({
      text: '2',
      title: 'tabpool: 2 pages asking for access',
    });
  });
  it('warns when no host is ready', () => {
    expect(badgeFor(0, 0, 2)).toMatchObject({ text: '!', color: '#cf222e' });
  });
  it('stays quiet while starting (no hosts yet) and when healthy', () => {
    expect(badgeFor(0, 0, 0).text).toBe('');
    expect(badgeFor(0, 1, 2)).toMatchObject({ text: '', title: 'tabpool: 1 host ready' });
  });
});

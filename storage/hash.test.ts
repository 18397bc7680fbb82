import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createStreamHasher, isSha256Hex, sha256Hex, toHex } from './hash';

const nodeSha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('hash', () => {
  it('matches the FIPS test vector and node:crypto', async () => {
    expect(await sha256Hex(new TextEncoder().encode('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    const bytes = new Uint8Array(100_003).map((_, i) => (i * 31) & 255);
    expect(await sha256Hex(bytes)).toBe(nodeSha(bytes));
    expect(await sha256Hex(bytes.buffer)).toBe(nodeSha(bytes));
  });

  it('hashes a subarray view, not its whole backing buffer', async () => {
    const bytes = new Uint8Array([9, 1, 2, 3, 9]);
    expect(await sha256Hex(bytes.subarray(1, 4))).toBe(nodeSha(new Uint8Array([1, 2, 3])));
  });

  it('streams: pieces hash like the whole, and hex() can be read midway', () => {
    const bytes = new Uint8Array(70_000).map((_, i) => (i * 7) & 255);
    const h = createStreamHasher();
    h.update(bytes.subarray(0, 10));
    expect(h.hex()).toBe(nodeSha(bytes.subarray(0, 10)));
    h.update(bytes.subarray(10, 65_537));
    h.update(bytes.subarray(65_537));
    expect(h.hex()).toBe(nodeSha(bytes));
  });

  it('formats hex and recognises digests', () => {
    expect(toHex(new Uint8Array([0, 15, 255]))).toBe('000fff');
    expect(isSha256Hex(nodeSha(new Uint8Array()))).toBe(true);
    expect(isSha256Hex('abc')).toBe(false);
    expect(isSha256Hex('A'.repeat(64))).toBe(false);
  });
});

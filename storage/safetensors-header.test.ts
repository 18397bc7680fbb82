import { describe, expect, it } from 'vitest';
import { encodeSafetensors, headerEnd, parseSafetensorsHeader } from './safetensors-header';

const file = encodeSafetensors({
  b: { dtype: 'F32', shape: [2, 2], data: new Uint8Array(16).fill(2) },
  a: { dtype: 'F16', shape: [3], data: new Uint8Array(6).fill(1) },
});

describe('safetensors header', () => {
  it('parses tensors with absolute offsets, sorted by position', () => {
    const end = headerEnd(file, file.length);
    const h = parseSafetensorsHeader(file.subarray(0, end), file.length);
    expect(h.dataStart).toBe(end);
    expect(h.tensors).toEqual([
      { name: 'b', dtype: 'F32', shape: [2, 2], begin: end, end: end + 16 },
      { name: 'a', dtype: 'F16', shape: [3], begin: end + 16, end: end + 22 },
    ]);
    expect(file.subarray(end + 16, end + 22)).toEqual(new Uint8Array(6).fill(1));
  });

  it('rejects a header length beyond the file, bad JSON and out-of-range tensors', () => {
    const big = file.slice();
    new DataView(big.buffer).setBigUint64(0, BigInt(file.length), true);
    expect(() => headerEnd(big, file.length)).toThrow(
      expect.objectContaining({ code: 'INTEGRITY_FAILED' }),
    );
    const end = headerEnd(file, file.length);
    const garbled = file.slice(0, end);
    garbled[8] = 0x7b + 1;
    expect(() => parseSafetensorsHeader(garbled, file.length)).toThrow(/unreadable JSON/);
    // Same header, but the file is shorter than the tensors claim.
    expect(() => parseSafetensorsHeader(file.subarray(0, end), end + 10)).toThrow(/out of range/);
  });

  it('rejects overlapping tensors', () => {
    const json = new TextEncoder().encode(
      JSON.stringify({
        x: { dtype: 'U8', shape: [4], data_offsets: [0, 4] },
        y: { dtype: 'U8', shape: [4], data_offsets: [2, 6] },
      }),
    );
    const bytes = new Uint8Array(8 + json.length + 6);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
    bytes.set(json, 8);
    expect(() => parseSafetensorsHeader(bytes, bytes.length)).toThrow(/overlaps/);
  });
});

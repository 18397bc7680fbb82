import { describe, expect, it } from 'vitest';
import { rng, uniform } from '../testing/random';
import {
  blockParams,
  dequantizeMatrix,
  getCode,
  parseQuantFormat,
  quantFormat,
  quantizedBytes,
  quantizeMatrix,
} from './format';
import { f16BitsToF32, f32ToF16Bits } from './half';

describe('f16 scale storage', () => {
  it('rounds to nearest even and keeps subnormals, inf and NaN', () => {
    expect(f32ToF16Bits(1)).toBe(0x3c00);
    expect(f32ToF16Bits(-2)).toBe(0xc000);
    expect(f32ToF16Bits(65504)).toBe(0x7bff);
    expect(f32ToF16Bits(1e6)).toBe(0x7c00);
    expect(f32ToF16Bits(2 ** -24)).toBe(1);
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
    expect(Number.isNaN(f16BitsToF32(f32ToF16Bits(Number.NaN)))).toBe(true);
    for (const h of [0x0001, 0x03ff, 0x0400, 0x3555, 0x7bff, 0xbc00])
      expect(f32ToF16Bits(f16BitsToF32(h))).toBe(h);
  });
});

describe('block formats', () => {
  it('parses and names formats', () => {
    expect(parseQuantFormat('int4')).toEqual({
      bits: 4,
      groupSize: 32,
      scale: 'f16',
      asymmetric: true,
    });
    expect(parseQuantFormat('int3:g128:f32')).toEqual({
      bits: 3,
      groupSize: 128,
      scale: 'f32',
      asymmetric: true,
    });
    expect(parseQuantFormat('int4:sym:g64').asymmetric).toBe(false);
    expect(() => parseQuantFormat('int5')).toThrow(RangeError);
    expect(() => parseQuantFormat('int4:g48')).toThrow(RangeError);
  });

  it('packs the documented bit layout', () => {
    // Row of 32 values whose codes are known: symmetric int4 with absmax 7 → scale 1, u = v + 8.
    const values = Float32Array.from({ length: 32 }, (_, i) => (i % 15) - 7);
    const q = quantizeMatrix(
      values,
      1,
      32,
      quantFormat('int4', { scale: 'f32', asymmetric: false }),
    );
    expect(q.params[0]).toBe(1);
    // Word 0 holds codes 0..3 in the low nibbles of its bytes and 4..7 in the high nibbles.
    const want = (i: number) => (values[i] as number) + 8;
    const w0 = (q.packed[0] as number) >>> 0;
    for (let i = 0; i < 4; i++) {
      expect((w0 >>> (8 * i)) & 15).toBe(want(i));
      expect((w0 >>> (8 * i + 4)) & 15).toBe(want(4 + i));
    }
    for (let i = 0; i < 32; i++) expect(getCode(q.packed, 32, q.format, 0, i)).toBe(want(i));
  });

  it('packs int3 as a 2-bit plane and a 1-bit plane', () => {
    const values = Float32Array.from({ length: 32 }, (_, i) => i % 8);
    const q = quantizeMatrix(values, 1, 32, quantFormat('int3', { scale: 'f32' }));
    expect(q.packed.length).toBe(3);
    expect(Array.from(q.params)).toEqual([1, 0]);
    const hi = (q.packed[2] as number) >>> 0;
    for (let i = 0; i < 32; i++) {
      expect(getCode(q.packed, 32, q.format, 0, i)).toBe(i % 8);
      expect((hi >>> (8 * (i & 3) + (i >> 2))) & 1).toBe((i % 8) >> 2);
    }
  });

  it.each([
    ['int8', 8],
    ['int4', 4],
    ['int3', 3],
    ['int2', 2],
  ] as const)(
    '%s round trip: sizes and error within half a step of the block range',
    (name, bits) => {
      const r = rng(7);
      for (const groupSize of [32, 64, 128] as const) {
        for (const scale of ['f32', 'f16'] as const) {
          const n = 5;
          const k = 256;
          const w = uniform(r, n * k);
          const q = quantizeMatrix(w, n, k, quantFormat(name, { groupSize, scale }));
          expect(q.packed.length).toBe((n * k * bits) / 32);
          const per = q.format.asymmetric ? 2 : 1;
          const values = (n * k * per) / groupSize;
          expect(quantizedBytes(q)).toBe((n * k * bits) / 8 + values * (scale === 'f32' ? 4 : 2));
          const back = dequantizeMatrix(q);
          const levels = (1 << bits) - 1;
          const uMin = q.format.asymmetric ? 0 : 1;
          for (let i = 0; i < w.length; i++) {
            // Inside the block's representable range: at most half a step off; outside it
            // (the clipping search may shrink the range): off by the distance to its edge.
            const [s, m] = blockParams(q, Math.floor(i / groupSize));
            const v = w[i] as number;
            const outside = Math.max(0, v - (m + s * levels), m + s * uMin - v);
            const err = Math.abs((back[i] as number) - v);
            expect(err).toBeLessThanOrEqual(s * 0.5 * (1 + 1e-5) + outside + 1e-7);
          }
        }
      }
    },
  );

  it('rejects K that is not a whole number of blocks', () => {
    expect(() => quantizeMatrix(new Float32Array(48), 1, 48, quantFormat('int4'))).toThrow(
      /multiple/,
    );
  });
});

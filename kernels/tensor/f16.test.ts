import { describe, expect, it } from 'vitest';
import { f16ToF32Array, f32ToF16Array, fromF16Bits, roundToF16, toF16Bits } from './f16';

describe('f16 conversion', () => {
  it('converts known values exactly', () => {
    const pairs: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [Number.POSITIVE_INFINITY, 0x7c00],
      [1e6, 0x7c00], // past the range → infinity
    ];
    for (const [x, bits] of pairs) {
      expect(toF16Bits(x)).toBe(bits);
      if (Number.isFinite(x) && x < 65520) expect(fromF16Bits(bits)).toBe(x);
    }
    expect(Number.isNaN(fromF16Bits(toF16Bits(Number.NaN)))).toBe(true);
  });

  it('rounds to nearest, ties to even (normal and subnormal)', () => {
    expect(toF16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie: stays on the even 1.0
    expect(toF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie: rounds up to even
    expect(toF16Bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // past the tie
    expect(toF16Bits(2 ** -25)).toBe(0); // half the smallest subnormal: tie to 0
    expect(toF16Bits(3 * 2 ** -25)).toBe(2); // 1.5 ulp → 2
    expect(toF16Bits(65519)).toBe(0x7bff);
    expect(toF16Bits(65520)).toBe(0x7c00);
  });

  it('round-trips every finite f16 and stays within half an ulp for f32 values', () => {
    const all = Uint16Array.from({ length: 0x10000 }, (_, i) => i).filter(
      (h) => (h & 0x7c00) !== 0x7c00,
    );
    expect(f32ToF16Array(f16ToF32Array(all))).toEqual(all);
    for (let x = -3; x < 3; x += 0.0137) {
      const y = roundToF16(x);
      const ulp = 2 ** (Math.floor(Math.log2(Math.max(Math.abs(x), 2 ** -14))) - 10);
      expect(Math.abs(y - x)).toBeLessThanOrEqual(ulp / 2);
    }
  });
});

/**
 * f32 ↔ f16 bit patterns for block scales stored as halves (two per u32 word, low half first,
 * as WGSL's `unpack2x16float` reads them). Conversion rounds to nearest even.
 */
const f32 = new Float32Array(1);
const bits = new Uint32Array(f32.buffer);

/** f32 → f16 bits (round to nearest even; overflow → ±inf; NaN stays NaN). */
export function f32ToF16Bits(x: number): number {
  f32[0] = x;
  const b = bits[0] as number;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): shift the mantissa (with its implicit 1) into place.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && half & 1) ? 1 : 0));
  }
  const half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (and overflows to inf).
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && half & 1) ? 1 : 0));
}

/** f16 bits → f32 value (exact). */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Rounds through f16 (what a value becomes once stored as a half). */
export const roundToF16 = (x: number): number => f16BitsToF32(f32ToF16Bits(x));

/** Error measures for comparing a backend's output with the CPU reference. */
import type { TypedArray } from '../tensor/dtype';
import { f16ToF32Array } from '../tensor/f16';

export interface Tolerance {
  /** |got - want| ≤ abs + rel · |want| for every element. */
  abs: number;
  rel: number;
}

export interface Comparison {
  maxAbsError: number;
  /** The largest error as a fraction of its allowance (≤ 1 passes). */
  worstRatio: number;
  worstIndex: number;
  mismatch: string | null;
}

/** f16 outputs (bit patterns) are compared by value. */
export function compare(gotIn: TypedArray, wantIn: TypedArray, tol: Tolerance): Comparison {
  const got = gotIn instanceof Uint16Array ? f16ToF32Array(gotIn) : gotIn;
  const want = wantIn instanceof Uint16Array ? f16ToF32Array(wantIn) : wantIn;
  if (got.length !== want.length) {
    return {
      maxAbsError: Number.POSITIVE_INFINITY,
      worstRatio: Number.POSITIVE_INFINITY,
      worstIndex: -1,
      mismatch: `length ${got.length} ≠ ${want.length}`,
    };
  }
  let maxAbsError = 0;
  let worstRatio = 0;
  let worstIndex = -1;
  for (let i = 0; i < got.length; i++) {
    const g = got[i] as number;
    const w = want[i] as number;
    const err = Math.abs(g - w);
    const ratio = Number.isNaN(err)
      ? Number.POSITIVE_INFINITY
      : err / (tol.abs + tol.rel * Math.abs(w));
    if (err > maxAbsError || Number.isNaN(err))
      maxAbsError = Number.isNaN(err) ? Number.POSITIVE_INFINITY : err;
    if (ratio > worstRatio) {
      worstRatio = ratio;
      worstIndex = i;
    }
  }
  const mismatch =
    worstRatio > 1
      ? `element ${worstIndex}: got ${got[worstIndex]}, want ${want[worstIndex]} (${worstRatio.toFixed(2)}× tolerance)`
      : null;
  return { maxAbsError, worstRatio, worstIndex, mismatch };
}

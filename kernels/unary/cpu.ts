/** CPU reference for pointwise functions (also the matmul epilogue activations). */
import type { Activation, OpInputs, OpParams, UnaryFn } from '../backend/ops';
import { cpuTensor, cpuToDense, type Tensor } from '../tensor/tensor';

/**
 * erf by Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7): neither JS nor WGSL has erf, and the
 * WGSL program uses the same formula, so both backends agree far inside the f32 tolerance.
 */
export function erf(x: number): number {
  const s = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-a * a);
  return s * y;
}

export function applyUnary(fn: UnaryFn | Activation, x: number): number {
  switch (fn) {
    case 'none':
    case 'identity':
      return x;
    case 'relu':
      return Math.max(x, 0);
    case 'gelu':
      return 0.5 * x * (1 + erf(x / Math.SQRT2));
    case 'gelu-tanh':
      return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    case 'quick-gelu':
      return x / (1 + Math.exp(-1.702 * x));
    case 'silu':
      return x / (1 + Math.exp(-x));
    case 'sigmoid':
      return 1 / (1 + Math.exp(-x));
    case 'tanh':
      return Math.tanh(x);
    case 'exp':
      return Math.exp(x);
    case 'neg':
      return -x;
  }
}

export function unaryCpu([x]: OpInputs<'unary'>, { fn }: OpParams<'unary'>): Tensor {
  if (x.dtype !== 'f32') throw new TypeError('unary needs f32');
  const src = cpuToDense(x);
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = applyUnary(fn, src[i] as number);
  return cpuTensor(out, x.shape);
}

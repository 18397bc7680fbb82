import { describe, expect, it } from 'vitest';
import { rng, uniform } from '../testing/random';
import { matmulCpuReference, transposeInto } from './cpu';
import { wasmMatmul } from './wasm-simd';

describe('wasmMatmul', () => {
  const kernel = wasmMatmul();
  it('compiles in Node (WebAssembly SIMD)', () => {
    expect(kernel).not.toBeNull();
  });

  // Sizes around the 4 × 8 tiles (padding rows and columns), and operands at offsets.
  it.each([
    [1, 1, 1, false],
    [3, 5, 7, false],
    [4, 16, 8, false],
    [5, 33, 9, true],
    [13, 70, 31, true],
    [64, 128, 96, false],
    [8, 24, 16, true],
  ])('%i×%i×%i (transposed B: %s) is within f32 rounding of the reference', (m, k, n, bT) => {
    const r = rng(m * 31 + k);
    const a = uniform(r, 3 + m * k);
    const b = uniform(r, 2 + k * n);
    const bDense = b.subarray(2);
    const bStored = bT ? new Float32Array(2 + k * n) : b;
    if (bT) transposeInto(bDense, 0, k, n, bStored.subarray(2));
    const c = new Float32Array(1 + m * n).fill(7);
    kernel?.run(a, 3, bStored, 2, bT, c, 1, m, k, n);
    const want = matmulCpuReference(a.subarray(3), bDense, m, k, n);
    expect(c[0]).toBe(7);
    const tolerance = 1e-6 * k + 1e-6;
    for (let i = 0; i < want.length; i++)
      expect(Math.abs((c[1 + i] as number) - (want[i] as number))).toBeLessThanOrEqual(tolerance);
  });

  it('reuses its memory across a smaller call after a larger one (padding is cleared)', () => {
    const r = rng(3);
    const big = uniform(r, 40 * 40);
    kernel?.run(big, 0, big, 0, false, new Float32Array(1600), 0, 40, 40, 40);
    const a = uniform(r, 3 * 5);
    const b = uniform(r, 5 * 6);
    const c = new Float32Array(18);
    kernel?.run(a, 0, b, 0, false, c, 0, 3, 5, 6);
    const want = matmulCpuReference(a, b, 3, 5, 6);
    for (let i = 0; i < 18; i++)
      expect(Math.abs((c[i] as number) - (want[i] as number))).toBeLessThan(1e-5);
  });
});

import { describe, expect, it } from 'vitest';
import { matmulCpu, matmulCpuReference, matmulTransBInto, transposeInto } from './cpu';

/** Seeded xorshift so failures reproduce. */
function random(seed: number, length: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
}

/** Textbook triple loop in f64: the reference the fast loop order is checked against. */
function reference(
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) sum += (a[i * k + p] as number) * (b[p * n + j] as number);
      c[i * n + j] = sum;
    }
  return c;
}

describe('matmulCpu', () => {
  it('computes a known 2×3 · 3×2 product exactly', () => {
    const a = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const b = Float32Array.from([7, 8, 9, 10, 11, 12]);
    expect([...matmulCpu(a, b, 2, 3, 2)]).toEqual([58, 64, 139, 154]);
  });

  it.each([
    [1, 1, 1],
    [1, 7, 1],
    [3, 5, 7],
    [17, 31, 13],
    [64, 64, 64],
    [5, 257, 3],
  ])('matches an f64 reference within 1e-5·k for %i×%i×%i', (m, k, n) => {
    const a = random(m * 1000 + k, m * k);
    const b = random(n * 1000 + k + 1, k * n);
    const got = matmulCpu(a, b, m, k, n);
    const want = reference(a, b, m, k, n);
    // f32 accumulation of k products in [-1, 1]: error grows with k; 1e-6 per term is generous.
    const tolerance = 1e-6 * k + 1e-6;
    for (let i = 0; i < got.length; i++) {
      expect(Math.abs((got[i] as number) - (want[i] as number))).toBeLessThanOrEqual(tolerance);
    }
  });

  it('multiplies by the identity without change', () => {
    const a = random(9, 4 * 4);
    const eye = new Float32Array(16);
    for (let i = 0; i < 4; i++) eye[i * 4 + i] = 1;
    expect(matmulCpu(a, eye, 4, 4, 4)).toEqual(a);
  });

  it('rejects inputs whose length does not match the shape', () => {
    expect(() => matmulCpu(new Float32Array(5), new Float32Array(6), 2, 3, 2)).toThrow(RangeError);
    expect(() => matmulCpu(new Float32Array(6), new Float32Array(5), 2, 3, 2)).toThrow(RangeError);
  });
});

describe('blocked kernels', () => {
  // Sizes around the 4-row blocks and the 256-column panels, none dividing evenly.
  it.each([
    [1, 1, 1],
    [3, 5, 7],
    [4, 9, 256],
    [5, 13, 257],
    [7, 33, 300],
    [9, 64, 513],
  ])('matmulCpu equals the one-row reference bit for bit at %i×%i×%i', (m, k, n) => {
    const a = random(m + 3 * k, m * k);
    const b = random(n + 5 * k, k * n);
    expect(matmulCpu(a, b, m, k, n)).toEqual(matmulCpuReference(a, b, m, k, n));
  });

  it.each([
    [1, 7, 1],
    [2, 31, 5],
    [3, 64, 9],
  ])('matmulTransBInto on [n, k] weights equals the reference at %i×%i×%i', (m, k, n) => {
    const a = random(11 + m, m * k);
    const bt = random(13 + n, n * k);
    const b = new Float32Array(k * n);
    transposeInto(bt, 0, n, k, b);
    const got = new Float32Array(m * n);
    matmulTransBInto(a, 0, bt, 0, got, 0, m, k, n);
    expect(got).toEqual(matmulCpuReference(a, b, m, k, n));
  });

  it('transposeInto reads at an offset and handles edges past a 32 × 32 tile', () => {
    const src = random(3, 5 + 33 * 35);
    const dst = new Float32Array(33 * 35);
    transposeInto(src, 5, 33, 35, dst);
    for (let r = 0; r < 33; r++)
      for (let c = 0; c < 35; c++) expect(dst[c * 33 + r]).toBe(src[5 + r * 35 + c]);
  });
});

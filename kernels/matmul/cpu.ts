/**
 * CPU matmul: C[m, n] = A[m, k] · B[k, n], row-major f32.
 *
 * The i-p-j loop order walks B and C row by row, so the inner loop reads and writes contiguous
 * memory — several times faster in JS engines than the textbook i-j-p order, with the same sums
 * in the same order per element (so results are deterministic across hosts).
 */
export function matmulCpu(
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
): Float32Array {
  if (a.length !== m * k) throw new RangeError(`a has ${a.length} elements, expected ${m}×${k}`);
  if (b.length !== k * n) throw new RangeError(`b has ${b.length} elements, expected ${k}×${n}`);
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    const cRow = i * n;
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p] as number;
      if (aip === 0) continue;
      const bRow = p * n;
      for (let j = 0; j < n; j++) {
        c[cRow + j] = (c[cRow + j] as number) + aip * (b[bRow + j] as number);
      }
    }
  }
  return c;
}

/**
 * CPU matmul: C[m, n] = A[m, k] · B[k, n], row-major f32.
 *
 * Every element is summed over p = 0..k-1 in order, rounding to f32 after each step (the C rows
 * live in a Float32Array), so results are the same on every host and match the plain i-p-j loop
 * bit for bit. Speed comes from the loop structure only:
 * - four rows of A at a time: each B element read feeds four multiply-adds;
 * - columns in panels of `PANEL` so the B panel (k × PANEL) stays in cache while all row
 *   blocks of A walk over it;
 * - inner loops over contiguous Float32Array ranges, no allocation or closures inside.
 */

/** Columns per B panel: 768 × 256 f32 = 768 KiB, about an L2's worth at transformer widths. */
const PANEL = 256;

/**
 * Adds A·B into C (C must hold the starting values, usually zeros). Offsets let callers pass one
 * batch of larger buffers without making subarrays.
 */
export function matmulInto(
  a: Float32Array,
  aOff: number,
  b: Float32Array,
  bOff: number,
  c: Float32Array,
  cOff: number,
  m: number,
  k: number,
  n: number,
): void {
  for (let j0 = 0; j0 < n; j0 += PANEL) {
    const j1 = Math.min(n, j0 + PANEL);
    let i = 0;
    for (; i + 4 <= m; i += 4) {
      const c0 = cOff + i * n;
      const c1 = c0 + n;
      const c2 = c1 + n;
      const c3 = c2 + n;
      const a0Row = aOff + i * k;
      for (let p = 0; p < k; p++) {
        const a0 = a[a0Row + p] as number;
        const a1 = a[a0Row + k + p] as number;
        const a2 = a[a0Row + 2 * k + p] as number;
        const a3 = a[a0Row + 3 * k + p] as number;
        const bRow = bOff + p * n;
        for (let j = j0; j < j1; j++) {
          const bv = b[bRow + j] as number;
          c[c0 + j] = (c[c0 + j] as number) + a0 * bv;
          c[c1 + j] = (c[c1 + j] as number) + a1 * bv;
          c[c2 + j] = (c[c2 + j] as number) + a2 * bv;
          c[c3 + j] = (c[c3 + j] as number) + a3 * bv;
        }
      }
    }
    for (; i < m; i++) {
      const c0 = cOff + i * n;
      const aRow = aOff + i * k;
      for (let p = 0; p < k; p++) {
        const a0 = a[aRow + p] as number;
        const bRow = bOff + p * n;
        for (let j = j0; j < j1; j++) {
          c[c0 + j] = (c[c0 + j] as number) + a0 * (b[bRow + j] as number);
        }
      }
    }
  }
}

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
  matmulInto(a, 0, b, 0, c, 0, m, k, n);
  return c;
}

/**
 * The plain i-p-j loop, one row at a time: the same sums as `matmulInto` (tests check the two
 * agree bit for bit) and the yardstick the CPU benchmark measures the blocked kernels against.
 */
export function matmulCpuReference(
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
): Float32Array {
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p] as number;
      for (let j = 0; j < n; j++) {
        c[i * n + j] = (c[i * n + j] as number) + aip * (b[p * n + j] as number);
      }
    }
  }
  return c;
}

/**
 * Adds A·Bᵀ into C where B is stored [n, k]: each output is a dot product of two contiguous rows,
 * summed over p in order with f32 rounding after each step (`Math.fround`), the same sums as
 * `matmulInto` on the transposed B. Used for few rows (decoding, GEMV), where re-laying out B
 * would cost as much as the product.
 */
export function matmulTransBInto(
  a: Float32Array,
  aOff: number,
  b: Float32Array,
  bOff: number,
  c: Float32Array,
  cOff: number,
  m: number,
  k: number,
  n: number,
): void {
  const fr = Math.fround;
  for (let i = 0; i < m; i++) {
    const aRow = aOff + i * k;
    const cRow = cOff + i * n;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const b0 = bOff + j * k;
      const b1 = b0 + k;
      const b2 = b1 + k;
      const b3 = b2 + k;
      let s0 = c[cRow + j] as number;
      let s1 = c[cRow + j + 1] as number;
      let s2 = c[cRow + j + 2] as number;
      let s3 = c[cRow + j + 3] as number;
      for (let p = 0; p < k; p++) {
        const av = a[aRow + p] as number;
        s0 = fr(s0 + av * (b[b0 + p] as number));
        s1 = fr(s1 + av * (b[b1 + p] as number));
        s2 = fr(s2 + av * (b[b2 + p] as number));
        s3 = fr(s3 + av * (b[b3 + p] as number));
      }
      c[cRow + j] = s0;
      c[cRow + j + 1] = s1;
      c[cRow + j + 2] = s2;
      c[cRow + j + 3] = s3;
    }
    for (; j < n; j++) {
      const bRow = bOff + j * k;
      let s = c[cRow + j] as number;
      for (let p = 0; p < k; p++) s = fr(s + (a[aRow + p] as number) * (b[bRow + p] as number));
      c[cRow + j] = s;
    }
  }
}

/** dst[c, r] = src[srcOff + r·cols + c]: one [rows, cols] matrix transposed into `dst`. */
export function transposeInto(
  src: Float32Array,
  srcOff: number,
  rows: number,
  cols: number,
  dst: Float32Array,
): void {
  // 32 × 32 tiles keep both the reads and the writes within a few cache lines at a time.
  for (let r0 = 0; r0 < rows; r0 += 32) {
    const r1 = Math.min(rows, r0 + 32);
    for (let c0 = 0; c0 < cols; c0 += 32) {
      const c1 = Math.min(cols, c0 + 32);
      for (let r = r0; r < r1; r++) {
        const from = srcOff + r * cols;
        for (let col = c0; col < c1; col++) dst[col * rows + r] = src[from + col] as number;
      }
    }
  }
}

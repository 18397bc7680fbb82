import { describe, expect, it } from 'vitest';
import type { OpParams } from '../backend/ops';
import { cpuTensor, cpuToDense, transpose } from '../tensor/tensor';
import { rng, uniform } from '../testing/random';
import { applyUnary } from '../unary/cpu';
import { matmulCpuReference } from './cpu';
import { allowWasmMatmul, matmulOpCpu, sourceBatches } from './op-cpu';

/**
 * The op spelled out the slow way: transposes and batch broadcast by index arithmetic, the
 * one-row reference kernel per batch, then bias and activation element by element.
 */
function slowOp(
  a: Float32Array,
  aShape: number[],
  b: Float32Array,
  bShape: number[],
  p: OpParams<'matmul'>,
  bias: Float32Array | null,
): Float32Array {
  const [a0, a1] = aShape.slice(-2) as [number, number];
  const [b0, b1] = bShape.slice(-2) as [number, number];
  const [m, k] = p.transA ? [a1, a0] : [a0, a1];
  const n = p.transB ? b0 : b1;
  const aBatches = a.length / (a0 * a1);
  const bBatches = b.length / (b0 * b1);
  const batches = Math.max(aBatches, bBatches);
  const out = new Float32Array(batches * m * n);
  for (let t = 0; t < batches; t++) {
    const ai = aBatches === 1 ? 0 : t;
    const bi = bBatches === 1 ? 0 : t;
    const am = new Float32Array(m * k);
    const bm = new Float32Array(k * n);
    for (let i = 0; i < m; i++)
      for (let q = 0; q < k; q++)
        am[i * k + q] = a[ai * m * k + (p.transA ? q * m + i : i * k + q)] as number;
    for (let q = 0; q < k; q++)
      for (let j = 0; j < n; j++)
        bm[q * n + j] = b[bi * k * n + (p.transB ? j * k + q : q * n + j)] as number;
    out.set(matmulCpuReference(am, bm, m, k, n), t * m * n);
  }
  for (let i = 0; i < out.length; i++)
    out[i] = applyUnary(p.activation ?? 'none', (out[i] as number) + (bias?.[i % n] ?? 0));
  return out;
}

const layouts: [number[], number[], OpParams<'matmul'>, boolean][] = [
  [[5, 7], [7, 300], {}, false],
  [[5, 7], [300, 7], { transB: true }, true],
  [[9, 7], [300, 7], { transB: true, activation: 'gelu' }, true],
  [[1, 33], [17, 33], { transB: true, activation: 'relu' }, false],
  [[7, 5], [7, 3], { transA: true }, true],
  [[7, 9], [11, 7], { transA: true, transB: true, activation: 'silu' }, true],
  [[3, 6, 5], [5, 4], {}, true],
  [[6, 5], [3, 5, 4], {}, false],
  [[3, 10, 8], [3, 12, 8], { transB: true }, true],
  [[2, 5, 9], [1, 9, 6], { activation: 'gelu-tanh' }, true],
  [[2, 37, 70], [70, 45], { activation: 'relu' }, true],
  [[37, 70], [2, 45, 70], { transB: true }, true],
];

function check(sa: number[], sb: number[], p: OpParams<'matmul'>, withBias: boolean, seed: number) {
  const r = rng(seed);
  const a = uniform(
    r,
    sa.reduce((x, y) => x * y, 1),
  );
  const b = uniform(
    r,
    sb.reduce((x, y) => x * y, 1),
  );
  const n = p.transB ? (sb.at(-2) as number) : (sb.at(-1) as number);
  const bias = withBias ? uniform(r, n) : null;
  const inputs = [cpuTensor(a, sa), cpuTensor(b, sb), ...(bias ? [cpuTensor(bias, [n])] : [])];
  return { got: cpuToDense(matmulOpCpu(inputs as never, p)), want: slowOp(a, sa, b, sb, p, bias) };
}

describe('matmulOpCpu, JS kernels', () => {
  it.each(layouts)(
    '%j · %j %j (bias %s) equals the spelled-out op bit for bit',
    (sa, sb, p, bias) => {
      allowWasmMatmul(false);
      try {
        const { got, want } = check(sa, sb, p, bias, 5);
        expect(got).toEqual(want);
      } finally {
        allowWasmMatmul(true);
      }
    },
  );
});

describe('matmulOpCpu, default kernels (WebAssembly SIMD where it compiles)', () => {
  it.each(layouts)('%j · %j %j (bias %s) is within f32 rounding of the op', (sa, sb, p, bias) => {
    const { got, want } = check(sa, sb, p, bias, 6);
    const k = p.transA ? (sa.at(-2) as number) : (sa.at(-1) as number);
    // Products rounded to f32 before each add: about an ulp of the running sum per step.
    const tolerance = 1e-6 * k + 1e-6;
    for (let i = 0; i < want.length; i++)
      expect(Math.abs((got[i] as number) - (want[i] as number))).toBeLessThanOrEqual(tolerance);
  });
});

describe('matmulOpCpu', () => {
  const r = rng(5);

  it('reads a strided (transposed view) operand', () => {
    const a = uniform(r, 4 * 6);
    const bView = transpose(cpuTensor(uniform(r, 5 * 6), [5, 6]));
    const got = cpuToDense(matmulOpCpu([cpuTensor(a, [4, 6]), bView], {}));
    const bDense = cpuToDense(bView) as Float32Array;
    expect(got).toEqual(matmulCpuReference(a, bDense, 4, 6, 5));
  });

  it('maps broadcast batches to their source batch', () => {
    expect([...sourceBatches([2, 1], [2, 3])]).toEqual([0, 0, 0, 1, 1, 1]);
    expect([...sourceBatches([3], [2, 3])]).toEqual([0, 1, 2, 0, 1, 2]);
    expect([...sourceBatches([], [2, 2])]).toEqual([0, 0, 0, 0]);
  });
});

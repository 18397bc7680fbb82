/**
 * Conformance cases for f16 storage: casts, and matmuls with f16 operands on every program the
 * strategy may pick for them (GEMV, tiled f16, and the subgroup-matrix program: aligned tiles,
 * M/N/K edges, transposes, bias + activation through its scratch epilogue, batches).
 *
 * Tolerances: the CPU reference widens f16 inputs exactly and sums in f32, so f16 × f16 sums
 * on the GPU (f16 products are exact in f32, sums are f32) get the f32 dot budget. An f32
 * operand beside an f16 one is rounded to f16 by the subgroup-matrix program as it is staged:
 * each product then carries up to 2^-11 relative error, so the budget adds 2^-11 · Σ|a·b|,
 * bounded for inputs in [-1, 1] by 2^-11 · k/3 (Σ|a·b| has mean k/4; k/3 is past 3σ for k ≥ 64).
 */
import { f32ToF16Array } from '../tensor/f16';
import { cpuTensor, type Tensor } from '../tensor/tensor';
import type { Tolerance } from '../testing/compare';
import { uniform } from '../testing/random';
import type { OpCase } from './cases';

type Random = () => number;

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const f32 = (r: Random, shape: number[]) => cpuTensor(uniform(r, size(shape)), shape);
const f16 = (r: Random, shape: number[]) =>
  cpuTensor(f32ToF16Array(uniform(r, size(shape))), shape);

/** The f32 dot budget (as for f32 matmuls: rounding grows with k). */
export const f16DotTolerance = (k: number): Tolerance => ({ abs: 2e-6 + 1e-7 * k, rel: 1e-5 });
/** One operand rounded to f16 on the way: the f32 budget plus 2^-11 · k/3. */
export const mixedDotTolerance = (k: number): Tolerance => ({
  abs: 2e-6 + 1e-7 * k + (2 ** -11 * k) / 3,
  rel: 1e-3,
});

/** One f16 unit in the last place, relative (and subnormal spacing near zero). */
const F16_ULP: Tolerance = { abs: 2 ** -24, rel: 2 ** -10 };

export function f16Cases(r: Random): OpCase[] {
  const cases: OpCase[] = [
    {
      op: 'cast',
      label: 'f32 → f16 1000',
      needs: 'shader-f16',
      // WGSL lets a runtime f32 → f16 conversion round to either neighbour: one unit in the
      // last place (2^-10 relative) is allowed. Out-of-range values are indeterminate in WGSL:
      // inputs stay inside ±65504.
      tolerance: F16_ULP,
      inputs: [cpuTensor(uniform(r, 1000, -60000, 60000), [10, 100])],
      params: { dtype: 'f16' },
    },
    {
      op: 'cast',
      label: 'f16 → f32 999',
      needs: 'shader-f16',
      tolerance: { abs: 0, rel: 0 },
      inputs: [f16(r, [999])],
      params: { dtype: 'f32' },
    },
  ];
  // Elementwise on f16: computed in f32, rounded once to f16. The f32 budgets of these
  // functions (≤ 2e-6 abs, 1e-5 rel, see cases.ts) can move a result to the next f16 value.
  for (const fn of ['gelu', 'silu', 'tanh', 'relu', 'sigmoid', 'neg'] as const)
    cases.push({
      op: 'unary',
      label: `f16 ${fn} 7x129`,
      needs: 'shader-f16',
      tolerance: { abs: 2e-6 + F16_ULP.abs, rel: 1e-5 + F16_ULP.rel },
      inputs: [f16(r, [7, 129])],
      params: { fn },
    });
  for (const fn of ['add', 'mul', 'max'] as const)
    cases.push({
      op: 'binary',
      label: `f16 ${fn} 5x64 · 64 (broadcast)`,
      needs: 'shader-f16',
      tolerance: F16_ULP,
      inputs: [f16(r, [5, 64]), f16(r, [64])],
      params: { fn },
    });
  // [A shape, B shape, params, bias, A is f32]
  const fixed: [number[], number[], OpCase<'matmul'>['params'], boolean, boolean][] = [
    [[128, 256], [256, 128], {}, false, false],
    [[256, 64], [64, 256], {}, false, false],
    [[100, 72], [72, 130], {}, false, false],
    [[96, 64], [80, 64], { transB: true }, false, false],
    [[40, 72], [40, 56], { transA: true }, false, false],
    [[130, 96], [96, 140], { activation: 'gelu' }, true, false],
    [[2, 64, 48], [48, 96], {}, false, false],
    [[33, 70], [70, 17], {}, false, false],
    [[3, 512], [256, 512], { transB: true }, false, false],
    [[1, 300], [300, 77], {}, false, false],
    [[256, 128], [192, 128], { transB: true }, true, true],
    [[70, 100], [100, 66], { activation: 'silu' }, false, true],
  ];
  for (const [sa, sb, params, bias, aIsF32] of fixed) {
    const n = params.transB ? (sb[sb.length - 2] as number) : (sb[sb.length - 1] as number);
    const k = params.transB ? (sb[sb.length - 1] as number) : (sb[sb.length - 2] as number);
    const inputs: Tensor[] = [aIsF32 ? f32(r, sa) : f16(r, sa), f16(r, sb)];
    if (bias) inputs.push(f32(r, [n]));
    cases.push({
      op: 'matmul',
      label: `f16 ${aIsF32 ? 'f32' : 'f16'}[${sa.join('x')}] · f16[${sb.join('x')}] ${JSON.stringify(params)}${bias ? ' +bias' : ''}`,
      needs: 'shader-f16',
      tolerance: aIsF32 ? mixedDotTolerance(k) : f16DotTolerance(k),
      inputs,
      params,
    });
  }
  return cases;
}

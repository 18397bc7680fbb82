/**
 * CPU matmul op: batched, broadcast batch axes, transposes, bias and a fused activation, on top
 * of the 2-D kernels in cpu.ts. Operands are read in place (one dense copy only if a view is
 * strided); broadcast batches index the shared operand rather than copying it, and bias plus
 * activation run on each batch's output rows while they are still in cache.
 */
import type { OpInputs, OpParams } from '../backend/ops';
import { broadcastShapes, sizeOf } from '../tensor/shape';
import { cpuTensor, cpuToDense, type Tensor } from '../tensor/tensor';
import { applyUnary } from '../unary/cpu';
import { matmulInto, matmulTransBInto, transposeInto } from './cpu';
import { wasmMatmul } from './wasm-simd';

export interface MatmulDims {
  batchShape: number[];
  m: number;
  k: number;
  n: number;
}

/** Checks shapes and returns the batch shape and M, K, N (after transposes). */
export function matmulDims(inputs: OpInputs<'matmul'>, p: OpParams<'matmul'>): MatmulDims {
  const [a, b, bias] = inputs;
  if (a.shape.length < 2 || b.shape.length < 2) throw new RangeError('matmul needs rank ≥ 2');
  const float = (d: string) => d === 'f32' || d === 'f16';
  if (!float(a.dtype) || !float(b.dtype)) throw new TypeError('matmul needs f32 or f16 operands');
  const [a0, a1] = a.shape.slice(-2) as [number, number];
  const [b0, b1] = b.shape.slice(-2) as [number, number];
  const [m, k] = p.transA ? [a1, a0] : [a0, a1];
  const [kb, n] = p.transB ? [b1, b0] : [b0, b1];
  if (k !== kb) {
    throw new RangeError(
      `matmul inner sizes differ: [${a.shape.join(', ')}] · [${b.shape.join(', ')}]`,
    );
  }
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== n))
    throw new RangeError('bias must be [N]');
  const batchShape = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  return { batchShape, m, k, n };
}

/**
 * For each batch of `out` (row-major over `out`), the batch of `src` it reads: size-1 or missing
 * leading axes of `src` repeat.
 */
export function sourceBatches(src: number[], out: number[]): Int32Array {
  const total = sizeOf(out);
  const map = new Int32Array(total);
  const lead = out.length - src.length;
  for (let o = 0; o < total; o++) {
    let rest = o;
    let at = 0;
    let stride = 1;
    for (let ax = out.length - 1; ax >= lead; ax--) {
      const size = out[ax] as number;
      const index = rest % size;
      rest = (rest - index) / size;
      const own = src[ax - lead] as number;
      if (own !== 1) at += index * stride;
      stride *= own;
    }
    map[o] = at;
  }
  return map;
}

/** Below this many rows, a transposed B is read in place (dot products) instead of re-laid out. */
const TRANS_B_IN_PLACE_ROWS = 8;
/** Below this many multiply-adds per batch, copying into WebAssembly memory costs more than it saves. */
const WASM_MIN_MACS = 4096;

let wasmAllowed = true;
/**
 * Turns the WebAssembly SIMD kernel off (or back on) for this realm: the benchmark times both,
 * and tests check the JS kernels' exact sums. Off, results equal `matmulCpuReference` bit for bit.
 */
export function allowWasmMatmul(on: boolean): void {
  wasmAllowed = on;
}

export function matmulOpCpu(inputs: OpInputs<'matmul'>, p: OpParams<'matmul'>): Tensor {
  const [a, b, bias] = inputs;
  const { batchShape, m, k, n } = matmulDims(inputs, p);
  const ad = cpuToDense(a) as Float32Array;
  const bd = cpuToDense(b) as Float32Array;
  const aMap = sourceBatches(a.shape.slice(0, -2), batchShape);
  const bMap = sourceBatches(b.shape.slice(0, -2), batchShape);
  const batches = aMap.length;
  const out = new Float32Array(batches * m * n);
  // Few rows times a transposed B: dot products over B in place beat any re-layout of B.
  const inPlaceTransB = p.transB === true && m < TRANS_B_IN_PLACE_ROWS;
  const wasm = wasmAllowed && !inPlaceTransB && m * k * n >= WASM_MIN_MACS ? wasmMatmul() : null;
  // Re-laid-out operands, one batch at a time (reused when consecutive batches share a source).
  const aRows = p.transA ? new Float32Array(m * k) : null;
  const bRows = p.transB && !inPlaceTransB && !wasm ? new Float32Array(k * n) : null;
  let aHeld = -1;
  let bHeld = -1;
  for (let i = 0; i < batches; i++) {
    const aBatch = aMap[i] as number;
    const bBatch = bMap[i] as number;
    let aSrc = ad;
    let aOff = aBatch * m * k;
    if (aRows) {
      if (aHeld !== aBatch) transposeInto(ad, aOff, k, m, aRows);
      aHeld = aBatch;
      aSrc = aRows;
      aOff = 0;
    }
    const cOff = i * m * n;
    if (wasm) {
      wasm.run(aSrc, aOff, bd, bBatch * k * n, p.transB === true, out, cOff, m, k, n);
    } else if (p.transB && !bRows) {
      matmulTransBInto(aSrc, aOff, bd, bBatch * n * k, out, cOff, m, k, n);
    } else if (bRows) {
      if (bHeld !== bBatch) transposeInto(bd, bBatch * n * k, n, k, bRows);
      bHeld = bBatch;
      matmulInto(aSrc, aOff, bRows, 0, out, cOff, m, k, n);
    } else {
      matmulInto(aSrc, aOff, bd, bBatch * k * n, out, cOff, m, k, n);
    }
  }
  const biasData = bias ? (cpuToDense(bias) as Float32Array) : null;
  const act = p.activation ?? 'none';
  if (biasData || act !== 'none') epilogue(out, n, biasData, act);
  return cpuTensor(out, [...batchShape, m, n]);
}

/** out[r, j] = act(out[r, j] + bias[j]), row by row so bias is indexed without a modulo. */
function epilogue(
  out: Float32Array,
  n: number,
  bias: Float32Array | null,
  act: NonNullable<OpParams<'matmul'>['activation']>,
): void {
  for (let row = 0; row < out.length; row += n) {
    for (let j = 0; j < n; j++) {
      const x = (out[row + j] as number) + (bias ? (bias[j] as number) : 0);
      out[row + j] = act === 'none' ? x : applyUnary(act, x);
    }
  }
}

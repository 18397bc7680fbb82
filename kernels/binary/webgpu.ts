/** WebGPU elementwise binary ops with broadcasting: both inputs read through stride maps. */
import type { BinaryFn, OpInputs, OpParams } from '../backend/ops';
import { broadcastShapes, broadcastStrides, sizeOf } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';
import { type GpuContext, runProgram } from '../webgpu/context';
import {
  dispatchFor,
  type KernelProgram,
  pipelineCacheKey,
  WGSL_GROUP_INDEX,
} from '../webgpu/program';
import { bufferOf, emptyGpu } from '../webgpu/tensor';
import { entry, stridedIndexFn } from '../webgpu/wgsl';

const WG = 256;

const EXPR: Record<BinaryFn, string> = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'a / b',
  max: 'max(a, b)',
  min: 'min(a, b)',
};

export function binaryProgram(
  a: Tensor,
  b: Tensor,
  fn: BinaryFn,
  maxPerDimension: number,
): KernelProgram {
  const shape = broadcastShapes(a.shape, b.shape);
  const rank = shape.length;
  const n = sizeOf(shape);
  // Two f16 inputs (needs shader-f16): read and written as f16, computed in f32.
  const t = a.dtype === 'f16' && b.dtype === 'f16' ? 'f16' : 'f32';
  const wgsl = `${t === 'f16' ? '\nenable f16;' : ''}
@group(0) @binding(0) var<storage, read> xa: array<${t}>;
@group(0) @binding(1) var<storage, read> xb: array<${t}>;
@group(0) @binding(2) var<storage, read_write> y: array<${t}>;
@group(0) @binding(3) var<storage, read> dims: array<u32>;
${stridedIndexFn('a', rank, 1, 1 + rank)}
${stridedIndexFn('b', rank, 1, 2 + 2 * rank)}
${entry([WG, 1, 1])}
  ${WGSL_GROUP_INDEX}
  let i = group * ${WG}u + lid;
  if (i >= dims[0]) { return; }
  let a = f32(xa[strided_a(i)]);
  let b = f32(xb[strided_b(i)]);
  y[i] = ${t}(${EXPR[fn]});
}`;
  return {
    name: `binary-${fn}`,
    workgroupSize: [WG, 1, 1],
    dispatch: dispatchFor(n, WG, maxPerDimension),
    cacheKey: pipelineCacheKey('binary', { fn, rank, t, wg: WG }),
    wgsl,
    meta: Uint32Array.from([
      n,
      ...shape,
      a.offset,
      ...broadcastStrides(a.shape, a.strides, shape),
      b.offset,
      ...broadcastStrides(b.shape, b.strides, shape),
    ]),
  };
}

export function binaryGpu(
  ctx: GpuContext,
  [a, b]: OpInputs<'binary'>,
  { fn }: OpParams<'binary'>,
): Tensor {
  const f16 = a.dtype === 'f16' && b.dtype === 'f16';
  const out = emptyGpu(ctx, f16 ? 'f16' : 'f32', broadcastShapes(a.shape, b.shape));
  const program = binaryProgram(a, b, fn, ctx.caps.limits.maxComputeWorkgroupsPerDimension);
  runProgram(ctx, program, [bufferOf(ctx, a), bufferOf(ctx, b), bufferOf(ctx, out)]);
  return out;
}

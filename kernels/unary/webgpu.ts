/** WebGPU pointwise functions over any view (strided input, dense output). */
import type { OpInputs, OpParams } from '../backend/ops';
import { sizeOf } from '../tensor/shape';
import type { Tensor } from '../tensor/tensor';
import { type GpuContext, runProgram } from '../webgpu/context';
import {
  dispatchFor,
  type KernelProgram,
  pipelineCacheKey,
  WGSL_GROUP_INDEX,
} from '../webgpu/program';
import { bufferOf, emptyGpu } from '../webgpu/tensor';
import { activationExpr, entry, stridedIndexFn, WGSL_ACTIVATIONS } from '../webgpu/wgsl';

const WG = 256;

export function unaryProgram(
  x: Tensor,
  fn: OpParams<'unary'>['fn'],
  maxPerDimension: number,
): KernelProgram {
  const rank = x.shape.length;
  const n = sizeOf(x.shape);
  // f16 (needs shader-f16): read and written as f16, computed in f32.
  const t = x.dtype === 'f16' ? 'f16' : 'f32';
  const wgsl = `${t === 'f16' ? '\nenable f16;' : ''}
@group(0) @binding(0) var<storage, read> x: array<${t}>;
@group(0) @binding(1) var<storage, read_write> y: array<${t}>;
@group(0) @binding(2) var<storage, read> dims: array<u32>;
${WGSL_ACTIVATIONS}
${stridedIndexFn('x', rank, 1, 1 + rank)}
${entry([WG, 1, 1])}
  ${WGSL_GROUP_INDEX}
  let i = group * ${WG}u + lid;
  if (i >= dims[0]) { return; }
  let v = f32(x[strided_x(i)]);
  y[i] = ${t}(${activationExpr(fn, 'v')});
}`;
  return {
    name: `unary-${fn}`,
    workgroupSize: [WG, 1, 1],
    dispatch: dispatchFor(n, WG, maxPerDimension),
    cacheKey: pipelineCacheKey('unary', { fn, rank, t, wg: WG }),
    wgsl,
    meta: Uint32Array.from([n, ...x.shape, x.offset, ...x.strides]),
  };
}

export function unaryGpu(
  ctx: GpuContext,
  [x]: OpInputs<'unary'>,
  { fn }: OpParams<'unary'>,
): Tensor {
  const out = emptyGpu(ctx, x.dtype === 'f16' ? 'f16' : 'f32', x.shape);
  const program = unaryProgram(x, fn, ctx.caps.limits.maxComputeWorkgroupsPerDimension);
  runProgram(ctx, program, [bufferOf(ctx, x), bufferOf(ctx, out)]);
  return out;
}

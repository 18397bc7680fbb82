/**
 * WebGPU strided copy: reads any view (transpose, permute, slice, broadcast) and writes it into
 * another view. `contiguous` writes a dense tensor; `concat` writes each input into a slice of
 * its output. Elements are copied as 32-bit words, so it serves every 4-byte dtype.
 */
import type { OpInputs } from '../backend/ops';
import { type Shape, sizeOf } from '../tensor/shape';
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

export interface StridedView {
  offset: number;
  strides: readonly number[];
}

export function stridedCopyProgram(
  shape: Shape,
  src: StridedView,
  dst: StridedView,
  maxPerDimension: number,
): KernelProgram {
  const rank = shape.length;
  const n = sizeOf(shape);
  const wgsl = `
@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
@group(0) @binding(2) var<storage, read> dims: array<u32>;
${stridedIndexFn('src', rank, 1, 1 + rank)}
${stridedIndexFn('dst', rank, 1, 2 + 2 * rank)}
${entry([WG, 1, 1])}
  ${WGSL_GROUP_INDEX}
  let i = group * ${WG}u + lid;
  if (i >= dims[0]) { return; }
  dst[strided_dst(i)] = src[strided_src(i)];
}`;
  return {
    name: 'strided-copy',
    workgroupSize: [WG, 1, 1],
    dispatch: dispatchFor(n, WG, maxPerDimension),
    cacheKey: pipelineCacheKey('strided-copy', { rank, wg: WG }),
    wgsl,
    meta: Uint32Array.from([n, ...shape, src.offset, ...src.strides, dst.offset, ...dst.strides]),
  };
}

/** Encodes a copy of view `x` into the view `dst` (same shape) of `dstBuffer`. */
export function copyInto(ctx: GpuContext, x: Tensor, dstBuffer: GPUBuffer, dst: StridedView): void {
  const program = stridedCopyProgram(
    x.shape,
    x,
    dst,
    ctx.caps.limits.maxComputeWorkgroupsPerDimension,
  );
  runProgram(ctx, program, [bufferOf(ctx, x), dstBuffer]);
}

export function contiguousGpu(ctx: GpuContext, [x]: OpInputs<'contiguous'>): Tensor {
  const out = emptyGpu(ctx, x.dtype, x.shape);
  copyInto(ctx, x, bufferOf(ctx, out), out);
  return out;
}

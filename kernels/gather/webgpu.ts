/**
 * WebGPU embedding gather: one thread per output element. An out-of-range id cannot throw on
 * the GPU; it yields a zero row (the CPU reference throws RangeError).
 */
import type { OpInputs } from '../backend/ops';
import { numel, type Tensor } from '../tensor/tensor';
import { type GpuContext, runProgram } from '../webgpu/context';
import {
  dispatchFor,
  type KernelProgram,
  pipelineCacheKey,
  WGSL_GROUP_INDEX,
} from '../webgpu/program';
import { bufferOf, emptyGpu } from '../webgpu/tensor';
import { entry } from '../webgpu/wgsl';

const WG = 256;

export function gatherProgram(
  count: number,
  vocab: number,
  dim: number,
  maxPerDimension: number,
): KernelProgram {
  const wgsl = `
@group(0) @binding(0) var<storage, read> table: array<f32>;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> dims: array<u32>;
${entry([WG, 1, 1])}
  ${WGSL_GROUP_INDEX}
  let i = group * ${WG}u + lid;
  let dim = dims[1];
  if (i >= dims[0] * dim) { return; }
  let id = ids[i / dim];
  if (id < 0 || u32(id) >= dims[2]) { y[i] = 0.0; return; }
  y[i] = table[u32(id) * dim + i % dim];
}`;
  return {
    name: 'gather',
    workgroupSize: [WG, 1, 1],
    dispatch: dispatchFor(count * dim, WG, maxPerDimension),
    cacheKey: pipelineCacheKey('gather', { wg: WG }),
    wgsl,
    meta: Uint32Array.from([count, dim, vocab]),
  };
}

/** Inputs must be dense (the backend makes them so). */
export function gatherGpu(ctx: GpuContext, [table, ids]: OpInputs<'gather'>): Tensor {
  if (ids.dtype !== 'i32' || table.shape.length !== 2)
    throw new TypeError('gather needs a [V, D] table and i32 ids');
  const [vocab, dim] = table.shape as [number, number];
  const out = emptyGpu(ctx, 'f32', [...ids.shape, dim]);
  const program = gatherProgram(
    numel(ids),
    vocab,
    dim,
    ctx.caps.limits.maxComputeWorkgroupsPerDimension,
  );
  runProgram(ctx, program, [bufferOf(ctx, table), bufferOf(ctx, ids), bufferOf(ctx, out)]);
  return out;
}

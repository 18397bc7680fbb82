/** WebGPU softmax over the last axis: one workgroup per row, max-subtracted, three passes in registers/L1. */
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
import { entry, rowWorkgroupSize, wgslReductions } from '../webgpu/wgsl';

export function softmaxProgram(rows: number, cols: number, maxPerDimension: number): KernelProgram {
  const wg = rowWorkgroupSize(cols);
  const wgsl = `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> dims: array<u32>;
${wgslReductions(wg)}
${entry([wg, 1, 1])}
  ${WGSL_GROUP_INDEX}
  let rows = dims[0];
  let cols = dims[1];
  if (group >= rows) { return; }
  let base = group * cols;
  var m = -3.4e38;
  for (var c = lid; c < cols; c += ${wg}u) { m = max(m, x[base + c]); }
  m = reduce_max(m, lid);
  var s = 0.0;
  for (var c = lid; c < cols; c += ${wg}u) { s += exp(x[base + c] - m); }
  s = reduce_sum(s, lid);
  let inv = 1.0 / s;
  for (var c = lid; c < cols; c += ${wg}u) { y[base + c] = exp(x[base + c] - m) * inv; }
}`;
  return {
    name: 'softmax',
    workgroupSize: [wg, 1, 1],
    dispatch: dispatchFor(rows, 1, maxPerDimension),
    cacheKey: pipelineCacheKey('softmax', { wg }),
    wgsl,
    meta: Uint32Array.from([rows, cols]),
  };
}

/** `x` must be dense (the backend makes it so). */
export function softmaxGpu(ctx: GpuContext, [x]: OpInputs<'softmax'>): Tensor {
  const cols = x.shape[x.shape.length - 1] ?? 1;
  const rows = cols === 0 ? 0 : numel(x) / cols;
  const out = emptyGpu(ctx, 'f32', x.shape);
  const program = softmaxProgram(rows, cols, ctx.caps.limits.maxComputeWorkgroupsPerDimension);
  runProgram(ctx, program, [bufferOf(ctx, x), bufferOf(ctx, out)]);
  return out;
}

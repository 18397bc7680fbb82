/** WebGPU RMSNorm over the last axis: one workgroup per row. */
import type { OpInputs, OpParams } from '../backend/ops';
import { numel, type Tensor } from '../tensor/tensor';
import { type GpuContext, runProgram } from '../webgpu/context';
import {
  dispatchFor,
  f32Bits,
  type KernelProgram,
  pipelineCacheKey,
  WGSL_GROUP_INDEX,
} from '../webgpu/program';
import { bufferOf, emptyGpu } from '../webgpu/tensor';
import { entry, rowWorkgroupSize, wgslReductions } from '../webgpu/wgsl';

export function rmsNormProgram(
  rows: number,
  cols: number,
  eps: number,
  maxPerDimension: number,
): KernelProgram {
  const wg = rowWorkgroupSize(cols);
  const wgsl = `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> dims: array<u32>;
${wgslReductions(wg)}
${entry([wg, 1, 1])}
  ${WGSL_GROUP_INDEX}
  let rows = dims[0];
  let cols = dims[1];
  let eps = bitcast<f32>(dims[2]);
  if (group >= rows) { return; }
  let base = group * cols;
  var s = 0.0;
  for (var c = lid; c < cols; c += ${wg}u) { let v = x[base + c]; s += v * v; }
  let inv = inverseSqrt(reduce_sum(s, lid) / f32(cols) + eps);
  for (var c = lid; c < cols; c += ${wg}u) { y[base + c] = x[base + c] * inv * gamma[c]; }
}`;
  return {
    name: 'rms-norm',
    workgroupSize: [wg, 1, 1],
    dispatch: dispatchFor(rows, 1, maxPerDimension),
    cacheKey: pipelineCacheKey('rms-norm', { wg }),
    wgsl,
    meta: Uint32Array.from([rows, cols, f32Bits(eps)]),
  };
}

/** Inputs must be dense (the backend makes them so). */
export function rmsNormGpu(
  ctx: GpuContext,
  [x, g]: OpInputs<'rmsNorm'>,
  { eps }: OpParams<'rmsNorm'>,
): Tensor {
  const cols = x.shape[x.shape.length - 1] ?? 1;
  if (numel(g) !== cols) throw new RangeError('gamma must match last axis');
  const out = emptyGpu(ctx, 'f32', x.shape);
  const program = rmsNormProgram(
    numel(x) / cols,
    cols,
    eps,
    ctx.caps.limits.maxComputeWorkgroupsPerDimension,
  );
  runProgram(ctx, program, [bufferOf(ctx, x), bufferOf(ctx, g), bufferOf(ctx, out)]);
  return out;
}

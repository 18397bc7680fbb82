/** WebGPU LayerNorm over the last axis: one workgroup per row, two-pass mean/variance. */
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

export function layerNormProgram(
  rows: number,
  cols: number,
  eps: number,
  maxPerDimension: number,
): KernelProgram {
  const wg = rowWorkgroupSize(cols);
  const wgsl = `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> beta: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read> dims: array<u32>;
${wgslReductions(wg)}
${entry([wg, 1, 1])}
  ${WGSL_GROUP_INDEX}
  let rows = dims[0];
  let cols = dims[1];
  let eps = bitcast<f32>(dims[2]);
  if (group >= rows) { return; }
  let base = group * cols;
  var s = 0.0;
  for (var c = lid; c < cols; c += ${wg}u) { s += x[base + c]; }
  let mean = reduce_sum(s, lid) / f32(cols);
  var v = 0.0;
  for (var c = lid; c < cols; c += ${wg}u) { let d = x[base + c] - mean; v += d * d; }
  let inv = inverseSqrt(reduce_sum(v, lid) / f32(cols) + eps);
  for (var c = lid; c < cols; c += ${wg}u) { y[base + c] = (x[base + c] - mean) * inv * gamma[c] + beta[c]; }
}`;
  return {
    name: 'layer-norm',
    workgroupSize: [wg, 1, 1],
    dispatch: dispatchFor(rows, 1, maxPerDimension),
    cacheKey: pipelineCacheKey('layer-norm', { wg }),
    wgsl,
    meta: Uint32Array.from([rows, cols, f32Bits(eps)]),
  };
}

/** Inputs must be dense (the backend makes them so). */
export function layerNormGpu(
  ctx: GpuContext,
  [x, g, b]: OpInputs<'layerNorm'>,
  { eps }: OpParams<'layerNorm'>,
): Tensor {
  const cols = x.shape[x.shape.length - 1] ?? 1;
  if (numel(g) !== cols || numel(b) !== cols)
    throw new RangeError('gamma/beta must match last axis');
  const out = emptyGpu(ctx, 'f32', x.shape);
  const program = layerNormProgram(
    numel(x) / cols,
    cols,
    eps,
    ctx.caps.limits.maxComputeWorkgroupsPerDimension,
  );
  runProgram(ctx, program, [
    bufferOf(ctx, x),
    bufferOf(ctx, g),
    bufferOf(ctx, b),
    bufferOf(ctx, out),
  ]);
  return out;
}

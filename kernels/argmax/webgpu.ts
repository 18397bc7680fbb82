/** WebGPU argmax over the last axis (greedy decoding): one workgroup per row, first index on ties. */
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
import { entry, rowWorkgroupSize } from '../webgpu/wgsl';

export function argmaxProgram(rows: number, cols: number, maxPerDimension: number): KernelProgram {
  const wg = rowWorkgroupSize(cols);
  const wgsl = `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<i32>;
@group(0) @binding(2) var<storage, read> dims: array<u32>;
var<workgroup> best_v: array<f32, ${wg}>;
var<workgroup> best_i: array<u32, ${wg}>;
${entry([wg, 1, 1])}
  ${WGSL_GROUP_INDEX}
  let rows = dims[0];
  let cols = dims[1];
  if (group >= rows) { return; }
  let base = group * cols;
  var bv = -3.4e38;
  var bi = 0xffffffffu;
  for (var c = lid; c < cols; c += ${wg}u) {
    let v = x[base + c];
    if (bi == 0xffffffffu || v > bv) { bv = v; bi = c; }
  }
  best_v[lid] = bv;
  best_i[lid] = bi;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let ov = best_v[lid + s];
      let oi = best_i[lid + s];
      let mine = best_i[lid];
      if (oi != 0xffffffffu && (mine == 0xffffffffu || ov > best_v[lid] || (ov == best_v[lid] && oi < mine))) {
        best_v[lid] = ov;
        best_i[lid] = oi;
      }
    }
    workgroupBarrier();
  }
  if (lid == 0u) { y[group] = i32(best_i[0]); }
}`;
  return {
    name: 'argmax',
    workgroupSize: [wg, 1, 1],
    dispatch: dispatchFor(rows, 1, maxPerDimension),
    cacheKey: pipelineCacheKey('argmax', { wg }),
    wgsl,
    meta: Uint32Array.from([rows, cols]),
  };
}

/** `x` must be dense (the backend makes it so). */
export function argmaxGpu(ctx: GpuContext, [x]: OpInputs<'argmax'>): Tensor {
  const cols = x.shape[x.shape.length - 1] ?? 1;
  const out = emptyGpu(ctx, 'i32', x.shape.slice(0, -1));
  const program = argmaxProgram(
    numel(x) / cols,
    cols,
    ctx.caps.limits.maxComputeWorkgroupsPerDimension,
  );
  runProgram(ctx, program, [bufferOf(ctx, x), bufferOf(ctx, out)]);
  return out;
}

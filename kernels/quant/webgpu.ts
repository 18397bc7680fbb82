/**
 * WebGPU `qmatmul`, `quantizeRows` and `dequantizeRows`. qmatmul takes the GEMV program for
 * decode shapes (x with ≤ 4 rows) and the tiled one otherwise; the weights stay packed.
 */
import type { OpInputs, OpParams } from '../backend/ops';
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
import { qmatmulDims } from './cpu';
import { MAX_GEMV_ROWS, qgemvProgram } from './gemv';
import { rowWords } from './rows';
import { qtiledProgram } from './tiled';

/** The program qmatmul runs for x with `m` rows. */
export function qmatmulProgram(p: OpParams<'qmatmul'>, m: number, bias: boolean): KernelProgram {
  return m <= MAX_GEMV_ROWS ? qgemvProgram(p, m, bias) : qtiledProgram(p, m, bias);
}

/** Inputs must be dense (the backend ensures it). */
export function qmatmulGpu(
  ctx: GpuContext,
  inputs: OpInputs<'qmatmul'>,
  p: OpParams<'qmatmul'>,
): Tensor {
  const m = qmatmulDims(inputs, p);
  const [x, packed, params, bias] = inputs;
  const out = emptyGpu(ctx, 'f32', [...x.shape.slice(0, -1), p.n]);
  if (numel(out) === 0) return out;
  const buffers = [bufferOf(ctx, x), bufferOf(ctx, packed), bufferOf(ctx, params)];
  if (bias) buffers.push(bufferOf(ctx, bias));
  buffers.push(bufferOf(ctx, out));
  runProgram(ctx, qmatmulProgram(p, m, bias !== undefined), buffers);
  return out;
}

const WG = 64;

/** One thread per row: absmax, then the codes word by word. */
function quantizeRowsProgram(
  rows: number,
  cols: number,
  bits: 8 | 4,
  maxDim: number,
): KernelProgram {
  const zp = 1 << (bits - 1);
  const perWord = 32 / bits;
  const words = rowWords(cols, bits);
  const wgsl = `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<storage, read> dims: array<u32>;
${entry([WG, 1, 1])}
  ${WGSL_GROUP_INDEX}
  let r = group * ${WG}u + lid;
  if (r >= dims[0]) { return; }
  var amax = 0.0;
  for (var i = 0u; i < ${cols}u; i++) { amax = max(amax, abs(x[r * ${cols}u + i])); }
  let s = amax / ${zp - 1}.0;
  out[r * ${words}u] = bitcast<u32>(s);
  for (var w = 0u; w < ${words - 1}u; w++) {
    var word = 0u;
    for (var j = 0u; j < ${perWord}u; j++) {
      let v = x[r * ${cols}u + w * ${perWord}u + j];
      var u = ${zp}u;
      if (s > 0.0) { u = u32(clamp(floor(v / s + 0.5) + ${zp}.0, 1.0, ${2 * zp - 1}.0)); }
      word |= u << (${bits}u * j);
    }
    out[r * ${words}u + 1u + w] = word;
  }
}`;
  return {
    name: 'quantize-rows',
    workgroupSize: [WG, 1, 1],
    dispatch: dispatchFor(rows, WG, maxDim),
    cacheKey: pipelineCacheKey('quantize-rows', { bits, cols }),
    wgsl,
    meta: Uint32Array.from([rows]),
  };
}

/** One thread per output value. */
function dequantizeRowsProgram(
  total: number,
  cols: number,
  bits: 8 | 4,
  maxDim: number,
): KernelProgram {
  const zp = 1 << (bits - 1);
  const perWord = 32 / bits;
  const words = rowWords(cols, bits);
  const wgsl = `
@group(0) @binding(0) var<storage, read> q: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> dims: array<u32>;
${entry([256, 1, 1])}
  ${WGSL_GROUP_INDEX}
  let i = group * 256u + lid;
  if (i >= dims[0]) { return; }
  let r = i / ${cols}u;
  let c = i % ${cols}u;
  let s = bitcast<f32>(q[r * ${words}u]);
  let word = q[r * ${words}u + 1u + c / ${perWord}u];
  let u = (word >> (${bits}u * (c % ${perWord}u))) & ${(1 << bits) - 1}u;
  out[i] = s * f32(i32(u) - ${zp});
}`;
  return {
    name: 'dequantize-rows',
    workgroupSize: [256, 1, 1],
    dispatch: dispatchFor(total, 256, maxDim),
    cacheKey: pipelineCacheKey('dequantize-rows', { bits, cols }),
    wgsl,
    meta: Uint32Array.from([total]),
  };
}

export function quantizeRowsGpu(
  ctx: GpuContext,
  inputs: OpInputs<'quantizeRows'>,
  p: OpParams<'quantizeRows'>,
): Tensor {
  const [x] = inputs;
  const cols = x.shape[x.shape.length - 1] as number;
  const rows = numel(x) / cols;
  const out = emptyGpu(ctx, 'i32', [...x.shape.slice(0, -1), rowWords(cols, p.bits)]);
  if (rows === 0) return out;
  const maxDim = ctx.caps.limits.maxComputeWorkgroupsPerDimension;
  runProgram(ctx, quantizeRowsProgram(rows, cols, p.bits, maxDim), [
    bufferOf(ctx, x),
    bufferOf(ctx, out),
  ]);
  return out;
}

export function dequantizeRowsGpu(
  ctx: GpuContext,
  inputs: OpInputs<'dequantizeRows'>,
  p: OpParams<'dequantizeRows'>,
): Tensor {
  const [q] = inputs;
  const out = emptyGpu(ctx, 'f32', [...q.shape.slice(0, -1), p.cols]);
  const total = numel(out);
  if (total === 0) return out;
  const maxDim = ctx.caps.limits.maxComputeWorkgroupsPerDimension;
  runProgram(ctx, dequantizeRowsProgram(total, p.cols, p.bits, maxDim), [
    bufferOf(ctx, q),
    bufferOf(ctx, out),
  ]);
  return out;
}

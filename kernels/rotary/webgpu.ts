/**
 * WebGPU rotary embeddings: one thread per rotated pair; the non-rotating tail is copied.
 * cos/sin come from a table computed on the host in double precision (after the 6 header words
 * of `meta`): WGSL's sin/cos only promise 2^-11 absolute error, which a 1e-4 parity budget cannot
 * absorb, and the table is small (seq × rotaryDim/2 pairs).
 */
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
import { entry } from '../webgpu/wgsl';
import { rotaryDims } from './cpu';

const WG = 256;

export function rotaryProgram(
  rows: number,
  seq: number,
  dim: number,
  rot: number,
  p: OpParams<'rotary'>,
  maxPerDimension: number,
): KernelProgram {
  const interleaved = p.interleaved ?? false;
  // Each thread handles slot j of a row: j < rot/2 rotates a pair, the rest copy the tail.
  const slots = rot / 2 + (dim - rot);
  const wgsl = `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> dims: array<u32>;
${entry([WG, 1, 1])}
  ${WGSL_GROUP_INDEX}
  let t = group * ${WG}u + lid;
  let rows = dims[0]; let seq = dims[1]; let dim = dims[2]; let rot = dims[3]; let offset = dims[4];
  let slots = rot / 2u + (dim - rot);
  if (t >= rows * slots) { return; }
  let row = t / slots;
  let j = t % slots;
  let base = row * dim;
  let half = rot / 2u;
  if (j >= half) { let c = rot + (j - half); y[base + c] = x[base + c]; return; }
  let at = 6u + ((row % seq) * half + j) * 2u;
  let c = bitcast<f32>(dims[at]);
  let s = bitcast<f32>(dims[at + 1u]);
  let i1 = base + ${interleaved ? '2u * j' : 'j'};
  let i2 = i1 + ${interleaved ? '1u' : 'half'};
  let x1 = x[i1];
  let x2 = x[i2];
  y[i1] = x1 * c - x2 * s;
  y[i2] = x2 * c + x1 * s;
}`;
  return {
    name: 'rotary',
    workgroupSize: [WG, 1, 1],
    dispatch: dispatchFor(rows * slots, WG, maxPerDimension),
    cacheKey: pipelineCacheKey('rotary', { interleaved, wg: WG }),
    wgsl,
    meta: rotaryMeta(rows, seq, dim, rot, p),
  };
}

/** Header words, then (cos, sin) as f32 bits for each position of the call and each pair. */
function rotaryMeta(rows: number, seq: number, dim: number, rot: number, p: OpParams<'rotary'>) {
  const half = rot / 2;
  const meta = new Uint32Array(6 + seq * half * 2);
  meta.set([rows, seq, dim, rot, p.positionOffset, f32Bits(p.theta)]);
  const table = new Float32Array(meta.buffer, 6 * 4);
  for (let s = 0; s < seq; s++) {
    const pos = p.positionOffset + s;
    for (let i = 0; i < half; i++) {
      const angle = pos * p.theta ** ((-2 * i) / rot);
      table[(s * half + i) * 2] = Math.cos(angle);
      table[(s * half + i) * 2 + 1] = Math.sin(angle);
    }
  }
  return meta;
}

/** `x` must be dense (the backend makes it so). */
export function rotaryGpu(ctx: GpuContext, [x]: OpInputs<'rotary'>, p: OpParams<'rotary'>): Tensor {
  const [seq, dim, rot] = rotaryDims(x, p);
  const out = emptyGpu(ctx, 'f32', x.shape);
  const program = rotaryProgram(
    numel(x) / dim,
    seq,
    dim,
    rot,
    p,
    ctx.caps.limits.maxComputeWorkgroupsPerDimension,
  );
  runProgram(ctx, program, [bufferOf(ctx, x), bufferOf(ctx, out)]);
  return out;
}

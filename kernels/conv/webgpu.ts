/**
 * WebGPU direct convolution (NCHW, conv1d as height 1): one thread per output element. Patch
 * embeddings (stride = kernel) read every input once; a matmul-based im2col path would win
 * for large channel counts and is left for when a model needs it.
 */
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
import { entry } from '../webgpu/wgsl';
import { type ConvDims, convDims } from './cpu';

const WG = 256;

/** Conv dims as 2-D: [H, W, KH, KW, SH, SW, PH, PW, OH, OW]. */
function as2d(d: ConvDims): number[] {
  if (d.size.length === 2) return [...d.size, ...d.kernel, ...d.stride, ...d.padding, ...d.outSize];
  return [
    1,
    d.size[0],
    1,
    d.kernel[0],
    1,
    d.stride[0],
    0,
    d.padding[0],
    1,
    d.outSize[0],
  ] as number[];
}

export function convProgram(d: ConvDims, hasBias: boolean, maxPerDimension: number): KernelProgram {
  const n = d.batch * d.cout * sizeOf(d.outSize);
  const wgsl = `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
${hasBias ? '@group(0) @binding(2) var<storage, read> bias: array<f32>;' : ''}
@group(0) @binding(${hasBias ? 3 : 2}) var<storage, read_write> y: array<f32>;
@group(0) @binding(${hasBias ? 4 : 3}) var<storage, read> dims: array<u32>;
${entry([WG, 1, 1])}
  ${WGSL_GROUP_INDEX}
  let t = group * ${WG}u + lid;
  if (t >= dims[0]) { return; }
  let cin = dims[1]; let cout = dims[2];
  let H = i32(dims[3]); let W = i32(dims[4]); let KH = dims[5]; let KW = dims[6];
  let SH = i32(dims[7]); let SW = i32(dims[8]); let PH = i32(dims[9]); let PW = i32(dims[10]);
  let OH = dims[11]; let OW = dims[12];
  let ox = t % OW; let oy = (t / OW) % OH; let co = (t / (OW * OH)) % cout; let b = t / (OW * OH * cout);
  var acc = ${hasBias ? 'bias[co]' : '0.0'};
  for (var ci = 0u; ci < cin; ci++) {
    for (var ky = 0u; ky < KH; ky++) {
      let iy = i32(oy) * SH - PH + i32(ky);
      if (iy < 0 || iy >= H) { continue; }
      for (var kx = 0u; kx < KW; kx++) {
        let ix = i32(ox) * SW - PW + i32(kx);
        if (ix < 0 || ix >= W) { continue; }
        acc = fma(x[((b * cin + ci) * u32(H) + u32(iy)) * u32(W) + u32(ix)], w[((co * cin + ci) * KH + ky) * KW + kx], acc);
      }
    }
  }
  y[t] = acc;
}`;
  return {
    name: 'conv',
    workgroupSize: [WG, 1, 1],
    dispatch: dispatchFor(n, WG, maxPerDimension),
    cacheKey: pipelineCacheKey('conv', { bias: hasBias, wg: WG }),
    wgsl,
    meta: Uint32Array.from([n, d.cin, d.cout, ...as2d(d)]),
  };
}

function convGpu(
  ctx: GpuContext,
  inputs: OpInputs<'conv2d'>,
  p: OpParams<'conv2d'>,
  spatial: 1 | 2,
): Tensor {
  const [x, w, bias] = inputs;
  const d = convDims(x, w, bias, p, spatial);
  const out = emptyGpu(ctx, 'f32', [d.batch, d.cout, ...d.outSize]);
  const buffers = [bufferOf(ctx, x), bufferOf(ctx, w)];
  if (bias) buffers.push(bufferOf(ctx, bias));
  buffers.push(bufferOf(ctx, out));
  runProgram(
    ctx,
    convProgram(d, bias !== undefined, ctx.caps.limits.maxComputeWorkgroupsPerDimension),
    buffers,
  );
  return out;
}

/** Inputs must be dense (the backend makes them so). */
export const conv1dGpu = (
  ctx: GpuContext,
  inputs: OpInputs<'conv1d'>,
  p: OpParams<'conv1d'>,
): Tensor => convGpu(ctx, inputs, p, 1);
export const conv2dGpu = (
  ctx: GpuContext,
  inputs: OpInputs<'conv2d'>,
  p: OpParams<'conv2d'>,
): Tensor => convGpu(ctx, inputs, p, 2);

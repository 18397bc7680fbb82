/** WebGPU `cast` between f32 and f16 (needs `shader-f16`; WGSL's f16() rounds to nearest even). */
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

const WG = 256;

export function castProgram(
  from: 'f32' | 'f16',
  to: 'f32' | 'f16',
  n: number,
  maxPerDimension: number,
): KernelProgram {
  const wgsl = `
enable f16;
@group(0) @binding(0) var<storage, read> x: array<${from}>;
@group(0) @binding(1) var<storage, read_write> y: array<${to}>;
@group(0) @binding(2) var<storage, read> dims: array<u32>;
${entry([WG, 1, 1])}
  ${WGSL_GROUP_INDEX}
  let i = group * ${WG}u + lid;
  if (i >= dims[0]) { return; }
  y[i] = ${to}(x[i]);
}`;
  return {
    name: `cast-${from}-${to}`,
    workgroupSize: [WG, 1, 1],
    dispatch: dispatchFor(n, WG, maxPerDimension),
    cacheKey: pipelineCacheKey('cast', { from, to, wg: WG }),
    wgsl,
    meta: Uint32Array.of(n),
  };
}

/** Dense input (the backend makes it so). */
export function castGpu(
  ctx: GpuContext,
  [x]: OpInputs<'cast'>,
  { dtype }: OpParams<'cast'>,
): Tensor {
  if (x.dtype !== 'f32' && x.dtype !== 'f16')
    throw new TypeError(`cast needs f32 or f16, not ${x.dtype}`);
  const out = emptyGpu(ctx, dtype, x.shape);
  const n = sizeOf(x.shape);
  runProgram(
    ctx,
    castProgram(x.dtype, dtype, n, ctx.caps.limits.maxComputeWorkgroupsPerDimension),
    [bufferOf(ctx, x), bufferOf(ctx, out)],
  );
  return out;
}

/**
 * WebGPU matmul: C[b] = act(op(A[b]) · op(B[b]) + bias), batched, with either operand shared
 * across the batch (batch stride 0). Three programs, picked by `chooseMatmulStrategy`: `simple`
 * (one thread per output), `gemv` (split-K for decode steps; gemv.ts) and `tiled`
 * (workgroup-memory tiles, register blocking, vec4 loads; tiled.ts).
 */
import type { OpInputs, OpParams } from '../backend/ops';
import { sizeOf } from '../tensor/shape';
import { numel, type Tensor } from '../tensor/tensor';
import { type GpuContext, runProgram } from '../webgpu/context';
import { type KernelProgram, pipelineCacheKey } from '../webgpu/program';
import { bufferOf, emptyGpu } from '../webgpu/tensor';
import { entry } from '../webgpu/wgsl';
import {
  epilogueWgsl,
  type MatmulConfig,
  matmulBindings,
  matmulMeta,
  operandIndexWgsl,
  operandType,
} from './common';
import { gemvProgram } from './gemv';
import { matmulDims } from './op-cpu';
import { chooseMatmulStrategy, type MatmulShape, type MatmulStrategy } from './strategy';
import { subgroupMatrixProgram } from './subgroup-matrix';
import { tiledMatmulProgram } from './tiled';

export function simpleMatmulProgram(c: MatmulConfig): KernelProgram {
  const wg = [16, 16, 1] as const;
  const wgsl = `
${matmulBindings(c, operandType(c.aType, false), operandType(c.bType, false))}
${operandIndexWgsl(c)}
${epilogueWgsl(c)}
${entry(wg)}
  let m = dims[0]; let k = dims[1]; let n = dims[2];
  let row = gid.y; let col = gid.x; let batch = gid.z;
  if (row >= m || col >= n) { return; }
  let aBase = batch * dims[3];
  let bBase = batch * dims[4];
  var acc = 0.0;
  for (var p = 0u; p < k; p++) { acc = fma(a[a_index(aBase, row, p)], b[b_index(bBase, p, col)], acc); }
  store((batch * m + row) * n + col, col, acc);
}`;
  return {
    name: 'matmul-simple',
    workgroupSize: wg,
    dispatch: [Math.ceil(c.n / 16), Math.ceil(c.m / 16), c.batch],
    cacheKey: pipelineCacheKey('matmul-simple', {
      act: c.activation,
      aType: c.aType ?? 'f32',
      bType: c.bType ?? 'f32',
      bias: c.bias,
      transA: c.transA,
      transB: c.transB,
    }),
    wgsl,
    meta: matmulMeta(c),
  };
}

export function matmulProgram(c: MatmulConfig, strategy: MatmulStrategy): KernelProgram {
  switch (strategy.kind) {
    case 'simple':
      return simpleMatmulProgram(c);
    case 'gemv':
      return gemvProgram(c);
    case 'tiled':
      return tiledMatmulProgram(c, strategy);
    case 'subgroup-matrix':
      return subgroupMatrixProgram(c, strategy);
  }
}

/**
 * The batch stride of an operand whose batch axes either match the output's or are all 1;
 * null when it needs a broadcast copy first (the backend does it).
 */
export function batchStride(t: Tensor, batchShape: readonly number[]): number | null {
  const own = t.shape.slice(0, -2);
  const rows = t.shape[t.shape.length - 2] as number;
  const cols = t.shape[t.shape.length - 1] as number;
  if (sizeOf(own) === 1) return 0;
  const lead = batchShape.length - own.length;
  const same =
    own.every((d, i) => d === batchShape[lead + i]) && sizeOf(batchShape.slice(0, lead)) === 1;
  return same ? rows * cols : null;
}

/** Inputs must be dense, with batch axes equal to the output's or all 1 (the backend ensures it). */
export function matmulGpu(
  ctx: GpuContext,
  inputs: OpInputs<'matmul'>,
  p: OpParams<'matmul'>,
  onChoice?: (shape: MatmulShape, strategy: MatmulStrategy) => void,
): Tensor {
  const [a, b, bias] = inputs;
  const { batchShape, m, k, n } = matmulDims(inputs, p);
  const aStride = batchStride(a, batchShape);
  const bStride = batchStride(b, batchShape);
  if (aStride === null || bStride === null)
    throw new RangeError('matmul batch axes need a broadcast copy');
  const config: MatmulConfig = {
    batch: sizeOf(batchShape),
    m,
    k,
    n,
    transA: p.transA ?? false,
    transB: p.transB ?? false,
    aBatchStride: aStride,
    bBatchStride: bStride,
    bias: bias !== undefined,
    activation: p.activation ?? 'none',
    aType: a.dtype === 'f16' ? 'f16' : 'f32',
    bType: b.dtype === 'f16' ? 'f16' : 'f32',
  };
  const out = emptyGpu(ctx, 'f32', [...batchShape, m, n]);
  if (numel(out) === 0) return out;
  const strategy = chooseMatmulStrategy(config, ctx.caps);
  onChoice?.(config, strategy);
  const buffers = [bufferOf(ctx, a), bufferOf(ctx, b)];
  if (bias) buffers.push(bufferOf(ctx, bias));
  buffers.push(bufferOf(ctx, out));
  runProgram(ctx, matmulProgram(config, strategy), buffers);
  return out;
}

/**
 * Quantized matmul for prefill (x has more than 4 rows): 64×64 output tiles, 256 threads with
 * 4×4 outputs each, K in steps of one 32-code chunk. Each step stages x's 64×32 tile and the
 * weights' 64×32 tile in workgroup memory, dequantizing the weights as they are staged (each
 * thread decodes 8 codes), so the packed weights are all the GPU ever holds. A thread's outputs
 * are 16 apart in both directions, so its workgroup-memory reads are broadcast or consecutive.
 */
import type { QMatmulParams } from '../backend/ops';
import { type KernelProgram, pipelineCacheKey } from '../webgpu/program';
import { entry } from '../webgpu/wgsl';
import { formatName } from './format';
import {
  blockParamsWgsl,
  chunkWordsWgsl,
  codesVec4,
  qmatmulBindings,
  qmatmulEpilogue,
} from './wgsl';

const TILE = 64;

export function qtiledProgram(p: QMatmulParams, m: number, bias: boolean): KernelProgram {
  const f = p.format;
  // Thread t decodes codes 8q..8q+7 (q = t % 4) of weight row t / 4: vec4s 2q and 2q + 1.
  const decode = [0, 1, 2, 3]
    .map(
      (q) =>
        `    if (q == ${q}u) { lo = ${codesVec4(f.bits, 2 * q)}; hi = ${codesVec4(f.bits, 2 * q + 1)}; }`,
    )
    .join('\n');
  const wgsl = `
${qmatmulBindings(p, bias, 'vec4<f32>')}
${blockParamsWgsl(f)}
${qmatmulEpilogue(p, bias)}
var<workgroup> xs: array<f32, ${32 * TILE}>;
var<workgroup> ws: array<f32, ${32 * TILE}>;
${entry([256, 1, 1])}
  let m = dims[0]; let k = dims[1]; let n = dims[2];
  let k4 = k / 4u;
  let chunks = k / 32u;
  let blocksPerRow = k / ${f.groupSize}u;
  let tx = lid % 16u;
  let ty = lid / 16u;
  let row0 = wid.y * ${TILE}u;
  let col0 = wid.x * ${TILE}u;
  // Staging roles: tile row lr (x row, or weight row = output column), part q of the chunk.
  let lr = lid / 4u;
  let q = lid % 4u;
  var acc: array<f32, 16>;
  for (var c = 0u; c < chunks; c++) {
    let xr = row0 + lr;
    var xa = vec4<f32>(0.0);
    var xb = vec4<f32>(0.0);
    if (xr < m) { xa = x[xr * k4 + c * 8u + 2u * q]; xb = x[xr * k4 + c * 8u + 2u * q + 1u]; }
    let wr = min(col0 + lr, n - 1u);
    ${chunkWordsWgsl(f.bits, 'wr * chunks + c')}
    var lo = vec4<f32>(0.0);
    var hi = vec4<f32>(0.0);
${decode}
    let sm = block_sm(wr * blocksPerRow + c / ${f.groupSize / 32}u);
    lo = sm.x * lo + sm.y;
    hi = sm.x * hi + sm.y;
    workgroupBarrier();
    for (var j = 0u; j < 4u; j++) {
      xs[(8u * q + j) * ${TILE}u + lr] = xa[j];
      xs[(8u * q + 4u + j) * ${TILE}u + lr] = xb[j];
      ws[(8u * q + j) * ${TILE}u + lr] = lo[j];
      ws[(8u * q + 4u + j) * ${TILE}u + lr] = hi[j];
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 32u; kk++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        a[i] = xs[kk * ${TILE}u + ty + 16u * i];
        b[i] = ws[kk * ${TILE}u + tx + 16u * i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i * 4u + j] = fma(a[i], b[j], acc[i * 4u + j]); }
      }
    }
  }
  for (var i = 0u; i < 4u; i++) {
    let row = row0 + ty + 16u * i;
    for (var j = 0u; j < 4u; j++) {
      let col = col0 + tx + 16u * j;
      if (row < m && col < n) { store(row * n + col, col, acc[i * 4u + j]); }
    }
  }
}`;
  return {
    name: 'qmatmul-tiled',
    workgroupSize: [256, 1, 1],
    dispatch: [Math.ceil(p.n / TILE), Math.ceil(m / TILE), 1],
    cacheKey: pipelineCacheKey('qmatmul-tiled', {
      act: p.activation ?? 'none',
      bias,
      format: formatName(f).replaceAll(':', '-'),
    }),
    wgsl,
    meta: Uint32Array.from([m, p.k, p.n]),
  };
}

/**
 * Matrix-vector program for decode steps (M ≤ 4 rows of A per batch): the work is reading B
 * once, so threads split K and reduce in workgroup memory instead of one thread walking all of
 * K per output. B stored [K, N]: 16 columns × 16 K-slices per workgroup (64-byte row segments,
 * whole 32-byte sectors; N/16 workgroups keep a big GPU busy). B stored [N, K] (a Linear weight, `transB`): 8 columns per workgroup, 32 threads striding
 * K per column (vec4 when K is a multiple of 4).
 */
import { type KernelProgram, pipelineCacheKey } from '../webgpu/program';
import { entry } from '../webgpu/wgsl';
import {
  epilogueWgsl,
  type MatmulConfig,
  matmulBindings,
  matmulMeta,
  operandIndexWgsl,
  operandType,
} from './common';

const WG = 256;

export function gemvProgram(c: MatmulConfig): KernelProgram {
  const vec4 = c.transB && c.k % 4 === 0;
  const body = c.transB
    ? `
  let lane = lid % 32u;
  let col = wid.x * 8u + lid / 32u;
  var acc = 0.0;
  if (col < n) {
${
  vec4
    ? `    let bRow = (bBase + col * k) / 4u;
    for (var p = lane; p < k / 4u; p += 32u) {
      let w = vec4<f32>(b[bRow + p]);
      let a0 = a_index(aBase, row, p * 4u);
      acc += f32(a[a0]) * w.x + f32(a[a_index(aBase, row, p * 4u + 1u)]) * w.y + f32(a[a_index(aBase, row, p * 4u + 2u)]) * w.z + f32(a[a_index(aBase, row, p * 4u + 3u)]) * w.w;
    }`
    : `    for (var p = lane; p < k; p += 32u) { acc = fma(f32(a[a_index(aBase, row, p)]), f32(b[b_index(bBase, p, col)]), acc); }`
}
  }
  red[lid] = acc;
  workgroupBarrier();
  for (var s = 16u; s > 0u; s >>= 1u) {
    if (lane < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  if (lane == 0u && col < n) { store((batch * m + row) * n + col, col, red[lid]); }`
    : `
  let tx = lid % 16u;
  let ty = lid / 16u;
  let col = wid.x * 16u + tx;
  var acc = 0.0;
  if (col < n) {
    for (var p = ty; p < k; p += 16u) { acc = fma(f32(a[a_index(aBase, row, p)]), f32(b[b_index(bBase, p, col)]), acc); }
  }
  red[lid] = acc;
  workgroupBarrier();
  for (var s = 8u; s > 0u; s >>= 1u) {
    if (ty < s) { red[lid] += red[lid + s * 16u]; }
    workgroupBarrier();
  }
  if (ty == 0u && col < n) { store((batch * m + row) * n + col, col, red[tx]); }`;
  const wgsl = `
${matmulBindings(c, operandType(c.aType, false), operandType(c.bType, vec4))}
${operandIndexWgsl(c)}
${epilogueWgsl(c)}
var<workgroup> red: array<f32, ${WG}>;
${entry([WG, 1, 1])}
  let m = dims[0]; let k = dims[1]; let n = dims[2];
  let row = wid.y;
  let batch = wid.z;
  let aBase = batch * dims[3];
  let bBase = batch * dims[4];
${body}
}`;
  return {
    name: 'matmul-gemv',
    workgroupSize: [WG, 1, 1],
    dispatch: [Math.ceil(c.n / (c.transB ? 8 : 16)), c.m, c.batch],
    cacheKey: pipelineCacheKey('matmul-gemv', {
      act: c.activation,
      aType: c.aType ?? 'f32',
      bType: c.bType ?? 'f32',
      bias: c.bias,
      transA: c.transA,
      transB: c.transB,
      vec4,
    }),
    wgsl,
    meta: matmulMeta(c),
  };
}

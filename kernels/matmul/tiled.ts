/**
 * Tiled matmul: each workgroup computes a bm×bn output tile, stepping K by bk. Both operand
 * tiles are staged in workgroup memory k-major (As[k][m], Bs[k][n]) so the inner loop reads
 * tm + tn values and does tm·tn FMAs from registers (register blocking). A thread owns rows
 * ty + i·wy and columns tx + j·wx (strided, not a block): neighbouring threads then read
 * neighbouring Bs words (no bank conflicts) and write neighbouring outputs (coalesced). Global loads are
 * vec4 along an operand's contiguous axis when that axis is a multiple of 4; edges are
 * zero-filled, so any M, N, K works.
 */
import { type KernelProgram, pipelineCacheKey } from '../webgpu/program';
import { entry } from '../webgpu/wgsl';
import type { MatmulStrategy } from './strategy';
import { epilogueWgsl, type MatmulConfig, matmulBindings, matmulMeta } from './common';

type Tiled = Extract<MatmulStrategy, { kind: 'tiled' }>;

/**
 * WGSL that loads one operand tile into `shared` laid out [k][x] (width w = bm or bn).
 * `kMajor`: storage is [K, X] (rows are k); otherwise [X, K]. `size` is X's meta expression.
 */
function loadTileWgsl(
  fnName: string,
  buf: string,
  shared: string,
  w: number,
  bk: number,
  kMajor: boolean,
  vec4: boolean,
  size: string,
  threads: number,
): string {
  // Storage tile: rows × cols with cols along the contiguous axis.
  const rows = kMajor ? bk : w;
  const cols = kMajor ? w : bk;
  const per = vec4 ? 4 : 1;
  const chunksPerRow = cols / per;
  const kOf = kMajor ? 'r' : 'cc';
  const xOf = kMajor ? 'cc' : 'r';
  const index = kMajor ? `gk * ${size} + gx` : `gx * dims[1] + gk`;
  const stores = vec4
    ? [0, 1, 2, 3]
        .map((j) =>
          kMajor
            ? `${shared}[r * ${w}u + cc + ${j}u] = v[${j}];`
            : `${shared}[(cc + ${j}u) * ${w}u + r] = v[${j}];`,
        )
        .join(' ')
    : kMajor
      ? `${shared}[r * ${w}u + cc] = v;`
      : `${shared}[cc * ${w}u + r] = v;`;
  return `
fn ${fnName}(base: u32, k0: u32, x0: u32, lid: u32) {
  for (var c = lid; c < ${rows * chunksPerRow}u; c += ${threads}u) {
    let r = c / ${chunksPerRow}u;
    let cc = (c % ${chunksPerRow}u) * ${per}u;
    let gk = k0 + ${kOf};
    let gx = x0 + ${xOf};
    var v = ${vec4 ? 'vec4<f32>(0.0)' : '0.0'};
    if (gk < dims[1] && gx < ${size}) { v = ${buf}[${vec4 ? `(base + ${index}) / 4u` : `base + ${index}`}]; }
    ${stores}
  }
}`;
}

export function tiledMatmulProgram(c: MatmulConfig, s: Tiled): KernelProgram {
  const wx = s.bn / s.tn;
  const wy = s.bm / s.tm;
  const threads = wx * wy;
  const aType = s.vec4A ? 'vec4<f32>' : 'f32';
  const bType = s.vec4B ? 'vec4<f32>' : 'f32';
  const wgsl = `
${matmulBindings(c, aType, bType)}
${epilogueWgsl(c)}
var<workgroup> As: array<f32, ${s.bk * s.bm}>;
var<workgroup> Bs: array<f32, ${s.bk * s.bn}>;
${loadTileWgsl('load_a', 'a', 'As', s.bm, s.bk, c.transA, s.vec4A, 'dims[0]', threads)}
${loadTileWgsl('load_b', 'b', 'Bs', s.bn, s.bk, !c.transB, s.vec4B, 'dims[2]', threads)}
${entry([threads, 1, 1])}
  let m = dims[0]; let k = dims[1]; let n = dims[2];
  let batch = wid.z;
  let aBase = batch * dims[3];
  let bBase = batch * dims[4];
  let row0 = wid.y * ${s.bm}u;
  let col0 = wid.x * ${s.bn}u;
  let tx = lid % ${wx}u;
  let ty = lid / ${wx}u;
  var acc: array<f32, ${s.tm * s.tn}>;
  var ra: array<f32, ${s.tm}>;
  var rb: array<f32, ${s.tn}>;
  for (var k0 = 0u; k0 < k; k0 += ${s.bk}u) {
    load_a(aBase, k0, row0, lid);
    load_b(bBase, k0, col0, lid);
    workgroupBarrier();
    for (var kk = 0u; kk < ${s.bk}u; kk++) {
      for (var i = 0u; i < ${s.tm}u; i++) { ra[i] = As[kk * ${s.bm}u + ty + i * ${wy}u]; }
      for (var j = 0u; j < ${s.tn}u; j++) { rb[j] = Bs[kk * ${s.bn}u + tx + j * ${wx}u]; }
      for (var i = 0u; i < ${s.tm}u; i++) {
        for (var j = 0u; j < ${s.tn}u; j++) { acc[i * ${s.tn}u + j] = fma(ra[i], rb[j], acc[i * ${s.tn}u + j]); }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < ${s.tm}u; i++) {
    let row = row0 + ty + i * ${wy}u;
    if (row >= m) { continue; }
    for (var j = 0u; j < ${s.tn}u; j++) {
      let col = col0 + tx + j * ${wx}u;
      if (col < n) { store((batch * m + row) * n + col, col, acc[i * ${s.tn}u + j]); }
    }
  }
}`;
  return {
    name: 'matmul-tiled',
    workgroupSize: [threads, 1, 1],
    dispatch: [Math.ceil(c.n / s.bn), Math.ceil(c.m / s.bm), c.batch],
    cacheKey: pipelineCacheKey('matmul-tiled', {
      act: c.activation,
      bias: c.bias,
      bk: s.bk,
      bm: s.bm,
      bn: s.bn,
      tm: s.tm,
      tn: s.tn,
      transA: c.transA,
      transB: c.transB,
      vec4A: s.vec4A,
      vec4B: s.vec4B,
    }),
    wgsl,
    meta: matmulMeta(c),
  };
}

/**
 * Tiled matmul: each workgroup computes a bm×bn output tile, stepping K by bk. Both operand
 * tiles are staged in workgroup memory k-major as vec4 (As[k][m/4], Bs[k][n/4]), so per k the
 * inner loop reads tm/4 + tn/4 vec4s and does tm·tn FMAs from registers (register blocking).
 * A thread owns 4-wide row and column groups strided by the thread grid (rows 4·(ty + i·wy),
 * columns 4·(tx + j·wx)): neighbouring threads read neighbouring vec4s of Bs (no bank
 * conflicts) and write neighbouring outputs (coalesced). Global loads are vec4 along an
 * operand's contiguous axis when that axis is a multiple of 4; edges are zero-filled, so any
 * M, N, K works. Needs tm and tn multiples of 4.
 */
import { type KernelProgram, pipelineCacheKey } from '../webgpu/program';
import { entry } from '../webgpu/wgsl';
import { epilogueWgsl, type MatmulConfig, matmulBindings, matmulMeta } from './common';
import type { MatmulStrategy } from './strategy';

type Tiled = Extract<MatmulStrategy, { kind: 'tiled' }>;

/**
 * WGSL that loads one operand tile into `shared` (vec4s, flat layout [k][x], width w = bm or
 * bn). `kMajor`: storage is [K, X] (rows are k); otherwise [X, K]. `size` is X's dims entry.
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
  const scalarStore = (flat: string, value: string) =>
    `{ let f = ${flat}; ${shared}[f / 4u][f % 4u] = ${value}; }`;
  let stores: string;
  if (vec4 && kMajor) stores = `${shared}[(r * ${w}u + cc) / 4u] = v;`;
  else if (vec4)
    stores = [0, 1, 2, 3].map((j) => scalarStore(`(cc + ${j}u) * ${w}u + r`, `v[${j}]`)).join(' ');
  else stores = scalarStore(kMajor ? `r * ${w}u + cc` : `cc * ${w}u + r`, 'v');
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
  if (s.tm % 4 !== 0 || s.tn % 4 !== 0)
    throw new RangeError('tiled matmul needs tm, tn multiples of 4');
  const wx = s.bn / s.tn;
  const wy = s.bm / s.tm;
  const threads = wx * wy;
  const gm = s.tm / 4;
  const gn = s.tn / 4;
  // Register loops are unrolled here, in JS: every private-array index is then a constant,
  // so drivers keep acc/ra/rb in registers (dynamic indexing pushes them to local memory).
  const inner: string[] = [];
  for (let i = 0; i < gm; i++)
    inner.push(`      ra[${i}] = As[kk * ${s.bm / 4}u + ty + ${i * wy}u];`);
  for (let j = 0; j < gn; j++)
    inner.push(`      rb[${j}] = Bs[kk * ${s.bn / 4}u + tx + ${j * wx}u];`);
  for (let i = 0; i < gm; i++)
    for (let ii = 0; ii < 4; ii++)
      for (let j = 0; j < gn; j++) {
        const at = (i * 4 + ii) * gn + j;
        inner.push(`      acc[${at}] = fma(vec4<f32>(ra[${i}][${ii}]), rb[${j}], acc[${at}]);`);
      }
  const innerWgsl = inner.join('\n');
  const epilogue: string[] = [];
  for (let i = 0; i < gm; i++)
    for (let ii = 0; ii < 4; ii++) {
      epilogue.push(`  { let row = row0 + (ty + ${i * wy}u) * 4u + ${ii}u; if (row < m) {`);
      for (let j = 0; j < gn; j++) {
        epilogue.push(
          `    { let col = col0 + (tx + ${j * wx}u) * 4u; let v = acc[${(i * 4 + ii) * gn + j}];`,
        );
        for (let jj = 0; jj < 4; jj++) {
          epilogue.push(
            `      if (col + ${jj}u < n) { store((batch * m + row) * n + col + ${jj}u, col + ${jj}u, v[${jj}]); }`,
          );
        }
        epilogue.push('    }');
      }
      epilogue.push('  } }');
    }
  const epilogueBody = epilogue.join('\n');
  const aType = s.vec4A ? 'vec4<f32>' : 'f32';
  const bType = s.vec4B ? 'vec4<f32>' : 'f32';
  const wgsl = `
${matmulBindings(c, aType, bType)}
${epilogueWgsl(c)}
var<workgroup> As: array<vec4<f32>, ${(s.bk * s.bm) / 4}>;
var<workgroup> Bs: array<vec4<f32>, ${(s.bk * s.bn) / 4}>;
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
  var acc: array<vec4<f32>, ${s.tm * gn}>;
  var ra: array<vec4<f32>, ${gm}>;
  var rb: array<vec4<f32>, ${gn}>;
  for (var k0 = 0u; k0 < k; k0 += ${s.bk}u) {
    load_a(aBase, k0, row0, lid);
    load_b(bBase, k0, col0, lid);
    workgroupBarrier();
    for (var kk = 0u; kk < ${s.bk}u; kk++) {
${innerWgsl}
    }
    workgroupBarrier();
  }
${epilogueBody}
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

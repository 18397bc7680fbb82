/**
 * Tiled matmul: each workgroup computes a bm×bn output tile, stepping K by bk.
 *
 * - Both operand tiles live in workgroup memory k-major as vec4 (As[k][m/4], Bs[k][n/4]), so
 *   per k a thread reads tm/4 + tn/4 vec4s and does tm·tn FMAs from registers (register
 *   blocking). A thread owns 4-wide row and column groups strided by the thread grid (rows
 *   4·(ty + i·wy), columns 4·(tx + j·wx)): neighbouring threads read neighbouring vec4s of Bs
 *   and write neighbouring outputs (coalesced).
 * - Global loads are vec4 along an operand's contiguous axis when that axis is a multiple of 4.
 *   An operand stored with K contiguous (A as [M, K]; B as [N, K], the Linear-weight layout,
 *   `transB`) is transposed on its way into workgroup memory; the vec4 columns of each k row
 *   are XOR-swizzled by k so that those scattered stores hit 32 different banks.
 * - Register prefetch: the next K tile is loaded from global memory into registers before the
 *   current one is multiplied, and stored to workgroup memory after; with `buffers: 2` the
 *   shared tiles are double-buffered and one barrier per K step suffices.
 * - `aligned` names the dims that are exact multiples of their tile ('m', 'n', 'k'). Those
 *   need no checks; M and N edges otherwise clamp their loads (rows past the edge are computed
 *   and never stored) and check the epilogue, and a K edge zero-fills only the last K tile.
 *   Each combination is its own WGSL (and pipeline-cache key); sizes stay in `meta`.
 *
 * Needs tm, tn multiples of 4 and bk a multiple of 4.
 */
import { type KernelProgram, pipelineCacheKey } from '../webgpu/program';
import { entry } from '../webgpu/wgsl';
import { epilogueWgsl, type MatmulConfig, matmulBindings, matmulMeta, operandType } from './common';
import type { MatmulStrategy } from './strategy';

type Tiled = Extract<MatmulStrategy, { kind: 'tiled' }>;

interface Operand {
  /** Storage buffer name and the shared tile's name. */
  buf: string;
  shared: string;
  /** Tile width along X (bm for A, bn for B). */
  w: number;
  /** Storage is [K, X] (rows are k); otherwise [X, K]. */
  kMajor: boolean;
  vec4: boolean;
  /** WGSL names of X's size and of the operand's batch base. */
  size: string;
  base: string;
  /** X's first index of this workgroup's tile. */
  x0: string;
  /** X is a multiple of the tile: no clamp needed. */
  xAligned: boolean;
  /** Prefix of this operand's prefetch registers. */
  reg: string;
}

function buildTiledProgram(c: MatmulConfig, s: Tiled): KernelProgram {
  if (s.tm % 4 !== 0 || s.tn % 4 !== 0 || s.bk % 4 !== 0 || s.bk > 32)
    throw new RangeError('tiled matmul needs tm, tn, bk multiples of 4 and bk ≤ 32');
  const aligned = s.aligned ?? '';
  const buffers = s.buffers ?? 1;
  const unroll = s.unroll ?? true;
  const wx = s.bn / s.tn;
  const wy = s.bm / s.tm;
  const threads = wx * wy;
  const gm = s.tm / 4;
  const gn = s.tn / 4;
  const alignK = aligned.includes('k');
  // Swizzle the vec4 columns of k row kk by ((kk/4)·32/bk): needs rows of a multiple of 8 vec4s.
  const swizzle = s.bm % 32 === 0 && s.bn % 32 === 0;
  const gStep = 32 / s.bk;
  const gConst = (kk: number) => (swizzle ? (kk >> 2) * gStep : 0);
  const gExpr = (kk: string) => (swizzle ? `(((${kk}) >> 2u) * ${gStep}u)` : '0u');
  const tileA = (s.bk * s.bm) / 4;
  const tileB = (s.bk * s.bn) / 4;

  const A: Operand = {
    buf: 'a',
    shared: 'As',
    w: s.bm,
    kMajor: c.transA,
    vec4: s.vec4A,
    size: 'm',
    base: 'aBase',
    x0: 'row0',
    xAligned: aligned.includes('m'),
    reg: 'pa',
  };
  const B: Operand = {
    buf: 'b',
    shared: 'Bs',
    w: s.bn,
    kMajor: !c.transB,
    vec4: s.vec4B,
    size: 'n',
    base: 'bBase',
    x0: 'col0',
    xAligned: aligned.includes('n'),
    reg: 'pb',
  };

  /** Loads per thread and their (k, x) within the tile: chunk index c = lid + i·threads. */
  const plan = (o: Operand) => {
    const per = o.vec4 ? 4 : 1;
    const rows = o.kMajor ? s.bk : o.w;
    const cols = o.kMajor ? o.w : s.bk;
    const chunks = (rows * cols) / per;
    return { per, cpr: cols / per, chunks, count: Math.ceil(chunks / threads) };
  };

  const regDecls = (o: Operand) => {
    const p = plan(o);
    const t = o.vec4 ? 'vec4<f32>' : 'f32';
    return Array.from({ length: p.count }, (_, i) => `  var ${o.reg}${i}: ${t};`).join('\n');
  };

  /** WGSL: global → registers for K tile starting at `k0`; `checkK` zero-fills past K. */
  const fetch = (o: Operand, k0: string, checkK: boolean): string => {
    const p = plan(o);
    const out: string[] = [];
    for (let i = 0; i < p.count; i++) {
      const guard = (i + 1) * threads > p.chunks;
      const c = `(lid + ${i * threads}u)`;
      const r = `(${c} / ${p.cpr}u)`;
      const cc = `((${c} % ${p.cpr}u) * ${p.per}u)`;
      const kOf = o.kMajor ? r : cc;
      const xOf = o.kMajor ? cc : r;
      const last = o.vec4 && o.kMajor ? `${o.size} - 4u` : `${o.size} - 1u`;
      const gx = o.xAligned ? `${o.x0} + ${xOf}` : `min(${o.x0} + ${xOf}, ${last})`;
      const gk = `${k0} + ${kOf}`;
      const index = o.kMajor ? `gk * ${o.size} + gx` : `gx * k + gk`;
      // f16 storage is widened on load: the shared tiles and the sums stay f32.
      const load = `${o.vec4 ? 'vec4<f32>' : 'f32'}(${o.buf}[${o.vec4 ? `(${o.base} + ${index}) / 4u` : `${o.base} + ${index}`}])`;
      const zero = o.vec4 ? 'vec4<f32>(0.0)' : '0.0';
      const body = checkK
        ? `let gk = ${gk}; let gx = ${gx}; ${o.reg}${i} = ${zero}; if (gk < k) { ${o.reg}${i} = ${load}; }`
        : `let gk = ${gk}; let gx = ${gx}; ${o.reg}${i} = ${load};`;
      out.push(guard ? `    if (${c} < ${p.chunks}u) { ${body} }` : `    { ${body} }`);
    }
    return out.join('\n');
  };

  /** WGSL: registers → shared tile at vec4 offset `at`, transposing when X is not contiguous. */
  const store = (o: Operand, at: string): string => {
    const p = plan(o);
    const sv = o.w / 4;
    const slot = (kk: string, x: string) =>
      `${o.shared}[${at} + (${kk}) * ${sv}u + (((${x}) / 4u) ^ ${gExpr(kk)})]`;
    const out: string[] = [];
    for (let i = 0; i < p.count; i++) {
      const guard = (i + 1) * threads > p.chunks;
      const c = `(lid + ${i * threads}u)`;
      const r = `(${c} / ${p.cpr}u)`;
      const cc = `((${c} % ${p.cpr}u) * ${p.per}u)`;
      const v = `${o.reg}${i}`;
      let body: string;
      if (o.kMajor && o.vec4) body = `${slot(r, cc)} = ${v};`;
      else if (o.kMajor) body = `{ let x = ${cc}; ${slot(r, 'x')}[x % 4u] = ${v}; }`;
      else if (o.vec4)
        body = `{ let x = ${r}; let kk = ${cc}; ${[0, 1, 2, 3]
          .map((j) => `${slot(`kk + ${j}u`, 'x')}[x % 4u] = ${v}[${j}];`)
          .join(' ')} }`;
      else body = `{ let x = ${r}; ${slot(cc, 'x')}[x % 4u] = ${v}; }`;
      out.push(guard ? `    if (${c} < ${p.chunks}u) ${body}` : `    ${body}`);
    }
    return out.join('\n');
  };

  /** WGSL: the register-blocked product of one K tile read from shared offsets `atA`, `atB`. */
  const compute = (atA: string, atB: string): string => {
    const step = (kk: string, g: string) => {
      const lines: string[] = [];
      for (let i = 0; i < gm; i++)
        lines.push(
          `      ra[${i}] = As[${atA} + ${kk} * ${s.bm / 4}u + ((ty + ${i * wy}u) ^ ${g})];`,
        );
      for (let j = 0; j < gn; j++)
        lines.push(
          `      rb[${j}] = Bs[${atB} + ${kk} * ${s.bn / 4}u + ((tx + ${j * wx}u) ^ ${g})];`,
        );
      for (let i = 0; i < gm; i++)
        for (let ii = 0; ii < 4; ii++)
          for (let j = 0; j < gn; j++) {
            const acc = (i * 4 + ii) * gn + j;
            lines.push(
              `      acc[${acc}] = fma(vec4<f32>(ra[${i}][${ii}]), rb[${j}], acc[${acc}]);`,
            );
          }
      return lines.join('\n');
    };
    if (unroll) {
      const out: string[] = [];
      for (let kk = 0; kk < s.bk; kk++)
        out.push(`    {\n${step(`${kk}u`, `${gConst(kk)}u`)}\n    }`);
      return out.join('\n');
    }
    return `    for (var kk = 0u; kk < ${s.bk}u; kk++) {\n      let g = ${gExpr('kk')};\n${step('kk', 'g')}\n    }`;
  };

  // Fetch the tile at `k0`: unchecked unless K has an edge and this may be the last tile.
  const fetchBoth = (k0: string, lastTile: string) => {
    const unchecked = `${fetch(A, k0, false)}\n${fetch(B, k0, false)}`;
    if (alignK) return unchecked;
    const checked = `${fetch(A, k0, true)}\n${fetch(B, k0, true)}`;
    return `    if (${lastTile}) {\n${checked}\n    } else {\n${unchecked}\n    }`;
  };
  const storeBoth = (buf: string) =>
    `${store(A, buf === '0' ? '0u' : `${buf} * ${tileA}u`)}\n${store(B, buf === '0' ? '0u' : `${buf} * ${tileB}u`)}`;

  const loop =
    buffers === 2
      ? `
  for (var t = 0u; t < nt; t++) {
    let cur = t & 1u;
    let more = t + 1u < nt;
    if (more) {
      let k0 = (t + 1u) * ${s.bk}u;
${fetchBoth('k0', 't + 2u >= nt')}
    }
${compute(`cur * ${tileA}u`, `cur * ${tileB}u`)}
    if (more) {
      let nxt = cur ^ 1u;
${storeBoth('nxt')}
    }
    workgroupBarrier();
  }`
      : `
  for (var t = 0u; t < nt; t++) {
    let more = t + 1u < nt;
    if (more) {
      let k0 = (t + 1u) * ${s.bk}u;
${fetchBoth('k0', 't + 2u >= nt')}
    }
${compute('0u', '0u')}
    workgroupBarrier();
    if (more) {
${storeBoth('0')}
    }
    workgroupBarrier();
  }`;

  // Epilogue: vec4 stores when N is aligned (then N is a multiple of 4), else per element.
  const alignM = aligned.includes('m');
  const alignN = aligned.includes('n');
  const epilogue: string[] = [];
  for (let i = 0; i < gm; i++)
    for (let ii = 0; ii < 4; ii++) {
      const rowCheck = alignM ? '' : ' if (row < m)';
      epilogue.push(`  { let row = row0 + (ty + ${i * wy}u) * 4u + ${ii}u;${rowCheck} {`);
      for (let j = 0; j < gn; j++) {
        const acc = `acc[${(i * 4 + ii) * gn + j}]`;
        epilogue.push(`    { let col = col0 + (tx + ${j * wx}u) * 4u; let v = ${acc};`);
        if (alignN) {
          epilogue.push('      store4((batch * m + row) * n + col, col, v);');
        } else {
          for (let jj = 0; jj < 4; jj++)
            epilogue.push(
              `      if (col + ${jj}u < n) { store((batch * m + row) * n + col + ${jj}u, col + ${jj}u, v[${jj}]); }`,
            );
        }
        epilogue.push('    }');
      }
      epilogue.push('  } }');
    }

  const aType = operandType(c.aType, s.vec4A);
  const bType = operandType(c.bType, s.vec4B);
  const outType = alignN ? 'vec4<f32>' : 'f32';
  const wgsl = `
${matmulBindings(c, aType, bType, outType)}
${epilogueWgsl(c, alignN)}
var<workgroup> As: array<vec4<f32>, ${tileA * buffers}>;
var<workgroup> Bs: array<vec4<f32>, ${tileB * buffers}>;
${entry([threads, 1, 1])}
  let m = dims[0]; let k = dims[1]; let n = dims[2];
  let batch = wid.z;
  let aBase = batch * dims[3];
  let bBase = batch * dims[4];
  let row0 = wid.y * ${s.bm}u;
  let col0 = wid.x * ${s.bn}u;
  let tx = lid % ${wx}u;
  let ty = lid / ${wx}u;
  let nt = (k + ${s.bk - 1}u) / ${s.bk}u;
  var acc: array<vec4<f32>, ${s.tm * gn}>;
  var ra: array<vec4<f32>, ${gm}>;
  var rb: array<vec4<f32>, ${gn}>;
${regDecls(A)}
${regDecls(B)}
  {
    let k0 = 0u;
${fetchBoth('k0', 'nt == 1u')}
${storeBoth('0')}
  }
  workgroupBarrier();
${loop}
${epilogue.join('\n')}
}`;
  return {
    name: 'matmul-tiled',
    workgroupSize: [threads, 1, 1],
    dispatch: [Math.ceil(c.n / s.bn), Math.ceil(c.m / s.bm), c.batch],
    cacheKey: tiledKey(c, s),
    wgsl,
    meta: matmulMeta(c),
  };
}

/** Every parameter baked into the tiled WGSL (sizes live in `meta`). */
function tiledKey(c: MatmulConfig, s: Tiled): string {
  return pipelineCacheKey('matmul-tiled', {
    act: c.activation,
    aType: c.aType ?? 'f32',
    bType: c.bType ?? 'f32',
    aligned: s.aligned || '-',
    bias: c.bias,
    bk: s.bk,
    bm: s.bm,
    bn: s.bn,
    buffers: s.buffers ?? 1,
    tm: s.tm,
    tn: s.tn,
    transA: c.transA,
    transB: c.transB,
    unroll: s.unroll ?? true,
    vec4A: s.vec4A,
    vec4B: s.vec4B,
  });
}

/**
 * WGSL by cache key: the unrolled program is ~100 KB of text, and building it on every call
 * cost ~0.3 ms of encode time per matmul (measured on the H200 run); a key is cheap.
 */
const WGSL_BY_KEY = new Map<string, string>();

export function tiledMatmulProgram(c: MatmulConfig, s: Tiled): KernelProgram {
  const key = tiledKey(c, s);
  const wgsl = WGSL_BY_KEY.get(key);
  if (wgsl === undefined) {
    const program = buildTiledProgram(c, s);
    WGSL_BY_KEY.set(key, program.wgsl);
    return program;
  }
  const wx = s.bn / s.tn;
  const threads = wx * (s.bm / s.tm);
  return {
    name: 'matmul-tiled',
    workgroupSize: [threads, 1, 1],
    dispatch: [Math.ceil(c.n / s.bn), Math.ceil(c.m / s.bm), c.batch],
    cacheKey: key,
    wgsl,
    meta: matmulMeta(c),
  };
}

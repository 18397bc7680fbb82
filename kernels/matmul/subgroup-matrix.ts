/**
 * f16 matmul on tensor cores through `chromium-experimental-subgroup-matrix`: f16 operands
 * (an f32 operand beside an f16 one is rounded to f16 as it is staged), f32 sums, f32 output.
 *
 * - Each workgroup computes a bm×bn output tile with sr×sc subgroups; each subgroup owns
 *   tm×tn result matrices of the adapter's cm×cn shape (several per subgroup, so each left
 *   matrix loaded from workgroup memory feeds tn multiply-accumulates and each right one tm).
 * - Operand tiles are staged in workgroup memory in their global layout (no transposes): A as
 *   [bm][bk] (or [bk][bm] with `transA`, read column-major), B as [bk][bn] (or [bn][bk] with
 *   `transB`, the Linear-weight layout, read column-major). Rows are padded by 8 halves so
 *   that consecutive rows start in different banks and every row stays 16-byte aligned.
 * - Global loads are vec4<f16> along the contiguous axis when it is a multiple of 4; the next
 *   K tile is fetched into registers while the current one is multiplied, and with
 *   `buffers: 2` the shared tiles alternate (one barrier per K step).
 * - Edges: rows/columns past M or N are clamped on load (their results are never stored) and
 *   K past its end loads zeros. A tile wholly inside the output without bias or activation is
 *   stored straight from the subgroup matrices; otherwise each result matrix goes through a
 *   small per-subgroup scratch and the lanes store it element by element with the epilogue.
 *
 * Subgroup-matrix loads and stores take uniform arguments only: every tile offset derives
 * from `subgroup_id` and loop counters, never from the invocation index. The program assumes
 * a fixed subgroup size (`subgroupMinSize == subgroupMaxSize`; the strategy checks it).
 */
import type { SubgroupMatrixConfig } from '../hal/capabilities';
import { type KernelProgram, pipelineCacheKey } from '../webgpu/program';
import { epilogueWgsl, type MatmulConfig, matmulBindings, matmulMeta, operandType } from './common';

export interface SubgroupMatrixStrategy {
  kind: 'subgroup-matrix';
  /** The adapter's matrix shape (f16 × f16 → f32). */
  cm: number;
  cn: number;
  ck: number;
  /** Subgroup grid per workgroup (rows × cols) and result matrices per subgroup (rows × cols). */
  sr: number;
  sc: number;
  tm: number;
  tn: number;
  /** K step of a shared tile (a multiple of ck). */
  bk: number;
  subgroupSize: number;
  buffers: 1 | 2;
  vec4A: boolean;
  vec4B: boolean;
  /**
   * 16-byte global loads (8 halves as vec4<u32>) for f16 operands whose contiguous axis is a
   * multiple of 8. Absent: false.
   */
  wide?: boolean;
  /** Dims that are multiples of their tile ('m', 'n', 'k'): their checks are left out. */
  aligned: string;
}

const PAD = 8;

/** Workgroup tile sizes and bytes of workgroup memory a strategy needs. */
export function subgroupMatrixTile(
  s: SubgroupMatrixStrategy,
  c: { transA: boolean; transB: boolean },
) {
  const bm = s.sr * s.tm * s.cm;
  const bn = s.sc * s.tn * s.cn;
  const threads = s.sr * s.sc * s.subgroupSize;
  // Row strides (in halves) of the staged tiles: rows follow the global layout.
  const strideA = c.transA ? bm + PAD : s.bk + PAD;
  const strideB = c.transB ? s.bk + PAD : bn + PAD;
  const sizeA = (c.transA ? s.bk : bm) * strideA;
  const sizeB = (c.transB ? bn : s.bk) * strideB;
  const scratch = s.sr * s.sc * s.cm * s.cn;
  const bytes = (sizeA + sizeB) * 2 * s.buffers + scratch * 4;
  return { bm, bn, threads, strideA, strideB, sizeA, sizeB, scratch, bytes };
}

/** The f16 × f16 → f32 config with the most work per multiply, if the adapter has one. */
export function pickF16Config(
  configs: readonly SubgroupMatrixConfig[],
): SubgroupMatrixConfig | null {
  const ok = configs.filter((c) => c.componentType === 'f16' && c.resultComponentType === 'f32');
  ok.sort((x, y) => y.M * y.N * y.K - x.M * x.N * x.K);
  return ok[0] ?? null;
}

interface Operand {
  buf: string;
  shared: string;
  /** Rows × columns of the staged tile (columns run along the contiguous global axis). */
  rows: number;
  cols: number;
  stride: number;
  /** Columns are K (A as [M, K], B as [N, K]); otherwise rows are K. */
  kCols: boolean;
  vec4: boolean;
  /** Halves per global load: 1, 4 (vec4<f16>) or 8 (vec4<u32> holding 8 halves). */
  per: number;
  /** WGSL: the non-K extent, the batch base and this workgroup's first non-K index. */
  size: string;
  base: string;
  x0: string;
  xAligned: boolean;
  reg: string;
}

/** Halves per global load of an operand (see `wide`). */
function widthOf(
  s: SubgroupMatrixStrategy,
  type: 'f32' | 'f16' | undefined,
  vec4: boolean,
  contiguous: number,
): number {
  if (s.wide && type === 'f16' && contiguous % 8 === 0) return 8;
  return vec4 ? 4 : 1;
}
const regType = (o: Operand) => (o.per === 8 ? 'vec4<u32>' : o.per === 4 ? 'vec4<f16>' : 'f16');
const bindingType = (o: Operand, type: 'f32' | 'f16' | undefined) =>
  o.per === 8 ? 'vec4<u32>' : operandType(type, o.per === 4);

function buildProgram(c: MatmulConfig, s: SubgroupMatrixStrategy): KernelProgram {
  if (s.bk % s.ck !== 0 || s.bk % 4 !== 0)
    throw new RangeError('bk must be a multiple of ck and 4');
  const t = subgroupMatrixTile(s, c);
  const alignK = s.aligned.includes('k');
  const A: Operand = {
    buf: 'a',
    shared: 'As',
    rows: c.transA ? s.bk : t.bm,
    cols: c.transA ? t.bm : s.bk,
    stride: t.strideA,
    kCols: !c.transA,
    vec4: s.vec4A,
    per: widthOf(s, c.aType, s.vec4A, c.transA ? c.m : c.k),
    size: 'm',
    base: 'aBase',
    x0: 'row0',
    xAligned: s.aligned.includes('m'),
    reg: 'pa',
  };
  const B: Operand = {
    buf: 'b',
    shared: 'Bs',
    rows: c.transB ? t.bn : s.bk,
    cols: c.transB ? s.bk : t.bn,
    stride: t.strideB,
    kCols: c.transB,
    vec4: s.vec4B,
    per: widthOf(s, c.bType, s.vec4B, c.transB ? c.k : c.n),
    size: 'n',
    base: 'bBase',
    x0: 'col0',
    xAligned: s.aligned.includes('n'),
    reg: 'pb',
  };

  const plan = (o: Operand) => {
    const per = o.per;
    const chunks = (o.rows * o.cols) / per;
    return { per, cpr: o.cols / per, chunks, count: Math.ceil(chunks / t.threads) };
  };
  const regDecls = (o: Operand) =>
    Array.from({ length: plan(o).count }, (_, i) => `  var ${o.reg}${i}: ${regType(o)};`).join(
      '\n',
    );

  /** Global → registers for the K tile at `k0`. */
  const fetch = (o: Operand, k0: string): string => {
    const p = plan(o);
    const lines: string[] = [];
    for (let i = 0; i < p.count; i++) {
      const ch = `(lid + ${i * t.threads}u)`;
      const r = `(${ch} / ${p.cpr}u)`;
      const col = `((${ch} % ${p.cpr}u) * ${p.per}u)`;
      const kOf = o.kCols ? col : r;
      const xOf = o.kCols ? r : col;
      const last = !o.kCols ? `${o.size} - ${o.per}u` : `${o.size} - 1u`;
      const gx = o.xAligned ? `${o.x0} + ${xOf}` : `min(${o.x0} + ${xOf}, ${last})`;
      const index = o.kCols ? 'gx * k + gk' : `gk * ${o.size} + gx`;
      // An f32 operand (activations beside f16 weights) is rounded to f16 here.
      const load = `${regType(o)}(${o.buf}[${o.per > 1 ? `(${o.base} + ${index}) / ${o.per}u` : `${o.base} + ${index}`}])`;
      const zero = o.per === 8 ? 'vec4<u32>(0u)' : o.per === 4 ? 'vec4<f16>(0.0h)' : '0.0h';
      const body = alignK
        ? `let gk = ${k0} + ${kOf}; let gx = ${gx}; ${o.reg}${i} = ${load};`
        : `let gk = ${k0} + ${kOf}; let gx = ${gx}; ${o.reg}${i} = ${zero}; if (gk < k) { ${o.reg}${i} = ${load}; }`;
      const guard = (i + 1) * t.threads > p.chunks;
      lines.push(guard ? `    if (${ch} < ${p.chunks}u) { ${body} }` : `    { ${body} }`);
    }
    return lines.join('\n');
  };

  /** Registers → the staged tile at half offset `at`. */
  const store = (o: Operand, at: string): string => {
    const p = plan(o);
    const lines: string[] = [];
    for (let i = 0; i < p.count; i++) {
      const ch = `(lid + ${i * t.threads}u)`;
      const slot = `${at} + (${ch} / ${p.cpr}u) * ${o.stride}u + (${ch} % ${p.cpr}u) * ${p.per}u`;
      const body =
        o.per === 8
          ? `{ let s = ${slot}; ${[0, 1, 2, 3].map((j) => `let h${j} = bitcast<vec2<f16>>(${o.reg}${i}[${j}]); ${o.shared}[s + ${2 * j}u] = h${j}.x; ${o.shared}[s + ${2 * j + 1}u] = h${j}.y;`).join(' ')} }`
          : o.per === 4
            ? `{ let s = ${slot}; ${[0, 1, 2, 3].map((j) => `${o.shared}[s + ${j}u] = ${o.reg}${i}[${j}];`).join(' ')} }`
            : `${o.shared}[${slot}] = ${o.reg}${i};`;
      const guard = (i + 1) * t.threads > p.chunks;
      lines.push(guard ? `    if (${ch} < ${p.chunks}u) ${body}` : `    ${body}`);
    }
    return lines.join('\n');
  };

  const left = `subgroup_matrix_left<f16, ${s.ck}, ${s.cm}>`;
  const right = `subgroup_matrix_right<f16, ${s.cn}, ${s.ck}>`;
  const result = `subgroup_matrix_result<f32, ${s.cn}, ${s.cm}>`;
  // Offsets of this subgroup's i-th left / j-th right matrix at k step kk within a tile.
  const offA = (i: number, kk: number) =>
    c.transA
      ? `${kk * s.ck * t.strideA}u + sgRow + ${i * s.cm}u`
      : `(sgRow + ${i * s.cm}u) * ${t.strideA}u + ${kk * s.ck}u`;
  const offB = (j: number, kk: number) =>
    c.transB
      ? `(sgCol + ${j * s.cn}u) * ${t.strideB}u + ${kk * s.ck}u`
      : `${kk * s.ck * t.strideB}u + sgCol + ${j * s.cn}u`;
  const compute = (atA: string, atB: string): string => {
    const lines: string[] = [];
    for (let kk = 0; kk < s.bk / s.ck; kk++) {
      lines.push('    {');
      for (let i = 0; i < s.tm; i++)
        lines.push(
          `      let l${i} = subgroupMatrixLoad<${left}>(&As, ${atA} + ${offA(i, kk)}, ${c.transA}, ${t.strideA}u);`,
        );
      for (let j = 0; j < s.tn; j++)
        lines.push(
          `      let r${j} = subgroupMatrixLoad<${right}>(&Bs, ${atB} + ${offB(j, kk)}, ${c.transB}, ${t.strideB}u);`,
        );
      for (let i = 0; i < s.tm; i++)
        for (let j = 0; j < s.tn; j++)
          lines.push(
            `      c${i}_${j} = subgroupMatrixMultiplyAccumulate(l${i}, r${j}, c${i}_${j});`,
          );
      lines.push('    }');
    }
    return lines.join('\n');
  };

  const fetchBoth = (k0: string) => `${fetch(A, k0)}\n${fetch(B, k0)}`;
  const storeBoth = (buf: string) =>
    `${store(A, `${buf} * ${t.sizeA}u`)}\n${store(B, `${buf} * ${t.sizeB}u`)}`;
  const loop =
    s.buffers === 2
      ? `
  for (var tk = 0u; tk < nt; tk++) {
    let cur = tk & 1u;
    let more = tk + 1u < nt;
    if (more) {
      let k0 = (tk + 1u) * ${s.bk}u;
${fetchBoth('k0')}
    }
${compute(`cur * ${t.sizeA}u`, `cur * ${t.sizeB}u`)}
    if (more) {
${storeBoth('(cur ^ 1u)')}
    }
    workgroupBarrier();
  }`
      : `
  for (var tk = 0u; tk < nt; tk++) {
    let more = tk + 1u < nt;
    if (more) {
      let k0 = (tk + 1u) * ${s.bk}u;
${fetchBoth('k0')}
    }
${compute('0u', '0u')}
    workgroupBarrier();
    if (more) {
${storeBoth('0u')}
    }
    workgroupBarrier();
  }`;

  // Epilogue. Direct: subgroupMatrixStore into the output (row stride n). Through scratch: the
  // subgroup's matrix goes to workgroup memory, then each lane stores its share with checks.
  const cells = s.cm * s.cn;
  const direct: string[] = [];
  const viaScratch: string[] = [];
  for (let i = 0; i < s.tm; i++)
    for (let j = 0; j < s.tn; j++) {
      const r0 = `row0 + sgRow + ${i * s.cm}u`;
      const c0 = `col0 + sgCol + ${j * s.cn}u`;
      direct.push(
        `    subgroupMatrixStore(&out, (batch * m + ${r0}) * n + ${c0}, c${i}_${j}, false, n);`,
      );
      viaScratch.push(`    subgroupMatrixStore(&Cs, sg * ${cells}u, c${i}_${j}, false, ${s.cn}u);
    workgroupBarrier();
    for (var e = lane; e < ${cells}u; e += ${s.subgroupSize}u) {
      let row = ${r0} + e / ${s.cn}u;
      let col = ${c0} + e % ${s.cn}u;
      if (row < m && col < n) { store((batch * m + row) * n + col, col, Cs[sg * ${cells}u + e]); }
    }
    workgroupBarrier();`);
    }
  const plain = !c.bias && c.activation === 'none';
  const inside = [
    s.aligned.includes('m') ? '' : `row0 + ${t.bm}u <= m`,
    s.aligned.includes('n') ? '' : `col0 + ${t.bn}u <= n`,
  ].filter(Boolean);
  const epilogue = !plain
    ? viaScratch.join('\n')
    : inside.length === 0
      ? direct.join('\n')
      : `  if (${inside.join(' && ')}) {\n${direct.join('\n')}\n  } else {\n${viaScratch.join('\n')}\n  }`;

  const accs: string[] = [];
  for (let i = 0; i < s.tm; i++)
    for (let j = 0; j < s.tn; j++) accs.push(`  var c${i}_${j}: ${result};`);

  const wgsl = `
${matmulBindings(c, bindingType(A, c.aType), bindingType(B, c.bType), 'f32', ['f16', 'subgroups', 'chromium_experimental_subgroup_matrix'])}
${epilogueWgsl(c)}
var<workgroup> As: array<f16, ${t.sizeA * s.buffers}>;
var<workgroup> Bs: array<f16, ${t.sizeB * s.buffers}>;
${epilogue.includes('&Cs') ? `var<workgroup> Cs: array<f32, ${t.scratch}>;` : ''}
@compute @workgroup_size(${t.threads}, 1, 1)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(subgroup_id) sg: u32, @builtin(subgroup_invocation_id) lane: u32) {
  let m = dims[0]; let k = dims[1]; let n = dims[2];
  let batch = wid.z;
  let aBase = batch * dims[3];
  let bBase = batch * dims[4];
  let row0 = wid.y * ${t.bm}u;
  let col0 = wid.x * ${t.bn}u;
  let sgRow = (sg / ${s.sc}u) * ${s.tm * s.cm}u;
  let sgCol = (sg % ${s.sc}u) * ${s.tn * s.cn}u;
  let nt = (k + ${s.bk - 1}u) / ${s.bk}u;
${accs.join('\n')}
${regDecls(A)}
${regDecls(B)}
  {
    let k0 = 0u;
${fetchBoth('k0')}
${storeBoth('0u')}
  }
  workgroupBarrier();
${loop}
${epilogue}
}`;
  return {
    name: 'matmul-subgroup-matrix',
    workgroupSize: [t.threads, 1, 1],
    dispatch: [Math.ceil(c.n / t.bn), Math.ceil(c.m / t.bm), c.batch],
    cacheKey: subgroupMatrixKey(c, s),
    wgsl,
    meta: matmulMeta(c),
  };
}

function subgroupMatrixKey(c: MatmulConfig, s: SubgroupMatrixStrategy): string {
  return pipelineCacheKey('matmul-subgroup-matrix', {
    act: c.activation,
    aType: c.aType ?? 'f32',
    bType: c.bType ?? 'f32',
    aligned: s.aligned || '-',
    bias: c.bias,
    bk: s.bk,
    buffers: s.buffers,
    cfg: `${s.cm}x${s.cn}x${s.ck}`,
    grid: `${s.sr}x${s.sc}`,
    per: `${s.tm}x${s.tn}`,
    sgsize: s.subgroupSize,
    transA: c.transA,
    transB: c.transB,
    vec4A: s.vec4A,
    vec4B: s.vec4B,
    wide: s.wide ?? false,
  });
}

const WGSL_BY_KEY = new Map<string, KernelProgram>();

/** The program for a config and strategy (WGSL built once per cache key; sizes live in meta). */
export function subgroupMatrixProgram(c: MatmulConfig, s: SubgroupMatrixStrategy): KernelProgram {
  const key = subgroupMatrixKey(c, s);
  let built = WGSL_BY_KEY.get(key);
  if (!built) {
    built = buildProgram(c, s);
    WGSL_BY_KEY.set(key, built);
  }
  const t = subgroupMatrixTile(s, c);
  return {
    ...built,
    dispatch: [Math.ceil(c.n / t.bn), Math.ceil(c.m / t.bm), c.batch],
    meta: matmulMeta(c),
  };
}

/**
 * Quantized matrix-vector program for decode steps (x has M ≤ 4 rows): the work is reading the
 * packed weights once, so each workgroup takes `rows` output columns and its `threads` threads
 * split K by chunks of 32 codes (one 16-byte load per chunk for int4, consecutive threads on
 * consecutive chunks: coalesced). Each thread loads its x chunk once and reuses it for every
 * row; per block it adds s·Σu·x + m·Σx, then the workgroup sums the threads' partials.
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

export interface QGemvShape {
  /** Threads per workgroup splitting K (a power of two, 32..256). */
  threads: number;
  /** Output columns (weight rows) per workgroup. */
  rows: number;
}

/** The default split, from the H100 sweep in kernels/bench (see docs/architecture.md). */
export const QGEMV_DEFAULT: QGemvShape = { threads: 64, rows: 4 };

export const MAX_GEMV_ROWS = 4;

export function qgemvProgram(
  p: QMatmulParams,
  m: number,
  bias: boolean,
  shape: QGemvShape = QGEMV_DEFAULT,
): KernelProgram {
  if (m < 1 || m > MAX_GEMV_ROWS) throw new RangeError(`qgemv takes 1..4 rows of x, not ${m}`);
  const { threads: T, rows: R } = shape;
  const f = p.format;
  const slots = R * m;
  const perRow: string[] = [];
  for (let r = 0; r < R; r++) {
    const dots = Array.from({ length: m }, (_, mi) =>
      Array.from({ length: 8 }, (_, t) => `dot(c${t}, xv${mi}_${t})`).join(' + '),
    );
    perRow.push(`    {
      let col = min(n0 + ${r}u, n - 1u);
      ${chunkWordsWgsl(f.bits, 'col * chunks + c')}
${Array.from({ length: 8 }, (_, t) => `      let c${t} = ${codesVec4(f.bits, t)};`).join('\n')}
      let sm = block_sm(col * blocksPerRow + blk);
${dots.map((d, mi) => `      acc[${r * m + mi}] += sm.x * (${d}) + sm.y * xs${mi};`).join('\n')}
    }`);
  }
  const loadX = Array.from({ length: m }, (_, mi) => {
    const xs = Array.from(
      { length: 8 },
      (_, t) => `    let xv${mi}_${t} = x[${mi}u * k4 + c * 8u + ${t}u];`,
    );
    const sum = Array.from({ length: 8 }, (_, t) => `xv${mi}_${t}`).join(' + ');
    return `${xs.join('\n')}\n    let xs${mi} = dot(${sum}, vec4<f32>(1.0));`;
  }).join('\n');
  const wgsl = `
${qmatmulBindings(p, bias, 'vec4<f32>')}
${blockParamsWgsl(f)}
${qmatmulEpilogue(p, bias)}
var<workgroup> red: array<f32, ${slots * T}>;
${entry([T, 1, 1])}
  let k = dims[1]; let n = dims[2];
  let k4 = k / 4u;
  let chunks = k / 32u;
  let blocksPerRow = k / ${f.groupSize}u;
  let n0 = (wid.x + wid.y * nwg.x) * ${R}u;
  var acc: array<f32, ${slots}>;
  for (var c = lid; c < chunks; c += ${T}u) {
    let blk = c / ${f.groupSize / 32}u;
${loadX}
${perRow.join('\n')}
  }
  for (var j = 0u; j < ${slots}u; j++) { red[j * ${T}u + lid] = acc[j]; }
  workgroupBarrier();
  for (var s = ${T / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) {
      for (var j = 0u; j < ${slots}u; j++) { red[j * ${T}u + lid] += red[j * ${T}u + lid + s]; }
    }
    workgroupBarrier();
  }
  if (lid < ${slots}u) {
    let col = n0 + lid / ${m}u;
    let row = lid % ${m}u;
    if (col < n) { store(row * n + col, col, red[lid * ${T}u]); }
  }
}`;
  const groups = Math.ceil(p.n / R);
  return {
    name: 'qmatmul-gemv',
    workgroupSize: [T, 1, 1],
    dispatch: groups > 65535 ? [65535, Math.ceil(groups / 65535), 1] : [groups, 1, 1],
    cacheKey: pipelineCacheKey('qmatmul-gemv', {
      act: p.activation ?? 'none',
      bias,
      format: formatName(p.format).replaceAll(':', '-'),
      m,
      rows: R,
      threads: T,
    }),
    wgsl,
    meta: Uint32Array.from([m, p.k, p.n]),
  };
}

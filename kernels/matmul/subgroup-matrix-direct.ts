/**
 * The subgroup-matrix matmul without shared-memory staging: each subgroup loads its left and
 * right matrices straight from the storage buffers. Kept as the benchmark's point of
 * comparison for the staged program (subgroup-matrix.ts), which the strategy uses; it needs
 * f16 operands, no transposes, and M, N, K multiples of the tile (no edge handling).
 */
import { type KernelProgram, pipelineCacheKey } from '../webgpu/program';
import { type MatmulConfig, matmulBindings, matmulMeta } from './common';
import type { SubgroupMatrixStrategy } from './subgroup-matrix';

export function directSubgroupMatrixProgram(
  c: MatmulConfig,
  s: SubgroupMatrixStrategy,
): KernelProgram {
  const bm = s.sr * s.tm * s.cm;
  const bn = s.sc * s.tn * s.cn;
  if (
    c.transA ||
    c.transB ||
    c.m % bm ||
    c.n % bn ||
    c.k % s.ck ||
    c.bias ||
    c.activation !== 'none'
  )
    throw new RangeError('the direct program takes aligned, untransposed, plain products only');
  const left = `subgroup_matrix_left<f16, ${s.ck}, ${s.cm}>`;
  const right = `subgroup_matrix_right<f16, ${s.cn}, ${s.ck}>`;
  const lines: string[] = [];
  for (let i = 0; i < s.tm; i++)
    lines.push(
      `    let l${i} = subgroupMatrixLoad<${left}>(&a, aBase + (rowS + ${i * s.cm}u) * k + kk, false, k);`,
    );
  for (let j = 0; j < s.tn; j++)
    lines.push(
      `    let r${j} = subgroupMatrixLoad<${right}>(&b, bBase + kk * n + colS + ${j * s.cn}u, false, n);`,
    );
  const accs: string[] = [];
  const stores: string[] = [];
  for (let i = 0; i < s.tm; i++)
    for (let j = 0; j < s.tn; j++) {
      accs.push(`  var c${i}_${j}: subgroup_matrix_result<f32, ${s.cn}, ${s.cm}>;`);
      lines.push(`    c${i}_${j} = subgroupMatrixMultiplyAccumulate(l${i}, r${j}, c${i}_${j});`);
      stores.push(
        `  subgroupMatrixStore(&out, (batch * m + rowS + ${i * s.cm}u) * n + colS + ${j * s.cn}u, c${i}_${j}, false, n);`,
      );
    }
  const threads = s.sr * s.sc * s.subgroupSize;
  const wgsl = `
${matmulBindings(c, 'f16', 'f16', 'f32', ['subgroups', 'chromium_experimental_subgroup_matrix'])}
@compute @workgroup_size(${threads}, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_id) sg: u32) {
  let m = dims[0]; let k = dims[1]; let n = dims[2];
  let batch = wid.z;
  let aBase = batch * dims[3];
  let bBase = batch * dims[4];
  let rowS = wid.y * ${bm}u + (sg / ${s.sc}u) * ${s.tm * s.cm}u;
  let colS = wid.x * ${bn}u + (sg % ${s.sc}u) * ${s.tn * s.cn}u;
${accs.join('\n')}
  for (var kk = 0u; kk < k; kk += ${s.ck}u) {
${lines.join('\n')}
  }
${stores.join('\n')}
}`;
  return {
    name: 'matmul-subgroup-matrix-direct',
    workgroupSize: [threads, 1, 1],
    dispatch: [c.n / bn, c.m / bm, c.batch],
    cacheKey: pipelineCacheKey('matmul-subgroup-matrix-direct', {
      cfg: `${s.cm}x${s.cn}x${s.ck}`,
      grid: `${s.sr}x${s.sc}`,
      per: `${s.tm}x${s.tn}`,
    }),
    wgsl,
    meta: matmulMeta(c),
  };
}

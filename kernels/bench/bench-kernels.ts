/**
 * Kernel benchmark: GFLOPS or GB/s per kernel and shape on the WebGPU backend, plus the matmul
 * tile sweep and the programs the strategy chose. `--full` runs the H100 shapes (4096³ matmul,
 * 2048-token attention); without it the shapes suit SwiftShader. With TABPOOL_BENCH_BASELINE
 * naming a JSON file of { label: GFLOPS } (torch-reference.py), it prints our/baseline ratios.
 * TF.js's WebGPU backend runs the matmul and softmax shapes on the same device (tfjs-peer.ts;
 * `--no-tfjs` leaves it out), and a last table puts ours, PyTorch and TF.js side by side.
 * `--sweep-only` runs the tile sweep alone (e.g. again under other Dawn toggles); `--f16-only`
 * the f16 rows (f16-bench.ts: tiled f16 and subgroup matrices beside PyTorch fp16) alone.
 */
import { readFileSync } from 'node:fs';
import type { Backend, OpInputs, OpName, OpParams } from '../backend/ops';
import {
  alignedDims,
  chooseMatmulStrategy,
  type MatmulStrategy,
  tileSharedBytes,
} from '../matmul/strategy';
import { tiledMatmulProgram } from '../matmul/tiled';
import { cpuTensor, type Tensor } from '../tensor/tensor';
import { nodeGpu } from '../testing/node-gpu';
import { rng, uniform } from '../testing/random';
import { createWebGpuBackend } from '../webgpu/backend';
import { createGpuContext, type GpuContext, runProgram } from '../webgpu/context';
import { bufferOf, emptyGpu } from '../webgpu/tensor';
import { benchF16 } from './f16-bench';
import { gbps, gflops, timeGpu } from './measure';
import { type TfjsPeer, tfjsPeer } from './tfjs-peer';

const full = process.argv.includes('--full');
const sweepOnly = process.argv.includes('--sweep-only');
/** `--f16-only`: the f16 / subgroup-matrix rows alone (quick reruns while tuning them). */
const f16Only = process.argv.includes('--f16-only');
const withTfjs = !process.argv.includes('--no-tfjs') && !sweepOnly && !f16Only;
const budgetMs = full ? 400 : 300;
const r = rng(1);
const rand = (shape: number[]) =>
  cpuTensor(
    uniform(
      r,
      shape.reduce((a, b) => a * b, 1),
    ),
    shape,
  );
const baseline: Record<string, number> = process.env.TABPOOL_BENCH_BASELINE
  ? JSON.parse(readFileSync(process.env.TABPOOL_BENCH_BASELINE, 'utf8'))
  : {};
const rows: {
  label: string;
  value: number;
  unit: string;
  ms: number;
  encodeMs: number;
  baseKey: string;
}[] = [];

/** `baseKey`: the PyTorch row to compare with (several of our programs may share one). */
function report(
  label: string,
  value: number,
  unit: string,
  ms: number,
  encodeMs = 0,
  baseKey = label,
): void {
  rows.push({ label, value, unit, ms, encodeMs, baseKey });
  const base = baseline[baseKey];
  const ratio = base ? `  ${(value / base).toFixed(2)}× of baseline ${base.toFixed(0)}` : '';
  console.log(
    `${label.padEnd(44)} ${value.toFixed(1).padStart(10)} ${unit}  ${ms.toFixed(3).padStart(9)} ms (encode ${encodeMs.toFixed(3)})${ratio}`,
  );
}

async function timeOp<K extends OpName>(
  ctx: GpuContext,
  gpu: Backend,
  op: K,
  inputs: OpInputs<K>,
  params: OpParams<K>,
) {
  const fn = gpu.ops[op] as (i: OpInputs<K>, p: OpParams<K>) => Tensor;
  return timeGpu(ctx, () => gpu.dispose(fn(inputs, params)), budgetMs);
}

const found = await nodeGpu();
if (!found.adapter) throw new Error(`No WebGPU adapter: ${found.reason}`);
const ctx = await createGpuContext(found.adapter);
const gpu = createWebGpuBackend(ctx);
const c = ctx.caps;
console.log(
  `adapter: ${c.vendor} ${c.architecture} ${c.description} | f16 ${c.shaderF16} subgroups ${c.subgroups} subgroup-matrix ${c.subgroupMatrix} | workgroup storage ${c.limits.maxComputeWorkgroupStorageSize} | dawn flags "${process.env.TABPOOL_DAWN_FLAGS ?? ''}"`,
);
let tfjs: TfjsPeer | null = null;
if (withTfjs) {
  try {
    tfjs = await tfjsPeer(found.gpu, ctx.device, found.adapter);
    console.log(`TF.js ${tfjs.version} WebGPU backend on the same GPUDevice`);
  } catch (e) {
    console.log(`TF.js peer unavailable: ${(e as Error).message}`);
  }
}
/** TF.js results by our row label. */
const peer: Record<string, number> = {};

const matmuls: [string, number[], number[], OpParams<'matmul'>][] = full
  ? [
      ['matmul 4096x4096x4096', [4096, 4096], [4096, 4096], {}],
      ['matmul 2048x768x3072 +gelu (BERT FFN)', [2048, 768], [768, 3072], { activation: 'gelu' }],
      ['matmul 2048x4096x4096 transB (Linear)', [2048, 4096], [4096, 4096], { transB: true }],
      ['matmul 1x4096x4096 (decode GEMV)', [1, 4096], [4096, 4096], {}],
      ['matmul 1x4096x4096 transB (decode Linear)', [1, 4096], [4096, 4096], { transB: true }],
    ]
  : [
      ['matmul 256x256x256', [256, 256], [256, 256], {}],
      ['matmul 128x768x768 +gelu', [128, 768], [768, 768], { activation: 'gelu' }],
      ['matmul 1x768x768 (decode GEMV)', [1, 768], [768, 768], {}],
    ];
for (const [label, sa, sb, params] of sweepOnly || f16Only ? [] : matmuls) {
  const a = gpu.upload(rand(sa));
  const b = gpu.upload(rand(sb));
  const [m, k] = sa as [number, number];
  const n = params.transB ? (sb[0] as number) : (sb[1] as number);
  const t = await timeOp(ctx, gpu, 'matmul', [a, b], params);
  report(
    label,
    gflops(2 * m * n * k, t.msPerIteration),
    'GFLOPS',
    t.msPerIteration,
    t.encodeMsPerIteration,
  );
  gpu.dispose(a);
  gpu.dispose(b);
  if (tfjs) {
    // TF.js has no GELU epilogue: its row is the plain product of the same shape.
    const tt = await tfjs.matmul(m, k, n, params.transB ?? false, budgetMs);
    peer[label] = gflops(2 * m * n * k, tt.msPerIteration);
    console.log(
      `${`  TF.js ${label}${params.activation ? ' (no act)' : ''}`.padEnd(44)} ${peer[label].toFixed(1).padStart(10)} GFLOPS  ${tt.msPerIteration.toFixed(3).padStart(9)} ms`,
    );
  }
}

// f16 storage: the tiled program and subgroup matrices (tensor cores) beside PyTorch fp16.
if (!sweepOnly) await benchF16(ctx, gpu, full, budgetMs, report);

// Tile sweep: which tiled program wins on this adapter, on the largest square shape and on
// the BERT FFN shape (fewer workgroups: wave quantisation). Each entry: [bm, bn, bk, tm, tn,
// shared-tile buffers, k loop unrolled, the aligned dims the program exploits].
type SweepEntry = [number, number, number, number, number, 1 | 2, boolean, string];
const sq = full ? 4096 : 512;
const sweeps: [[number, number, number], SweepEntry[]][] = [
  [
    [sq, sq, sq],
    [
      [128, 128, 16, 8, 8, 1, true, 'mnk'],
      [128, 128, 16, 8, 8, 1, true, ''],
      [128, 128, 16, 8, 8, 1, true, 'nk'],
      [128, 128, 16, 8, 8, 1, true, 'mk'],
      [128, 128, 16, 8, 8, 1, true, 'mn'],
      [128, 128, 32, 8, 8, 1, true, 'mnk'],
      [128, 128, 32, 8, 8, 1, true, ''],
      [128, 128, 32, 8, 8, 1, false, ''],
      [128, 64, 32, 8, 4, 2, true, ''],
      [64, 128, 32, 4, 8, 2, true, ''],
      [128, 64, 32, 8, 4, 1, true, ''],
      [128, 128, 8, 8, 8, 1, true, ''],
    ],
  ],
  [
    full ? [2048, 768, 3072] : [256, 128, 384],
    [
      [128, 128, 32, 8, 8, 1, true, ''],
      [128, 64, 16, 8, 4, 1, true, ''],
      [128, 64, 32, 8, 4, 2, true, ''],
      [64, 64, 16, 4, 4, 1, true, ''],
    ],
  ],
];
for (const [[m, k, n], entries] of f16Only ? [] : sweeps) {
  const sa = gpu.upload(rand([m, k]));
  const sb = gpu.upload(rand([k, n]));
  const so = emptyGpu(ctx, 'f32', [m, n]);
  const config = {
    batch: 1,
    m,
    k,
    n,
    transA: false,
    transB: false,
    aBatchStride: 0,
    bBatchStride: 0,
    bias: false,
    activation: 'none' as const,
  };
  console.log(`strategy for ${m}x${k}x${n}: ${JSON.stringify(chooseMatmulStrategy(config, c))}`);
  for (const [bm, bn, bk, tm, tn, nbuf, unroll, exploit] of entries) {
    const aligned = [...alignedDims(config, bm, bn, bk)].filter((d) => exploit.includes(d));
    const s: MatmulStrategy = {
      kind: 'tiled',
      bm,
      bn,
      bk,
      tm,
      tn,
      vec4A: true,
      vec4B: true,
      aligned: aligned.join(''),
      buffers: nbuf,
      unroll,
    };
    if (tileSharedBytes(s) > c.limits.maxComputeWorkgroupStorageSize) continue;
    if ((bm / tm) * (bn / tn) > c.limits.maxComputeInvocationsPerWorkgroup) continue;
    const program = tiledMatmulProgram(config, s);
    const buffers = [bufferOf(ctx, sa), bufferOf(ctx, sb), bufferOf(ctx, so)];
    const t = await timeGpu(ctx, () => runProgram(ctx, program, buffers), budgetMs);
    report(
      `tile ${bm}x${bn}x${bk} ${tm}x${tn} b${nbuf}${unroll ? '' : ' looped'} aligned '${s.aligned}' @${m}x${k}x${n}`,
      gflops(2 * m * n * k, t.msPerIteration),
      'GFLOPS',
      t.msPerIteration,
      t.encodeMsPerIteration,
    );
  }
  for (const t of [sa, sb, so]) gpu.dispose(t);
}

const attentions: [string, number[], number[], boolean][] = full
  ? [
      ['attention b1 h12 s2048 d64', [1, 12, 2048, 64], [1, 12, 2048, 64], false],
      ['attention b1 h12 s2048 d64 causal', [1, 12, 2048, 64], [1, 12, 2048, 64], true],
      ['attention decode h32/8 kv2048 d128', [1, 32, 1, 128], [1, 8, 2048, 128], true],
    ]
  : [
      ['attention b1 h4 s128 d64', [1, 4, 128, 64], [1, 4, 128, 64], false],
      ['attention decode h8/2 kv256 d64', [1, 8, 1, 64], [1, 2, 256, 64], true],
    ];
for (const [label, qs, ks, causal] of sweepOnly || f16Only ? [] : attentions) {
  const q = gpu.upload(rand(qs));
  const k = gpu.upload(rand(ks));
  const v = gpu.upload(rand(ks));
  const t = await timeOp(ctx, gpu, 'attention', [q, k, v], { causal });
  const [, h, sq, d] = qs as [number, number, number, number];
  const skv = ks[2] as number;
  // QKᵀ and PV: 4·Sq·Skv·D per head (counted in full even when causal, as PyTorch's math path does).
  report(
    label,
    gflops(4 * h * sq * skv * d, t.msPerIteration),
    'GFLOPS',
    t.msPerIteration,
    t.encodeMsPerIteration,
  );
}

const rowsOps: [string, OpName, number[]][] = full
  ? [
      ['softmax 24576x2048', 'softmax', [24576, 2048]],
      ['unary identity 24576x2048 (copy bound)', 'unary', [24576, 2048]],
      ['layerNorm 8192x768', 'layerNorm', [8192, 768]],
    ]
  : [
      ['softmax 512x512', 'softmax', [512, 512]],
      ['unary identity 512x512 (copy bound)', 'unary', [512, 512]],
      ['layerNorm 512x768', 'layerNorm', [512, 768]],
    ];
for (const [label, op, shape] of sweepOnly || f16Only ? [] : rowsOps) {
  const x = gpu.upload(rand(shape));
  const cols = shape[1] as number;
  const bytes = 2 * 4 * shape.reduce((a, b) => a * b, 1);
  const t =
    op === 'softmax'
      ? await timeOp(ctx, gpu, 'softmax', [x], {})
      : op === 'unary'
        ? await timeOp(ctx, gpu, 'unary', [x], { fn: 'identity' })
        : await timeOp(
            ctx,
            gpu,
            'layerNorm',
            [x, gpu.upload(rand([cols])), gpu.upload(rand([cols]))],
            {
              eps: 1e-5,
            },
          );
  report(label, gbps(bytes, t.msPerIteration), 'GB/s', t.msPerIteration, t.encodeMsPerIteration);
  if (tfjs && op === 'softmax') {
    const tt = await tfjs.softmax(shape[0] as number, cols, budgetMs);
    peer[label] = gbps(bytes, tt.msPerIteration);
    console.log(
      `${`  TF.js ${label}`.padEnd(44)} ${peer[label].toFixed(1).padStart(10)} GB/s    ${tt.msPerIteration.toFixed(3).padStart(9)} ms`,
    );
  }
}

// Side by side: ours, PyTorch (TABPOOL_BENCH_BASELINE) and TF.js, with the ratios.
const fmt = (v: number | undefined) => (v === undefined ? '—' : v.toFixed(0));
const ratio = (a: number, b: number | undefined) => (b ? `${(a / b).toFixed(2)}×` : '—');
console.log(
  `\n${'shape'.padEnd(44)} ${'unit'.padEnd(6)} ${'ours'.padStart(8)} ${'PyTorch'.padStart(8)} ${'TF.js'.padStart(8)} ${'ours/PT'.padStart(8)} ${'ours/TF.js'.padStart(10)}`,
);
for (const row of rows) {
  if (row.label.startsWith('tile ')) continue;
  const base = baseline[row.baseKey];
  console.log(
    `${row.label.padEnd(44)} ${row.unit.padEnd(6)} ${fmt(row.value).padStart(8)} ${fmt(base).padStart(8)} ${fmt(peer[row.label]).padStart(8)} ${ratio(row.value, base).padStart(8)} ${ratio(row.value, peer[row.label]).padStart(10)}`,
  );
}

console.log(`matmul programs chosen: ${JSON.stringify(Object.fromEntries(gpu.matmulChoices))}`);
console.log(`BENCH_JSON ${JSON.stringify({ adapter: c, rows, pytorch: baseline, tfjs: peer })}`);
ctx.device.destroy();

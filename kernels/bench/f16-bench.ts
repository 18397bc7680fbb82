/**
 * The f16 part of `bench:kernels`: f16-storage matmuls through the tiled program (f16 loads,
 * f32 tiles and sums) and through subgroup matrices (tensor cores), on the shapes PyTorch's
 * fp16 rows of torch-reference.py time, plus a sweep of subgroup-matrix tiles. Every program
 * is compiled inside an error scope first (a rejected WGSL prints its error and is skipped),
 * and every timed program's output is checked on sampled elements against an f64 dot product
 * of the same f16 inputs, so no figure comes from a wrong kernel.
 */
import type { OpParams } from '../backend/ops';
import type { MatmulConfig } from '../matmul/common';
import {
  chooseMatmulStrategy,
  type MatmulStrategy,
  subgroupMatrixStrategy,
} from '../matmul/strategy';
import type { SubgroupMatrixStrategy } from '../matmul/subgroup-matrix';
import { directSubgroupMatrixProgram } from '../matmul/subgroup-matrix-direct';
import { matmulProgram } from '../matmul/webgpu';
import { f16ToF32Array, f32ToF16Array } from '../tensor/f16';
import { cpuTensor } from '../tensor/tensor';
import { rng, uniform } from '../testing/random';
import type { WebGpuBackend } from '../webgpu/backend';
import { type GpuContext, readBuffer, runProgram } from '../webgpu/context';
import type { KernelProgram } from '../webgpu/program';
import { bufferOf, emptyGpu } from '../webgpu/tensor';
import { gflops, timeGpu } from './measure';

type Report = (
  label: string,
  value: number,
  unit: string,
  ms: number,
  encodeMs: number,
  baseKey?: string,
) => void;

/** Compiles a program inside a validation scope; the error text, or null when it compiled. */
async function compileError(ctx: GpuContext, p: KernelProgram): Promise<string | null> {
  ctx.device.pushErrorScope('validation');
  const module = ctx.device.createShaderModule({ code: p.wgsl, label: p.name });
  const info = await module.getCompilationInfo();
  const pipeline = ctx.device.createComputePipeline({
    layout: 'auto',
    compute: { module, entryPoint: 'main' },
  });
  const error = await ctx.device.popErrorScope();
  if (!error) {
    ctx.pipelines.set(p.cacheKey, pipeline);
    return null;
  }
  const messages = info.messages.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('; ');
  return `${error.message} ${messages}`.slice(0, 1500);
}

export async function benchF16(
  ctx: GpuContext,
  gpu: WebGpuBackend,
  full: boolean,
  budgetMs: number,
  report: Report,
): Promise<void> {
  const caps = ctx.caps;
  if (!caps.shaderF16) {
    console.log('f16 rows did not run: the adapter has no shader-f16');
    return;
  }
  if (
    !subgroupMatrixStrategy(
      {
        batch: 1,
        m: 4096,
        k: 4096,
        n: 4096,
        transA: false,
        transB: false,
        aType: 'f16',
        bType: 'f16',
      },
      caps,
    )
  )
    console.log(
      `subgroup-matrix rows did not run: feature ${caps.subgroupMatrix}, configs ${JSON.stringify(caps.subgroupMatrixConfigs)}, subgroup size ${caps.subgroupMinSize}-${caps.subgroupMaxSize}`,
    );
  const r = rng(16);
  const shapes: [string, number, number, number, OpParams<'matmul'>][] = full
    ? [
        ['matmul 4096x4096x4096', 4096, 4096, 4096, {}],
        ['matmul 2048x768x3072 +gelu (BERT FFN)', 2048, 768, 3072, { activation: 'gelu' }],
        ['matmul 2048x4096x4096 transB (Linear)', 2048, 4096, 4096, { transB: true }],
      ]
    : [['matmul 256x256x256', 256, 256, 256, {}]];
  const sq = full ? 4096 : 256;
  // Subgroup-matrix tiles to sweep at sq³: [sr, sc, tm, tn, bk, buffers].
  const sweep: [number, number, number, number, number, 1 | 2, boolean?][] = [
    [2, 2, 4, 4, 32, 1],
    [2, 2, 4, 4, 16, 1],
    [2, 2, 4, 4, 32, 1, true],
    [2, 2, 4, 4, 32, 2],
    [2, 4, 4, 4, 32, 1],
    [4, 2, 4, 4, 32, 1],
    [2, 4, 4, 2, 32, 1],
    [2, 2, 2, 2, 32, 1],
  ];

  const run = async (
    label: string,
    baseKey: string,
    m: number,
    k: number,
    n: number,
    p: OpParams<'matmul'>,
    strategy: MatmulStrategy | ((c: MatmulConfig) => KernelProgram),
  ) => {
    const transB = p.transB ?? false;
    const aData = f32ToF16Array(uniform(r, m * k));
    const bData = f32ToF16Array(uniform(r, k * n));
    const a = gpu.upload(cpuTensor(aData, [m, k]));
    const b = gpu.upload(cpuTensor(bData, transB ? [n, k] : [k, n]));
    const out = emptyGpu(ctx, 'f32', [m, n]);
    const config: MatmulConfig = {
      batch: 1,
      m,
      k,
      n,
      transA: false,
      transB,
      aBatchStride: 0,
      bBatchStride: 0,
      bias: false,
      activation: p.activation ?? 'none',
      aType: 'f16',
      bType: 'f16',
    };
    try {
      const program =
        typeof strategy === 'function' ? strategy(config) : matmulProgram(config, strategy);
      const error = await compileError(ctx, program);
      if (error) {
        console.log(`${label}: did not compile: ${error}`);
        return;
      }
      const buffers = [bufferOf(ctx, a), bufferOf(ctx, b), bufferOf(ctx, out)];
      const t = await timeGpu(ctx, () => runProgram(ctx, program, buffers), budgetMs);
      const got = new Float32Array(await readBuffer(ctx, bufferOf(ctx, out), m * n * 4));
      const check = sampleCheck(
        got,
        f16ToF32Array(aData),
        f16ToF32Array(bData),
        m,
        k,
        n,
        transB,
        config.activation,
      );
      report(
        `${label}${check}`,
        gflops(2 * m * n * k, t.msPerIteration),
        'GFLOPS',
        t.msPerIteration,
        t.encodeMsPerIteration,
        baseKey,
      );
    } finally {
      // Destroyed rather than pooled: these one-off sizes would fill the reuse pool, and the
      // rows after this section would then allocate a buffer every iteration (seen on the
      // H100: layerNorm 8192x768 timed at 36 GB/s after it, with 1.4 ms of encode).
      for (const x of [a, b, out]) bufferOf(ctx, x).destroy();
    }
  };

  for (const [shape, m, k, n, p] of shapes) {
    const s = {
      batch: 1,
      m,
      k,
      n,
      transA: false,
      transB: p.transB ?? false,
      aType: 'f16' as const,
      bType: 'f16' as const,
    };
    const sm = subgroupMatrixStrategy(s, caps);
    if (sm) await run(`f16 ${shape} [subgroup-matrix]`, `f16 ${shape}`, m, k, n, p, sm);
    const tiled = { ...s, aType: undefined, bType: undefined };
    await run(
      `f16 ${shape} [tiled]`,
      `f16 ${shape}`,
      m,
      k,
      n,
      p,
      chooseMatmulStrategy(tiled, caps),
    );
  }
  for (const [sr, sc, tm, tn, bk, buffers, wide] of sweep) {
    const s = {
      batch: 1,
      m: sq,
      k: sq,
      n: sq,
      transA: false,
      transB: false,
      aType: 'f16' as const,
      bType: 'f16' as const,
    };
    const fitted: SubgroupMatrixStrategy | null = subgroupMatrixStrategy(
      s,
      caps,
      [sr, sc, tm, tn, bk],
      buffers,
    );
    const st = fitted && { ...fitted, wide: wide ?? false };
    if (!st) {
      console.log(
        `sm tile ${sr}x${sc} subgroups ${tm}x${tn} per subgroup bk ${bk} b${buffers}: does not fit this adapter`,
      );
      continue;
    }
    await run(
      `sm tile ${sr}x${sc} sg, ${tm}x${tn} per sg, bk ${bk} b${buffers}${wide ? ' 16B loads' : ''} @${sq}³`,
      `f16 matmul ${sq}x${sq}x${sq}`,
      sq,
      sq,
      sq,
      {},
      st,
    );
    // The same tile without shared-memory staging (matrices loaded from storage), for scale.
    if (buffers === 1 && !wide && bk === 32)
      await run(
        `sm tile ${sr}x${sc} sg, ${tm}x${tn} per sg, no staging @${sq}³`,
        `f16 matmul ${sq}x${sq}x${sq}`,
        sq,
        sq,
        sq,
        {},
        (c) => directSubgroupMatrixProgram(c, st),
      );
  }
}

/** " ok (max rel err …)" or " WRONG (…)": 64 sampled outputs against an f64 dot product. */
function sampleCheck(
  got: Float32Array,
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  transB: boolean,
  activation: string,
): string {
  const r = rng(7);
  let worst = 0;
  for (let s = 0; s < 64; s++) {
    const i = Math.floor(r() * m);
    const j = Math.floor(r() * n);
    let dot = 0;
    let mag = 0;
    for (let p = 0; p < k; p++) {
      const x = (a[i * k + p] as number) * (b[transB ? j * k + p : p * n + j] as number);
      dot += x;
      mag += Math.abs(x);
    }
    if (activation === 'gelu') continue; // the plain rows are enough to catch a broken kernel
    const err = Math.abs((got[i * n + j] as number) - dot) / Math.max(mag, 1e-6);
    worst = Math.max(worst, Number.isNaN(err) ? Number.POSITIVE_INFINITY : err);
  }
  return worst <= 1e-5 ? '' : ` WRONG (sampled error ${worst.toExponential(1)} of Σ|ab|)`;
}

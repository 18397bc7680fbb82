/**
 * Quantized-kernel benchmark: the quantized GEMV (decode shapes, x one row) per format in GB/s
 * of bytes it must move (packed weights + block params + x + y), beside a copy kernel's GB/s
 * measured in the same run (the memory-bandwidth peer), the f32 GEMV on the same shape, a sweep
 * of the GEMV's workgroup split, and the tiled prefill program in GFLOPS beside the f32 one.
 *
 * Each timed iteration runs the kernel over several copies of its weights, more bytes than the
 * GPU's L2 holds, so every GEMV reads from memory as a decode step does (8 MB of int4 weights
 * would otherwise stay in an H100's 50 MB L2). Weights are random words: timing does not depend
 * on the values. Run through `npm run bench:kernels` (which calls `benchQuant`), or alone:
 * `node kernels/bench/run.mjs --quant [--full]`.
 */
import type { Backend } from '../backend/ops';
import { paramsPerBlock, parseQuantFormat, type QuantFormat } from '../quant/format';
import { QGEMV_DEFAULT, type QGemvShape, qgemvProgram } from '../quant/gemv';
import { f32ToF16Bits } from '../quant/half';
import { qtiledProgram } from '../quant/tiled';
import { cpuTensor, type Tensor } from '../tensor/tensor';
import { rng, uniform } from '../testing/random';
import { type GpuContext, runProgram } from '../webgpu/context';
import {
  dispatchFor,
  type KernelProgram,
  pipelineCacheKey,
  WGSL_GROUP_INDEX,
} from '../webgpu/program';
import { bufferOf, emptyGpu } from '../webgpu/tensor';
import { entry } from '../webgpu/wgsl';
import { gbps, gflops, timeBatches, timeGpu } from './measure';

export type Report = (
  label: string,
  value: number,
  unit: string,
  ms: number,
  encodeMs?: number,
) => void;

/** Bytes of weights kept in flight so that no GEMV reads hit a 50 MB L2. */
const ROTATION_BYTES = 256 * 1024 * 1024;
/** Without --full (SwiftShader): no rotation, a smoke run of every path. */
const rotation = (full: boolean) => (full ? ROTATION_BYTES : 1);

function copyProgram(vec4s: number, perThread: number, maxDim: number): KernelProgram {
  const wg = 256;
  const wgsl = `
@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> dims: array<u32>;
${entry([wg, 1, 1])}
  ${WGSL_GROUP_INDEX}
  let base = group * ${wg * perThread}u + lid;
  for (var j = 0u; j < ${perThread}u; j++) {
    let i = base + j * ${wg}u;
    if (i < dims[0]) { dst[i] = src[i]; }
  }
}`;
  return {
    name: 'bench-copy',
    workgroupSize: [wg, 1, 1],
    dispatch: dispatchFor(vec4s, wg * perThread, maxDim),
    cacheKey: pipelineCacheKey('bench-copy', { perThread }),
    wgsl,
    meta: Uint32Array.from([vec4s]),
  };
}

/**
 * Times `program` over each buffer set in turn with its pipeline and bind groups made once, so
 * the figure is the GPU's (runProgram's per-dispatch bind group cost ~30 µs of CPU on the H100,
 * more than a decode GEMV takes there). Returns ms per dispatch.
 */
async function timeDispatches(
  ctx: GpuContext,
  program: KernelProgram,
  sets: GPUBuffer[][],
  budgetMs: number,
): Promise<{ ms: number; encodeMs: number }> {
  const device = ctx.device;
  const module = device.createShaderModule({ code: program.wgsl });
  const pipeline = device.createComputePipeline({
    layout: 'auto',
    compute: { module, entryPoint: 'main' },
  });
  const meta = device.createBuffer({
    size: Math.max(16, program.meta.byteLength),
    usage: 0x80 | 0x8,
  });
  device.queue.writeBuffer(
    meta,
    0,
    program.meta.buffer as ArrayBuffer,
    program.meta.byteOffset,
    program.meta.byteLength,
  );
  const layout = pipeline.getBindGroupLayout(0);
  const groups = sets.map((bufs) =>
    device.createBindGroup({
      layout,
      entries: [...bufs, meta].map((buffer, binding) => ({ binding, resource: { buffer } })),
    }),
  );
  const t = await timeBatches(
    () => {
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      for (const g of groups) {
        pass.setBindGroup(0, g);
        pass.dispatchWorkgroups(...program.dispatch);
      }
      pass.end();
      device.queue.submit([encoder.finish()]);
    },
    () => device.queue.onSubmittedWorkDone(),
    budgetMs,
  );
  meta.destroy();
  return { ms: t.msPerIteration / sets.length, encodeMs: t.encodeMsPerIteration / sets.length };
}

/** Random packed words and valid block params (small f16 or f32 values) for W [N, K]. */
function randomQuantized(gpu: Backend, f: QuantFormat, n: number, k: number, seed: number) {
  const r = rng(seed);
  const words = new Int32Array((n * k * f.bits) / 32);
  for (let i = 0; i < words.length; i++) words[i] = (r() * 2 ** 32) | 0;
  const values = (n * k * paramsPerBlock(f)) / f.groupSize;
  let params: Int32Array | Float32Array;
  if (f.scale === 'f32') params = uniform(r, values, -0.01, 0.01);
  else {
    params = new Int32Array(Math.ceil(values / 2));
    for (let i = 0; i < params.length; i++)
      params[i] = f32ToF16Bits(0.01 * r()) | (f32ToF16Bits(-0.01 * r()) << 16);
  }
  return {
    packed: gpu.upload(cpuTensor(words, [words.length])),
    params: gpu.upload(cpuTensor(params, [params.length])),
    bytes: words.byteLength + params.byteLength,
  };
}

export async function benchQuant(
  ctx: GpuContext,
  gpu: Backend,
  full: boolean,
  budgetMs: number,
  report: Report,
): Promise<void> {
  const maxDim = ctx.caps.limits.maxComputeWorkgroupsPerDimension;
  const r = rng(3);
  const rand = (shape: number[]) =>
    cpuTensor(
      uniform(
        r,
        shape.reduce((a, b) => a * b, 1),
      ),
      shape,
    );

  // The bandwidth peer: a plain copy, read + write counted, at two granularities (the best wins).
  const copyBytes = full ? 256 * 1024 * 1024 : 16 * 1024 * 1024;
  const vec4s = copyBytes / 16;
  const src = emptyGpu(ctx, 'f32', [vec4s * 4]);
  const dst = emptyGpu(ctx, 'f32', [vec4s * 4]);
  let copyGbps = 0;
  for (const perThread of [1, 4]) {
    const program = copyProgram(vec4s, perThread, maxDim);
    const buffers = [bufferOf(ctx, src), bufferOf(ctx, dst)];
    const t = await timeGpu(ctx, () => runProgram(ctx, program, buffers), budgetMs);
    const v = gbps(2 * copyBytes, t.msPerIteration);
    copyGbps = Math.max(copyGbps, v);
    report(
      `copy ${copyBytes >> 20} MiB (${perThread} vec4/thread)`,
      v,
      'GB/s',
      t.msPerIteration,
      t.encodeMsPerIteration,
    );
  }
  gpu.dispose(src);
  gpu.dispose(dst);

  const shapes: [number, number][] = full
    ? [
        [4096, 4096],
        [11008, 4096],
        [4096, 11008],
      ]
    : [[768, 768]];
  const formats = ['int4', 'int4:sym', 'int8', 'int3', 'int2', 'int4:g128'];
  const summary: string[] = [];
  for (const [n, k] of shapes) {
    const x = gpu.upload(rand([1, k]));
    const out = emptyGpu(ctx, 'f32', [1, n]);
    // f32 GEMV through the matmul op (Linear layout), rotated the same way.
    {
      const bytes = n * k * 4;
      const copies = Math.max(1, Math.ceil(rotation(full) / bytes));
      const ws: Tensor[] = [];
      for (let c = 0; c < copies; c++) ws.push(gpu.upload(rand([n, k])));
      const matmul = gpu.ops.matmul as NonNullable<Backend['ops']['matmul']>;
      const t = await timeGpu(
        ctx,
        () => {
          for (const w of ws) gpu.dispose(matmul([x, w], { transB: true }));
        },
        budgetMs,
      );
      const ms = t.msPerIteration / copies;
      const v = gbps(bytes + 4 * (n + k), ms);
      report(`gemv f32 ${n}x${k}`, v, 'GB/s', ms, t.encodeMsPerIteration / copies);
      summary.push(
        `${`f32 ${n}x${k}`.padEnd(24)} ${v.toFixed(0).padStart(6)} GB/s  ${((100 * v) / copyGbps).toFixed(1).padStart(5)}% of copy  ${(ms * 1000).toFixed(1)} µs`,
      );
      for (const w of ws) gpu.dispose(w);
    }
    for (const name of formats) {
      const f = parseQuantFormat(name);
      const p = { format: f, n, k };
      const one = randomQuantized(gpu, f, n, k, 1);
      const copies = Math.max(1, Math.ceil(rotation(full) / one.bytes));
      const sets = [one];
      for (let c = 1; c < copies; c++) sets.push(randomQuantized(gpu, f, n, k, 1 + c));
      const bytes = one.bytes + 4 * (n + k);
      const variants: QGemvShape[] =
        name === 'int4' && full
          ? [
              QGEMV_DEFAULT,
              { threads: 32, rows: 4 },
              { threads: 64, rows: 2 },
              { threads: 64, rows: 8 },
              { threads: 128, rows: 2 },
              { threads: 128, rows: 4 },
              { threads: 256, rows: 1 },
              { threads: 256, rows: 2 },
              { threads: 32, rows: 8 },
            ]
          : [QGEMV_DEFAULT];
      for (const shape of variants) {
        const program = qgemvProgram(p, 1, false, shape);
        const bufs = sets.map((s) => [
          bufferOf(ctx, x),
          bufferOf(ctx, s.packed),
          bufferOf(ctx, s.params),
          bufferOf(ctx, out),
        ]);
        const { ms, encodeMs } = await timeDispatches(ctx, program, bufs, budgetMs);
        const v = gbps(bytes, ms);
        const label = `gemv ${name} ${n}x${k} t${shape.threads} r${shape.rows}`;
        report(label, v, 'GB/s', ms, encodeMs);
        if (shape === QGEMV_DEFAULT)
          summary.push(
            `${`${name} ${n}x${k}`.padEnd(24)} ${v.toFixed(0).padStart(6)} GB/s  ${((100 * v) / copyGbps).toFixed(1).padStart(5)}% of copy  ${(ms * 1000).toFixed(1)} µs  (${(one.bytes / 2 ** 20).toFixed(1)} MiB weights)`,
          );
      }
      for (const s of sets) {
        gpu.dispose(s.packed);
        gpu.dispose(s.params);
      }
    }
    gpu.dispose(x);
    gpu.dispose(out);
  }

  // Prefill: the tiled program beside the f32 matmul on the same shape.
  const [pm, pn, pk] = full ? [512, 4096, 4096] : [128, 256, 256];
  const xa = gpu.upload(rand([pm, pk]));
  const wf = gpu.upload(rand([pn, pk]));
  const matmul = gpu.ops.matmul as NonNullable<Backend['ops']['matmul']>;
  const tf = await timeGpu(ctx, () => gpu.dispose(matmul([xa, wf], { transB: true })), budgetMs);
  report(
    `matmul f32 ${pm}x${pk}x${pn} transB`,
    gflops(2 * pm * pn * pk, tf.msPerIteration),
    'GFLOPS',
    tf.msPerIteration,
    tf.encodeMsPerIteration,
  );
  gpu.dispose(wf);
  const pout = emptyGpu(ctx, 'f32', [pm, pn]);
  for (const name of ['int4', 'int8']) {
    const f = parseQuantFormat(name);
    const q = randomQuantized(gpu, f, pn, pk, 9);
    const program = qtiledProgram({ format: f, n: pn, k: pk }, pm, false);
    const bufs = [
      bufferOf(ctx, xa),
      bufferOf(ctx, q.packed),
      bufferOf(ctx, q.params),
      bufferOf(ctx, pout),
    ];
    const t = await timeGpu(ctx, () => runProgram(ctx, program, bufs), budgetMs);
    report(
      `qmatmul tiled ${name} ${pm}x${pk}x${pn}`,
      gflops(2 * pm * pn * pk, t.msPerIteration),
      'GFLOPS',
      t.msPerIteration,
      t.encodeMsPerIteration,
    );
    gpu.dispose(q.packed);
    gpu.dispose(q.params);
  }
  gpu.dispose(xa);
  gpu.dispose(pout);
  console.log(
    `\nquantized GEMV (decode, x one row) vs copy ${copyGbps.toFixed(0)} GB/s in this run; target int4 ≥ 70% of copy:\n${summary.join('\n')}`,
  );
}

/**
 * Model benchmark (`npm run bench:models`): a BERT-base-shaped encoder's latency and cold first
 * run, and a GPT-2-small-shaped decoder's prefill and decode tokens/s, on our WebGPU backend;
 * beside them PyTorch eager fp32 (TF32 off, `torch-compare.py`) and ONNX Runtime Web's WebGPU
 * execution provider (`ort-web.ts`) on the same random weights, all in one process tree, then
 * one table with the ratios and the issue's targets.
 *
 * Without `--full` the shapes are small (SwiftShader). For the GPU machine, here:
 *   npm run bench:models -- --bundle-only --out .gpu/bench-models.mjs
 * and there (`.gpu` carried):
 *   source .gpu/gpu-env.sh && export __GL_SHADER_DISK_CACHE=0 &&
 *   node .gpu/bench-models.mjs --full --torch --ort --out $OUT
 * `--torch [script]` runs the PyTorch side (it reads the weights we write under `--work`);
 * `--ort` runs ORT Web on the ONNX file the PyTorch side exports (or `--onnx <file>`);
 * `--ort-builds jsep,webgpu` picks ORT's builds; `--only bert,gpt2` our models.
 * `__GL_SHADER_DISK_CACHE=0` keeps NVIDIA's shader cache from turning a cold run warm.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHal, type Hal } from '../../../kernels/hal/hal';
import { cpuTensor } from '../../../kernels/tensor/tensor';
import { nodeGpu } from '../../../kernels/testing/node-gpu';
import { flush, type GpuContext } from '../../../kernels/webgpu/context';
import { generate, loadModel, type Model, type Outputs } from '../index';
import { modelFilesFromMap } from '../model-files';
import { type RandomModelSizes, randomModelFiles } from '../testing/random-models';
import { type ORT_BUILDS, runOrtChild } from './ort-web';
import { printReport, type Report } from './report';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
/** `--name value`; `fallback` when absent, `bare` when present without a value. */
function option(name: string, fallback: string | null, bare: string | null = null): string | null {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = args[i + 1];
  return v === undefined || v.startsWith('--') ? bare : v;
}
const now = () => performance.now();
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

const full = flag('--full');
const bundleDir = dirname(fileURLToPath(import.meta.url));
const work = resolve(
  option(
    '--work',
    full ? '/tmp/tabpool-bench-models' : 'node_modules/.cache/tabpool/bench-models',
  ) as string,
);
const outDir = option('--out', null);

export interface Shapes {
  bert: RandomModelSizes;
  seq: number;
  gpt2: RandomModelSizes;
  prompt: number;
  newTokens: number;
  runs: number;
  decodeRuns: number;
}

const shapes: Shapes = full
  ? {
      bert: {
        hidden: 768,
        layers: 12,
        heads: 12,
        intermediate: 3072,
        vocab: 30522,
        maxPositions: 512,
      },
      seq: 128,
      gpt2: {
        hidden: 768,
        layers: 12,
        heads: 12,
        intermediate: 3072,
        vocab: 50257,
        maxPositions: 1024,
      },
      prompt: 128,
      newTokens: 64,
      runs: 20,
      decodeRuns: 3,
    }
  : {
      bert: { hidden: 128, layers: 2, heads: 4, intermediate: 512, vocab: 1000, maxPositions: 128 },
      seq: Number(option('--seq', '32')),
      gpt2: { hidden: 128, layers: 2, heads: 4, intermediate: 512, vocab: 1000, maxPositions: 256 },
      prompt: 32,
      newTokens: 16,
      runs: 10,
      decodeRuns: 2,
    };
// HF's init draws N(0, 0.02); uniform ±0.035 has about that spread.
const WEIGHT_SCALE = 0.035;

/** Deterministic token ids in [1, vocab). */
function tokenIds(n: number, vocab: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return 1 + (s % (vocab - 1));
  });
}

function writeModelDir(dir: string, files: Record<string, Uint8Array | string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
}

async function freshHal(): Promise<{ hal: Hal; ms: number }> {
  const found = await nodeGpu();
  if (!found.gpu) throw new Error(`No WebGPU adapter: ${found.reason}`);
  const t0 = now();
  const hal = await createHal({ gpu: found.gpu });
  if (!hal.gpu) throw new Error('createHal found no WebGPU adapter');
  return { hal, ms: now() - t0 };
}

const dispatches = (hal: Hal) => hal.gpu?.context.dispatches ?? 0;

/**
 * Time spent inside Dawn's synchronous calls that a cold run pays: shader modules and
 * pipelines (compiles), and writeBuffer (weight uploads). Wraps the prototypes once.
 */
const spent = { compileMs: 0, pipelines: 0, writeMs: 0, writeBytes: 0 };
let watching = false;
function watchDawn(): void {
  if (watching) return;
  watching = true;
  const g = globalThis as unknown as {
    GPUDevice: { prototype: GPUDevice };
    GPUQueue: { prototype: GPUQueue };
  };
  const dev = g.GPUDevice.prototype;
  const createShaderModule = dev.createShaderModule;
  const createComputePipeline = dev.createComputePipeline;
  dev.createShaderModule = function (this: GPUDevice, d: GPUShaderModuleDescriptor) {
    const t = now();
    try {
      return createShaderModule.call(this, d);
    } finally {
      spent.compileMs += now() - t;
    }
  };
  dev.createComputePipeline = function (this: GPUDevice, d: GPUComputePipelineDescriptor) {
    const t = now();
    try {
      return createComputePipeline.call(this, d);
    } finally {
      spent.compileMs += now() - t;
      spent.pipelines++;
    }
  };
  const queue = g.GPUQueue.prototype;
  const writeBuffer = queue.writeBuffer;
  queue.writeBuffer = function (this: GPUQueue, ...a: Parameters<GPUQueue['writeBuffer']>) {
    const t = now();
    try {
      return writeBuffer.apply(this, a);
    } finally {
      spent.writeMs += now() - t;
      const data = a[2] as ArrayBufferView | ArrayBuffer;
      spent.writeBytes += a[4] !== undefined ? a[4] : data.byteLength;
    }
  } as GPUQueue['writeBuffer'];
}
const snapshot = () => ({ ...spent });
const diff = (a: typeof spent, b: typeof spent) => ({
  compileMs: b.compileMs - a.compileMs,
  pipelines: b.pipelines - a.pipelines,
  writeMs: b.writeMs - a.writeMs,
  writeMiB: (b.writeBytes - a.writeBytes) / 2 ** 20,
});

/**
 * One forward split in phases: encoding (until forward() resolves), submit (flush), the wait
 * for the GPU (onSubmittedWorkDone), then the readback of `read` (copy + map).
 */
async function phases(
  hal: Hal,
  forward: () => Promise<Outputs>,
  read: string,
  free: (o: Outputs) => void,
) {
  const ctx = hal.gpu?.context as GpuContext;
  const a = now();
  const out = await forward();
  const b = now();
  flush(ctx);
  const c = now();
  await ctx.device.queue.onSubmittedWorkDone();
  const d = now();
  await hal.read(out.get(read) as never);
  const e = now();
  free(out);
  return { encodeMs: b - a, submitMs: c - b, gpuWaitMs: d - c, readMs: e - d, totalMs: e - a };
}
const medianPhases = (xs: Awaited<ReturnType<typeof phases>>[]) => ({
  encodeMs: median(xs.map((x) => x.encodeMs)),
  submitMs: median(xs.map((x) => x.submitMs)),
  gpuWaitMs: median(xs.map((x) => x.gpuWaitMs)),
  readMs: median(xs.map((x) => x.readMs)),
  totalMs: median(xs.map((x) => x.totalMs)),
});

async function benchEncoder(report: Report): Promise<void> {
  const files = randomModelFiles('bert', shapes.bert, 1, WEIGHT_SCALE);
  const ids = tokenIds(shapes.seq, shapes.bert.vocab, 7);
  writeModelDir(join(work, 'bert'), { ...files, 'input_ids.json': JSON.stringify(ids) });
  const { hal, ms: deviceMs } = await freshHal();
  watchDawn();
  const input_ids = cpuTensor(Int32Array.from(ids), [1, shapes.seq]);
  const s0 = snapshot();
  const t0 = now();
  const model = await loadModel(modelFilesFromMap('bench/bert', files), hal);
  const t1 = now();
  const s1 = snapshot();
  const first = await model.forward({ input_ids });
  const last = (await hal.read(first.get('last_hidden_state') as never)) as Float32Array;
  const t2 = now();
  const s2 = snapshot();
  model.free(first);
  writeFileSync(
    join(work, 'ours-bert-last.f32'),
    new Uint8Array(last.buffer, last.byteOffset, last.byteLength),
  );

  const run = async () => {
    const d0 = dispatches(hal);
    const a = now();
    const out = await model.forward({ input_ids });
    const b = now();
    await hal.read(out.get('last_hidden_state') as never);
    const c = now();
    model.free(out);
    return { total: c - a, encode: b - a, dispatches: dispatches(hal) - d0 };
  };
  for (let i = 0; i < 3; i++) await run();
  const runs = [];
  for (let i = 0; i < shapes.runs; i++) runs.push(await run());
  const split = [];
  for (let i = 0; i < 5; i++) {
    split.push(
      await phases(hal, () => model.forward({ input_ids }), 'last_hidden_state', model.free),
    );
  }
  report.ours.bert = {
    phases: medianPhases(split),
    coldLoad: diff(s0, s1),
    coldFirst: diff(s1, s2),
    deviceMs,
    loadMs: t1 - t0,
    firstForwardMs: t2 - t1,
    coldMs: t2 - t0,
    medianMs: median(runs.map((r) => r.total)),
    minMs: Math.min(...runs.map((r) => r.total)),
    encodeMs: median(runs.map((r) => r.encode)),
    runs: runs.length,
    dispatchesPerForward: runs[0]?.dispatches ?? 0,
    paramBytes: model.paramBytes,
    matmulChoices: Object.fromEntries(hal.gpu?.matmulChoices ?? []),
  };
  report.adapter = hal.capabilities
    ? `${hal.capabilities.vendor} ${hal.capabilities.architecture} ${hal.capabilities.description}`.trim()
    : 'none';
  model.dispose();
  hal.gpu?.context.device.destroy();
}

async function generation(model: Model, prompt: number[]) {
  const hal = model.hal;
  const stamps: number[] = [];
  const tokens: number[] = [];
  const d0 = dispatches(hal);
  let d1 = d0;
  const t0 = now();
  for await (const t of generate(model, prompt, { maxNewTokens: shapes.newTokens })) {
    stamps.push(now());
    tokens.push(t.id);
    if (stamps.length === 1) d1 = dispatches(hal);
  }
  const firstAt = stamps[0] as number;
  const lastAt = stamps[stamps.length - 1] as number;
  const steps = stamps.length - 1;
  return {
    tokens,
    prefillMs: firstAt - t0,
    decodeTokS: steps > 0 ? steps / ((lastAt - firstAt) / 1000) : 0,
    msPerToken: steps > 0 ? (lastAt - firstAt) / steps : 0,
    prefillDispatches: d1 - d0,
    dispatchesPerToken: steps > 0 ? (dispatches(hal) - d1) / steps : 0,
  };
}

async function benchDecoder(report: Report): Promise<void> {
  const files = randomModelFiles('gpt2', shapes.gpt2, 2, WEIGHT_SCALE);
  const prompt = tokenIds(shapes.prompt, shapes.gpt2.vocab, 11);
  writeModelDir(join(work, 'gpt2'), { ...files, 'prompt.json': JSON.stringify(prompt) });
  const { hal, ms: deviceMs } = await freshHal();
  watchDawn();
  const s0 = snapshot();
  const t0 = now();
  const model = await loadModel(modelFilesFromMap('bench/gpt2', files), hal);
  const t1 = now();
  const s1 = snapshot();
  const cold = await generation(model, prompt);
  const s2 = snapshot();
  const runs = [];
  for (let i = 0; i < shapes.decodeRuns; i++) runs.push(await generation(model, prompt));
  // One decode step split in phases (as generate() runs it, logits of the last position only).
  const cache = model.newCache();
  const split = [];
  if (cache) {
    const prefill = await model.forward(
      { input_ids: cpuTensor(Int32Array.from(prompt), [1, prompt.length]) },
      { cache, lastLogitsOnly: true },
    );
    model.free(prefill);
    for (let i = 0; i < 16; i++) {
      const input_ids = cpuTensor(Int32Array.from([prompt[i] as number]), [1, 1]);
      split.push(
        await phases(
          hal,
          () => model.forward({ input_ids }, { cache, lastLogitsOnly: true }),
          'logits',
          model.free,
        ),
      );
    }
    cache.dispose();
  }
  const best = runs[runs.length - 1] ?? cold;
  writeFileSync(join(work, 'ours-gpt2-tokens.json'), JSON.stringify(best.tokens));
  report.ours.gpt2 = {
    stepPhases: split.length ? medianPhases(split) : undefined,
    coldLoad: diff(s0, s1),
    coldFirst: diff(s1, s2),
    deviceMs,
    loadMs: t1 - t0,
    coldPrefillMs: cold.prefillMs,
    coldMs: t1 - t0 + cold.prefillMs,
    prefillMs: median(runs.map((r) => r.prefillMs)),
    decodeTokS: median(runs.map((r) => r.decodeTokS)),
    msPerToken: median(runs.map((r) => r.msPerToken)),
    prefillDispatches: best.prefillDispatches,
    dispatchesPerToken: best.dispatchesPerToken,
    tokens: best.tokens,
    runs: runs.length,
    matmulChoices: Object.fromEntries(hal.gpu?.matmulChoices ?? []),
  };
  model.dispose();
  hal.gpu?.context.device.destroy();
}

function runTorch(report: Report): void {
  const script = resolve(option('--torch', '', 'core/models/bench/torch-compare.py') as string);
  const json = join(work, 'torch.json');
  const py = process.env.PYTHON ?? 'python3';
  const exportOnnx = flag('--ort') && !option('--onnx', null);
  const t0 = now();
  const r = spawnSync(
    py,
    [
      script,
      '--work',
      work,
      '--json',
      json,
      '--runs',
      String(shapes.runs),
      '--decode-runs',
      String(shapes.decodeRuns),
      '--new-tokens',
      String(shapes.newTokens),
      ...(exportOnnx ? ['--export-onnx', join(work, 'bert.onnx')] : []),
    ],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
      timeout: Number(option('--torch-timeout', '300')) * 1000,
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
    },
  );
  console.log(`[bench] PyTorch side took ${((now() - t0) / 1000).toFixed(1)} s (exit ${r.status})`);
  if (existsSync(json)) report.torch = JSON.parse(readFileSync(json, 'utf8'));
  else report.errors.push(`PyTorch: ${r.error?.message ?? `exit ${r.status} ${r.signal ?? ''}`}`);
}

function runOrt(report: Report): void {
  const onnx = resolve(option('--onnx', join(work, 'bert.onnx')) as string);
  if (!existsSync(onnx)) {
    report.errors.push(`ORT Web: no ONNX model at ${onnx} (the PyTorch side exports it)`);
    return;
  }
  const builds = (option('--ort-builds', 'jsep,webgpu') as string).split(',');
  for (const build of builds) {
    const json = join(work, `ort-${build}.json`);
    const t0 = now();
    const r = spawnSync(
      process.execPath,
      [
        fileURLToPath(import.meta.url),
        '--ort-child',
        '--ort-build',
        build,
        '--onnx',
        onnx,
        '--ids',
        join(work, 'bert', 'input_ids.json'),
        '--ours',
        join(work, 'ours-bert-last.f32'),
        '--json',
        json,
        '--runs',
        String(shapes.runs),
        '--ort-dir',
        option('--ort-dir', '') as string,
      ],
      {
        stdio: ['ignore', 'inherit', 'inherit'],
        timeout: Number(option('--ort-timeout', '200')) * 1000,
      },
    );
    console.log(
      `[bench] ORT Web (${build}) took ${((now() - t0) / 1000).toFixed(1)} s (exit ${r.status}${r.signal ? ` ${r.signal}` : ''})`,
    );
    if (existsSync(json)) {
      const res = JSON.parse(readFileSync(json, 'utf8'));
      if (res.error) report.errors.push(`ORT Web (${build}): ${res.error}`);
      report.ort[build] = res;
    } else {
      report.errors.push(
        `ORT Web (${build}): no result (${r.error?.message ?? `exit ${r.status} ${r.signal ?? ''}`})`,
      );
    }
  }
}

async function main(): Promise<void> {
  if (flag('--ort-child')) {
    const dir = option('--ort-dir', '') || defaultOrtDir();
    await runOrtChild({
      build: option('--ort-build', 'jsep') as (typeof ORT_BUILDS)[number],
      onnx: option('--onnx', '') as string,
      ids: option('--ids', '') as string,
      ours: option('--ours', null),
      json: option('--json', '') as string,
      runs: Number(option('--runs', '10')),
      ortDir: dir,
    });
    return;
  }
  mkdirSync(work, { recursive: true });
  const report: Report = {
    full,
    shapes,
    adapter: '',
    shaderCache:
      process.env.__GL_SHADER_DISK_CACHE === '0'
        ? 'off (__GL_SHADER_DISK_CACHE=0): cold runs compile every pipeline'
        : 'driver default (a repeated run may reuse compiled shaders)',
    ours: {},
    torch: null,
    ort: {},
    errors: [],
  };
  const only = option('--only', 'bert,gpt2') as string;
  for (const [name, fn] of [
    ['bert', benchEncoder],
    ['gpt2', benchDecoder],
  ] as const) {
    if (!only.split(',').includes(name)) continue;
    const t0 = now();
    try {
      await fn(report);
    } catch (e) {
      report.errors.push(`ours (${name}): ${(e as Error).stack ?? e}`);
    }
    console.log(`[bench] ours (${name}) took ${((now() - t0) / 1000).toFixed(1)} s`);
  }
  if (option('--torch', null, '') !== null) runTorch(report);
  if (flag('--ort')) runOrt(report);
  const text = printReport(report);
  console.log(text);
  if (outDir) {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'bench-models.json'), JSON.stringify(report, null, 1));
    writeFileSync(join(outDir, 'bench-models.txt'), text);
  }
}

/** ORT Web's files: `ort/` beside the bundle (prepared by tools/bench-models.mjs), else node_modules. */
function defaultOrtDir(): string {
  const beside = join(bundleDir, 'ort');
  return existsSync(beside) ? beside : resolve('node_modules/onnxruntime-web/dist');
}

await main();
// Dawn keeps the event loop alive; leave once everything is printed.
process.exit(0);

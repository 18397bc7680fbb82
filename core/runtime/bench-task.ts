/**
 * The `benchmark` task: times kernels (matmul, softmax) and stored models' forward passes on
 * every backend this host has — the CPU kernels always, WebGPU when an adapter exists, software
 * ones included (labelled as such by the adapter name) — with the kernel benchmark's own timing
 * helpers, so the dashboard's figures are measured the way `npm run bench:kernels` measures.
 *
 * Runs where model tasks run (a host's model Worker), so heartbeats never wait on it.
 */
import type { Backend } from '../../kernels/backend/ops';
import { timeBatches, timeGpu } from '../../kernels/bench/measure';
import { createCpuBackend } from '../../kernels/cpu/backend';
import { type Hal, halFromBackends } from '../../kernels/hal/hal';
import { cpuTensor, type Tensor } from '../../kernels/tensor/tensor';
import { createWebGpuBackend } from '../../kernels/webgpu/backend';
import { createGpuContext, type GpuContext } from '../../kernels/webgpu/context';
import { loadModel, type ModelInputs } from '../models';
import { modelFilesFromStorage } from '../models/model-files-storage';
import { AbortedError, InvalidParamsError } from '../protocol/errors';
import type { BenchmarkTask, BenchSample } from '../protocol/host';
import { hostDb } from './tasks';

/** Bounds a caller cannot pass: the task runs on the user's machine, in their browser. */
const LIMITS = { cases: 16, models: 4, minSize: 8, maxSize: 2048, maxBudgetMs: 10_000 };

interface BenchBackend {
  name: 'webgpu' | 'cpu';
  adapter: string | null;
  backend: Backend;
  gpu: GpuContext | null;
  hal: Hal;
}

/**
 * @example
 * const samples = await runBenchmark({ kernels: [{ op: 'matmul', size: 64 }], models: [], budgetMs: 200 });
 */
export async function runBenchmark(
  params: BenchmarkTask,
  { signal, gpu = globalThis.navigator?.gpu }: { signal?: AbortSignal; gpu?: GPU | undefined } = {},
): Promise<BenchSample[]> {
  checkParams(params);
  const backends = await openBackends(gpu);
  const samples: BenchSample[] = [];
  try {
    for (const b of backends) {
      for (const c of params.kernels) {
        if (signal?.aborted) throw new AbortedError('The benchmark was cancelled');
        samples.push(await timeKernel(b, c.op, c.size, params.budgetMs));
      }
      for (const id of params.models) {
        if (signal?.aborted) throw new AbortedError('The benchmark was cancelled');
        samples.push(await timeModel(b, id, params.budgetMs));
      }
    }
  } finally {
    for (const b of backends) b.gpu?.device.destroy();
  }
  return samples;
}

function checkParams(p: BenchmarkTask): void {
  const bad = (why: string) => new InvalidParamsError(`benchmark: ${why}`);
  if (!Array.isArray(p?.kernels) || !Array.isArray(p.models)) throw bad('kernels and models');
  if (p.kernels.length > LIMITS.cases || p.models.length > LIMITS.models) throw bad('too many');
  for (const c of p.kernels) {
    if (c.op !== 'matmul' && c.op !== 'softmax') throw bad(`unknown kernel ${String(c.op)}`);
    if (!Number.isInteger(c.size) || c.size < LIMITS.minSize || c.size > LIMITS.maxSize) {
      throw bad(`size ${String(c.size)} outside ${LIMITS.minSize}..${LIMITS.maxSize}`);
    }
  }
  if (!p.models.every((m) => typeof m === 'string' && m.includes('@'))) throw bad('model ids');
  if (!(p.budgetMs > 0 && p.budgetMs <= LIMITS.maxBudgetMs)) throw bad('budgetMs');
}

async function openBackends(gpu: GPU | undefined): Promise<BenchBackend[]> {
  const cpu = createCpuBackend();
  const out: BenchBackend[] = [
    { name: 'cpu', adapter: null, backend: cpu, gpu: null, hal: halFromBackends([cpu]) },
  ];
  const adapter = await gpu?.requestAdapter().catch(() => null);
  if (gpu && adapter) {
    const ctx = await createGpuContext(adapter);
    const backend = createWebGpuBackend(ctx);
    const info = adapter.info as Partial<GPUAdapterInfo> | undefined;
    const name = [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' ');
    // One device for kernels and models; destroyed when the benchmark ends.
    out.push({
      name: 'webgpu',
      adapter: name || 'unknown adapter',
      backend,
      gpu: ctx,
      hal: halFromBackends([backend, createCpuBackend()], backend),
    });
  }
  return out;
}

/** Seeded values in [-1, 1): the same inputs on every backend and run. */
function randomTensor(shape: number[], seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 31 - 1;
  }
  return cpuTensor(data, shape);
}

async function timeKernel(
  b: BenchBackend,
  op: 'matmul' | 'softmax',
  n: number,
  budgetMs: number,
): Promise<BenchSample> {
  const upload = (t: Tensor) => (b.gpu ? b.backend.upload(t) : t);
  const inputs =
    op === 'matmul'
      ? [upload(randomTensor([n, n], 1)), upload(randomTensor([n, n], 2))]
      : [upload(randomTensor([n, n], 3))];
  const { matmul, softmax } = b.backend.ops;
  if (!matmul || !softmax) throw new InvalidParamsError(`${b.name} has no ${op} kernel`);
  const once = () => {
    const y =
      op === 'matmul' ? matmul(inputs as [Tensor, Tensor], {}) : softmax(inputs as [Tensor], {});
    b.backend.dispose(y);
  };
  const t = b.gpu
    ? await timeGpu(b.gpu, once, budgetMs)
    : await timeBatches(once, async () => {}, budgetMs);
  for (const x of inputs) b.backend.dispose(x);
  // matmul: 2n³ flops; softmax: ~5 per element (max, subtract, exp, sum, divide).
  const flop = op === 'matmul' ? 2 * n ** 3 : 5 * n * n;
  return {
    suite: 'kernel',
    name: op,
    shape: op === 'matmul' ? `${n}x${n}x${n}` : `${n}x${n}`,
    backend: b.name,
    adapter: b.adapter,
    ms: t.msPerIteration,
    gflops: flop / t.msPerIteration / 1e6,
    iterations: t.iterations,
  };
}

/** Tokens (or one image) a forward pass gets: small, the shape a page's short text has. */
const MODEL_TOKENS = 16;

async function timeModel(b: BenchBackend, id: string, budgetMs: number): Promise<BenchSample> {
  const model = await loadModel(modelFilesFromStorage(hostDb(), id), b.hal);
  try {
    const c = model.config;
    let inputs: ModelInputs;
    let shape: string;
    if (c.family === 'vit') {
      const dims = [1, c.channels, c.imageSize, c.imageSize];
      inputs = { pixel_values: randomTensor(dims, 4) };
      shape = dims.join('x');
    } else if ('vocab' in c && 'maxPositions' in c) {
      const seq = Math.min(MODEL_TOKENS, c.maxPositions);
      const ids = Int32Array.from({ length: seq }, (_, i) => (i * 7 + 1) % c.vocab);
      inputs = { input_ids: cpuTensor(ids, [1, seq]) };
      shape = `1x${seq} tokens`;
    } else {
      throw new InvalidParamsError(
        `benchmark: no inputs for a ${model.config.family} model (${id}) yet`,
      );
    }
    const forward = async () => {
      const out = await model.forward(inputs);
      // Reading one output waits for the GPU, so the time covers the whole pass.
      const first = out.values().next().value;
      if (first) await model.hal.read(first);
      model.free(out);
    };
    await forward(); // warm-up: pipelines compiled, weights uploaded
    const times: number[] = [];
    const start = performance.now();
    while (times.length < 3 || (performance.now() - start < budgetMs && times.length < 50)) {
      const t0 = performance.now();
      await forward();
      times.push(performance.now() - t0);
    }
    times.sort((x, y) => x - y);
    return {
      suite: 'model',
      name: id,
      shape,
      backend: b.name,
      adapter: b.adapter,
      ms: times[times.length >> 1] as number,
      gflops: null,
      iterations: times.length,
    };
  } finally {
    model.dispose();
  }
}

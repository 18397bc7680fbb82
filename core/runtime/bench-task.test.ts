import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeGpu } from '../../kernels/testing/node-gpu';
import { downloadModel } from '../../storage';
import { startTestHubServer, type TestHubServer } from '../../storage/test-hub-server';
import { randomModelFiles } from '../models/testing/random-models';
import { runBenchmark } from './bench-task';
import { hostDb } from './tasks';

/**
 * The benchmark task on the kernels' real backends: the CPU, and WebGPU where this machine has
 * an adapter (Dawn on SwiftShader here), with a model stored the way hosts store them.
 */
let hub: TestHubServer;
let gpu: GPU | undefined;

beforeAll(async () => {
  hub = await startTestHubServer();
  const files = randomModelFiles(
    'gpt2',
    { hidden: 32, layers: 1, heads: 2, intermediate: 64, vocab: 50, maxPositions: 8 },
    3,
  );
  for (const [name, body] of Object.entries(files)) {
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    hub.addFile('test/bench', 'main', name, bytes, name.endsWith('.safetensors'));
  }
  await downloadModel({
    db: hostDb(),
    baseUrl: hub.baseUrl,
    repo: 'test/bench',
    files: ['config.json', 'model.safetensors'],
  });
  const found = await nodeGpu();
  gpu = found.adapter ? found.gpu : undefined;
});

afterAll(async () => {
  await hub?.close();
});

describe('runBenchmark', () => {
  it('times each kernel case and the model on every backend it has', async () => {
    const samples = await runBenchmark(
      {
        kernels: [
          { op: 'matmul', size: 16 },
          { op: 'softmax', size: 32 },
        ],
        models: ['test/bench@main'],
        budgetMs: 20,
      },
      { gpu },
    );
    const backends = gpu ? ['cpu', 'webgpu'] : ['cpu'];
    expect(samples.map((s) => `${s.backend} ${s.suite} ${s.name} ${s.shape}`)).toEqual(
      backends.flatMap((b) => [
        `${b} kernel matmul 16x16x16`,
        `${b} kernel softmax 32x32`,
        // maxPositions 8 caps the 16 tokens the benchmark sends
        `${b} model test/bench@main 1x8 tokens`,
      ]),
    );
    for (const s of samples) {
      expect(s.ms).toBeGreaterThan(0);
      expect(s.iterations).toBeGreaterThanOrEqual(3);
      expect(s.adapter === null).toBe(s.backend === 'cpu');
      expect(s.gflops === null).toBe(s.suite === 'model');
    }
  });

  it('refuses cases outside its bounds and models that are not stored', async () => {
    const bad = (p: object) =>
      runBenchmark({ kernels: [], models: [], budgetMs: 20, ...p }, { gpu: undefined }).then(
        () => 'ran',
        (e: { code: string }) => e.code,
      );
    expect(await bad({ kernels: [{ op: 'matmul', size: 4096 }] })).toBe('INVALID_PARAMS');
    expect(await bad({ kernels: [{ op: 'conv', size: 16 }] })).toBe('INVALID_PARAMS');
    expect(await bad({ budgetMs: 60_000 })).toBe('INVALID_PARAMS');
    expect(await bad({ models: ['no-revision'] })).toBe('INVALID_PARAMS');
    expect(await bad({ models: ['test/absent@main'] })).toBe('NOT_FOUND');
  });
});

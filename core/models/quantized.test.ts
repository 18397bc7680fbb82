/**
 * Quantized weights at load (`loadModel(files, hal, { quantize })`) against the same model in
 * f32, on the CPU backend: the GPT-2 and Llama PyTorch fixtures and a larger random Llama
 * (hidden 256, 4 layers). Per format it prints the cosine and max abs error of all logits of an
 * 8-token prompt, the weight bytes as a share of f32's, top-1 agreement with f32 over 16
 * teacher-forced positions (f32's greedy continuation fed to both) and how many free-running
 * greedy tokens match f32's before the first difference; budgets (with margin over what was
 * measured) are asserted.
 * Also a mixed plan (int4 with the first/last layer and the head at int8), WebGPU int4 vs CPU
 * int4 on SwiftShader, and generation through an int8 KV cache.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createHal, type Hal } from '../../kernels/hal/hal';
import { errorStats } from '../../kernels/quant/stats';
import { cpuTensor } from '../../kernels/tensor/tensor';
import { nodeGpu } from '../../kernels/testing/node-gpu';
import { generateAll, loadModel, type Model } from './index';
import { type ModelFiles, modelFilesFromMap } from './model-files';
import { modelFilesFromDir } from './model-files-node';
import type { QuantizeOption } from './quantize';
import { randomModelFiles } from './testing/random-models';

const FIXTURES = resolve(import.meta.dirname, '../../tests/fixtures/models');
const PROMPT = [5, 17, 42, 7, 99, 3, 64, 11];
const NEW_TOKENS = 16;

interface Budget {
  cosine: number;
  /** Largest |logit error| as a share of the largest |logit|. */
  maxRel: number;
  /** Weight bytes / f32 weight bytes at most, on the 256×4 model (fixtures are embedding-bound). */
  bytes: number;
  /** Positions (of 16, fed f32's greedy tokens) whose argmax equals f32's, at least. */
  forced: number;
}

type Case = [format: string, option: QuantizeOption, budget: Budget];

// Budgets sit beside the figures measured on 2026-11-27 (table in docs/architecture.md).
const CASES: Case[] = [
  ['int8', 'int8', { cosine: 0.9995, maxRel: 0.04, bytes: 0.3, forced: 15 }],
  ['int4', 'int4', { cosine: 0.95, maxRel: 0.4, bytes: 0.2, forced: 4 }],
  ['int3', 'int3', { cosine: 0.8, maxRel: 0.8, bytes: 0.17, forced: 0 }],
  ['int2', 'int2', { cosine: 0.45, maxRel: 1.2, bytes: 0.14, forced: 0 }],
  [
    'int4+int8 ends',
    { default: 'int4', layers: { 0: 'int8', 3: 'int8' }, head: 'int8' },
    { cosine: 0.98, maxRel: 0.25, bytes: 0.25, forced: 8 },
  ],
];

const MODELS: [name: string, files: () => ModelFiles][] = [
  ['gpt2', () => modelFilesFromDir(resolve(FIXTURES, 'gpt2'))],
  ['llama', () => modelFilesFromDir(resolve(FIXTURES, 'llama'))],
  [
    'llama-256x4',
    () =>
      modelFilesFromMap(
        'random-llama',
        randomModelFiles(
          'llama',
          { hidden: 256, layers: 4, heads: 8, kvHeads: 4, intermediate: 704, vocab: 512 },
          3,
          0.1,
        ),
      ),
  ],
];

async function logitsOf(model: Model, ids: readonly number[] = PROMPT): Promise<Float32Array> {
  const out = await model.forward({ input_ids: cpuTensor(Int32Array.from(ids), [1, ids.length]) });
  try {
    return (await model.hal.read(out.get('logits') as never)) as Float32Array;
  } finally {
    model.free(out);
  }
}

const greedy = (model: Model) =>
  generateAll(model, PROMPT, { maxNewTokens: NEW_TOKENS }).then((ids) => ids.slice(PROMPT.length));

/** Argmax of each of the last `n` rows of logits [1, S, V]. */
function argmaxes(logits: Float32Array, vocab: number, n: number): number[] {
  const rows = logits.length / vocab;
  return Array.from({ length: n }, (_, j) => {
    const row = logits.subarray((rows - n + j) * vocab, (rows - n + j + 1) * vocab);
    return row.indexOf(Math.max(...row));
  });
}

/** Greedy tokens equal to f32's before the first difference. */
const prefixAgreement = (a: readonly number[], b: readonly number[]): number => {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return i;
};

const table: string[] = [
  'model        format          cosine     max abs    max rel   bytes/f32  forced  free-run',
];
afterAll(() => console.info(`Quantized weights vs f32 (CPU):\n${table.join('\n')}`));

describe.each(MODELS)('%s', async (name, files) => {
  const hal = await createHal();
  const f32 = await loadModel(files(), hal);
  const vocab = (f32.config as { vocab: number }).vocab;
  const wantLogits = await logitsOf(f32);
  const wantTokens = await greedy(f32);
  // Teacher forcing: every model reads f32's greedy continuation, so one early near-tie does
  // not decide all later positions (the tiny fixtures have many near-ties).
  const forcedIds = [...PROMPT, ...wantTokens.slice(0, -1)];
  const wantForced = argmaxes(await logitsOf(f32, forcedIds), vocab, NEW_TOKENS);
  const cosines = new Map<string, number>();
  afterAll(() => f32.dispose());

  it.each(CASES)('%s', async (label, option, budget) => {
    const q = await loadModel(files(), hal, { quantize: option });
    try {
      const st = errorStats(await logitsOf(q), wantLogits);
      const share = q.paramBytes / f32.paramBytes;
      const got = argmaxes(await logitsOf(q, forcedIds), vocab, NEW_TOKENS);
      const forced = got.filter((t, i) => t === wantForced[i]).length;
      const free = prefixAgreement(await greedy(q), wantTokens);
      cosines.set(label, st.cosine);
      table.push(
        `${name.padEnd(12)} ${label.padEnd(15)} ${st.cosine.toFixed(6)}  ${st.maxAbs.toExponential(2)}  ${st.maxRel.toFixed(4)}    ${share.toFixed(3)}      ${String(forced).padStart(2)}/${NEW_TOKENS}   ${String(free).padStart(2)}/${NEW_TOKENS}`,
      );
      expect(st.cosine).toBeGreaterThanOrEqual(budget.cosine);
      expect(st.maxRel).toBeLessThanOrEqual(budget.maxRel);
      expect(forced).toBeGreaterThanOrEqual(budget.forced);
      expect(q.paramBytes).toBeLessThan(f32.paramBytes);
      if (name === 'llama-256x4') expect(share).toBeLessThanOrEqual(budget.bytes);
      // The mixed plan spends its extra bytes where they help: closer than plain int4.
      if (label === 'int4+int8 ends') expect(st.cosine).toBeGreaterThan(cosines.get('int4') ?? 1);
    } finally {
      q.dispose();
    }
  });
});

it('rejects a bad format name before reading weights', async () => {
  const hal = await createHal();
  await expect(
    loadModel(modelFilesFromDir(resolve(FIXTURES, 'llama')), hal, { quantize: 'int5' }),
  ).rejects.toMatchObject({ code: 'INVALID_PARAMS' });
});

it('keeps the f32 weights and bytes when quantize is absent', async () => {
  const hal = await createHal();
  const files = modelFilesFromDir(resolve(FIXTURES, 'gpt2'));
  const m = await loadModel(files, hal);
  const onDisk = readFileSync(resolve(FIXTURES, 'gpt2/model.safetensors')).byteLength;
  // f32 checkpoint: the uploaded bytes are the file's tensors (header aside).
  expect(m.paramBytes).toBeLessThanOrEqual(onDisk);
  expect(m.paramBytes).toBeGreaterThan(onDisk * 0.95);
  m.dispose();
});

it('generates through an int8 KV cache with the same greedy tokens as the f32 cache', async () => {
  const hal = await createHal();
  const files = MODELS[2]?.[1] as () => ModelFiles;
  const m = await loadModel(files(), hal);
  const q = await loadModel(files(), hal, { kvCache: 'int8' });
  expect(q.newCache()?.bits).toBe(8);
  const want = await greedy(m);
  const got = await greedy(q);
  table.push(
    `llama-256x4  f32 weights, int8 KV cache: free-run ${prefixAgreement(got, want)}/${NEW_TOKENS}`,
  );
  expect(got).toEqual(want);
  m.dispose();
  q.dispose();
});

const gpu = await nodeGpu();
describe.skipIf(!gpu.gpu)('WebGPU (SwiftShader)', () => {
  it('int4 llama-256x4 logits match the CPU int4 model', async () => {
    if (!gpu.gpu) return;
    const files = MODELS[2]?.[1] as () => ModelFiles;
    const cpu = await loadModel(files(), await createHal(), { quantize: 'int4' });
    const hal: Hal = await createHal({ gpu: gpu.gpu });
    expect(hal.gpu).not.toBeNull();
    const webgpu = await loadModel(files(), hal, { quantize: 'int4' });
    const st = errorStats(await logitsOf(webgpu), await logitsOf(cpu));
    table.push(
      `llama-256x4  int4 WebGPU vs int4 CPU: cosine ${st.cosine.toFixed(7)}, max abs ${st.maxAbs.toExponential(2)}`,
    );
    expect(st.maxRel).toBeLessThan(1e-3);
    cpu.dispose();
    webgpu.dispose();
  });
});

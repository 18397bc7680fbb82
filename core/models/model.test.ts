/**
 * The model layer on random-weight models of every family: the CPU and WebGPU backends agree,
 * the KV cache gives the same tokens as recomputing the whole sequence, sampling is
 * reproducible by seed, stop tokens and cancellation end a generation, bad inputs are typed.
 * (Parity with PyTorch is parity.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { createHal, type Hal } from '../../kernels/hal/hal';
import { cpuTensor } from '../../kernels/tensor/tensor';
import { nodeGpu } from '../../kernels/testing/node-gpu';
import { generate, generateAll, loadModel, type Model, type ModelInputs } from './index';
import { modelFilesFromMap } from './model-files';
import { type RandomFamily, randomModelFiles } from './testing/random-models';

const sizes = {
  hidden: 16,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  intermediate: 32,
  vocab: 40,
  maxPositions: 32,
  imageSize: 8,
  patchSize: 4,
  labels: 3,
};
const ids = (values: number[], rows = 1) =>
  cpuTensor(Int32Array.from(values), [rows, values.length / rows]);
const inputsFor: Record<RandomFamily, () => ModelInputs> = {
  gpt2: () => ({ input_ids: ids([1, 5, 7, 2]) }),
  llama: () => ({ input_ids: ids([1, 5, 7, 2]) }),
  bert: () => ({
    input_ids: ids([1, 5, 7, 2, 3, 4, 0, 0], 2),
    attention_mask: ids([1, 1, 1, 1, 1, 1, 0, 0], 2),
  }),
  vit: () => ({
    pixel_values: cpuTensor(
      Float32Array.from({ length: 2 * 3 * 64 }, (_, i) => Math.sin(i)),
      [2, 3, 8, 8],
    ),
  }),
};
const gpu = await nodeGpu();
const load = (family: RandomFamily, hal: Hal) =>
  loadModel(modelFilesFromMap(family, randomModelFiles(family, sizes, 3, 0.3)), hal);

async function readAll(model: Model, inputs: ModelInputs) {
  const out = await model.forward(inputs, { hiddenStates: true });
  const values: Record<string, Float32Array> = {};
  for (const [k, t] of out) values[k] = (await model.hal.read(t)) as Float32Array;
  model.free(out);
  return values;
}

describe.runIf(gpu.gpu !== null)('cpu and webgpu agree', () => {
  it.each(['gpt2', 'llama', 'bert', 'vit'] as const)('%s', async (family) => {
    const cpu = await readAll(await load(family, await createHal()), inputsFor[family]());
    const webgpu = await load(family, await createHal({ gpu: gpu.gpu }));
    expect(webgpu.hal.gpu).not.toBeNull();
    const other = await readAll(webgpu, inputsFor[family]());
    expect(Object.keys(other).sort()).toEqual(Object.keys(cpu).sort());
    expect(Object.keys(cpu)).toContain('hidden_states.2');
    for (const [name, want] of Object.entries(cpu)) {
      const got = other[name] as Float32Array;
      const err = want.reduce((m, w, i) => Math.max(m, Math.abs(w - (got[i] as number))), 0);
      expect(err, name).toBeLessThan(1e-4);
    }
  });
});

describe('generation', () => {
  it.each(['gpt2', 'llama'] as const)(
    '%s: the KV cache gives the tokens recomputing gives',
    async (family) => {
      const model = await load(family, await createHal());
      const cached = await generateAll(model, [1, 5, 7], { maxNewTokens: 8 });
      const recomputed = [1, 5, 7];
      for (let i = 0; i < 8; i++) {
        const out = await model.forward({ input_ids: ids(recomputed) });
        const logits = (await model.hal.read(out.get('logits') as never)) as Float32Array;
        model.free(out);
        const last = logits.subarray(logits.length - sizes.vocab);
        recomputed.push(last.indexOf(Math.max(...last)));
      }
      expect(cached).toEqual(recomputed);
    },
  );

  it('samples reproducibly by seed, differently across seeds', async () => {
    const model = await load('llama', await createHal());
    const opts = { maxNewTokens: 12, temperature: 1.5, topK: 20, topP: 0.95 };
    const a = await generateAll(model, [1, 2], { ...opts, seed: 7 });
    expect(await generateAll(model, [1, 2], { ...opts, seed: 7 })).toEqual(a);
    const others = await Promise.all(
      [8, 9, 10].map((seed) => generateAll(model, [1, 2], { ...opts, seed })),
    );
    expect(others.some((o) => o.join() !== a.join())).toBe(true);
  });

  it('stops after a stop token and reports why', async () => {
    const model = await load('gpt2', await createHal());
    const free = await generateAll(model, [1, 5, 7], { maxNewTokens: 6 });
    const stop = free[4] as number;
    const tokens = [];
    for await (const t of generate(model, [1, 5, 7], { maxNewTokens: 6, stopTokenIds: [stop] }))
      tokens.push(t);
    expect(tokens.at(-1)).toEqual({ id: stop, done: 'stop' });
    expect(tokens.length).toBeLessThanOrEqual(2);
    const all = [];
    for await (const t of generate(model, [1, 5, 7], { maxNewTokens: 3 })) all.push(t.done);
    expect(all).toEqual([null, null, 'length']);
  });

  it('ends with ABORTED when the signal fires mid-generation', async () => {
    const model = await load('gpt2', await createHal());
    const controller = new AbortController();
    const seen: number[] = [];
    const run = (async () => {
      for await (const t of generate(model, [1], { maxNewTokens: 20, signal: controller.signal })) {
        seen.push(t.id);
        if (seen.length === 2) controller.abort();
      }
    })();
    await expect(run).rejects.toMatchObject({ code: 'ABORTED' });
    expect(seen).toHaveLength(2);
  });

  it('refuses encoders, empty prompts and long prompts with typed errors', async () => {
    const bert = await load('bert', await createHal());
    await expect(generateAll(bert, [1], { maxNewTokens: 1 })).rejects.toMatchObject({
      code: 'INVALID_PARAMS',
    });
    const gpt2 = await load('gpt2', await createHal());
    await expect(generateAll(gpt2, [], { maxNewTokens: 1 })).rejects.toMatchObject({
      code: 'INVALID_PARAMS',
    });
    await expect(
      generateAll(gpt2, new Array(40).fill(1), { maxNewTokens: 1 }),
    ).rejects.toMatchObject({ code: 'INVALID_PARAMS' });
    await expect(
      gpt2.forward({
        input_ids: ids([1, 2, 3, 4, 0, 0], 3),
        attention_mask: ids([1, 1, 0, 1, 1, 0], 3),
      }),
    ).rejects.toMatchObject({ code: 'INVALID_PARAMS' });
  });
});

describe('loading', () => {
  it('names the missing tensor or bad config with BAD_MODEL_FILE', async () => {
    const files = randomModelFiles('gpt2', sizes);
    const cfg = JSON.parse(files['config.json'] as string);
    await expect(
      loadModel(
        modelFilesFromMap('x', { ...files, 'config.json': JSON.stringify({ ...cfg, n_embd: 32 }) }),
        await createHal(),
      ),
    ).rejects.toMatchObject({ code: 'BAD_MODEL_FILE' });
    await expect(
      loadModel(
        modelFilesFromMap('x', { 'model.safetensors': files['model.safetensors'] as Uint8Array }),
        await createHal(),
      ),
    ).rejects.toMatchObject({ code: 'BAD_MODEL_FILE' });
    await expect(
      loadModel(
        modelFilesFromMap('x', {
          ...files,
          'config.json': JSON.stringify({ ...cfg, model_type: 't5' }),
        }),
        await createHal(),
      ),
    ).rejects.toMatchObject({ code: 'UNSUPPORTED_MODEL' });
  });
});

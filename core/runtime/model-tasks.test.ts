/**
 * The host's model tasks on random-weight models with a byte-level tokenizer, on the CPU HAL:
 * run, embed, classify and generate (streamed pieces add up to the text, stop strings, cancel),
 * and the typed errors pages get for models that cannot do what they ask.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createHal } from '../../kernels/hal/hal';
import { modelFilesFromMap } from '../models/model-files';
import { modelFilesFromDir } from '../models/model-files-node';
import { parseSafetensorsHeader, readFloat32 } from '../models/safetensors';
import { byteTokenizerFiles, randomModelFiles } from '../models/testing/random-models';
import { NotFoundError } from '../protocol/errors';
import { int32Tensor } from '../protocol/tensor';
import { createModelTasks } from './model-tasks';

const sizes = {
  hidden: 16,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  intermediate: 32,
  vocab: 260,
  maxPositions: 64,
  labels: 3,
};
const stored: Record<string, Record<string, Uint8Array | string>> = {
  'test/gpt2@main': { ...randomModelFiles('gpt2', sizes, 5, 0.5), ...byteTokenizerFiles() },
  'test/llama@main': { ...randomModelFiles('llama', sizes, 6, 0.5), ...byteTokenizerFiles() },
  'test/bert@main': { ...randomModelFiles('bert', sizes, 7, 0.5), ...byteTokenizerFiles() },
  'test/bare@main': randomModelFiles('gpt2', sizes, 8),
};
const loads: string[] = [];
const tasks = createModelTasks({
  hal: () => createHal(),
  files: (id) => {
    loads.push(id);
    const files = stored[id];
    if (!files) throw new NotFoundError(`No model ${id}`);
    return modelFilesFromMap(id, files);
  },
});
const ctx = () => ({ onProgress: () => {} });

describe('model tasks', () => {
  it('runs named tensors and returns the outputs asked for', async () => {
    const ids = int32Tensor(Int32Array.from([104, 105, 33]), [1, 3]);
    const { outputs } = await tasks.run({ model: 'test/gpt2', inputs: { input_ids: ids } }, ctx());
    expect(Object.keys(outputs).sort()).toEqual(['last_hidden_state', 'logits']);
    expect(outputs.logits?.shape).toEqual([1, 3, 260]);
    const some = await tasks.run(
      { model: 'test/gpt2@main', inputs: { input_ids: ids }, outputs: ['hidden_states.1'] },
      ctx(),
    );
    expect(Object.keys(some.outputs)).toEqual(['hidden_states.1']);
    await expect(
      tasks.run(
        { model: 'test/gpt2', inputs: { input_ids: ids }, outputs: ['pooler_output'] },
        ctx(),
      ),
    ).rejects.toMatchObject({ code: 'INVALID_PARAMS' });
    expect(loads.filter((id) => id === 'test/gpt2@main')).toHaveLength(1);
  });

  it('embeds texts as unit vectors, pooled over real tokens only', async () => {
    const { embeddings } = await tasks.embed(
      { model: 'test/bert', texts: ['hello there', 'hi'], pooling: 'mean', normalize: true },
      ctx(),
    );
    expect(embeddings.shape).toEqual([2, 16]);
    const v = new Float32Array(embeddings.data);
    expect(Math.hypot(...v.subarray(0, 16))).toBeCloseTo(1, 5);
    const alone = await tasks.embed(
      { model: 'test/bert', texts: ['hi'], pooling: 'mean', normalize: true },
      ctx(),
    );
    const single = new Float32Array(alone.embeddings.data);
    for (const [i, x] of single.entries()) expect(x).toBeCloseTo(v[16 + i] as number, 5);
  });

  it('classifies with the labels of id2label, scores summing to 1', async () => {
    const { results } = await tasks.classify(
      { model: 'test/bert', texts: ['good', 'bad'], topK: 3 },
      ctx(),
    );
    expect(results).toHaveLength(2);
    expect(results[0]?.map((r) => r.label).sort()).toEqual(['LABEL_0', 'LABEL_1', 'LABEL_2']);
    expect(results[0]?.reduce((s, r) => s + r.score, 0)).toBeCloseTo(1, 5);
    await expect(
      tasks.classify({ model: 'test/gpt2', texts: ['x'], topK: 1 }, ctx()),
    ).rejects.toMatchObject({
      code: 'INVALID_PARAMS',
    });
  });

  it('streams generated text piece by piece and is reproducible by seed', async () => {
    const pieces: string[] = [];
    const params = {
      model: 'test/llama',
      prompt: 'Once',
      maxTokens: 12,
      temperature: 1,
      topK: 0,
      topP: 1,
      seed: 3,
      stop: [],
      addSpecialTokens: false,
    };
    const out = await tasks.generate(params, {
      onProgress: (p) => pieces.push((p as { token: { text: string } }).token.text),
    });
    expect(out.promptTokens).toBe(4);
    expect(out.tokens).toBeGreaterThan(0);
    expect(pieces.join('')).toBe(out.text);
    expect((await tasks.generate(params, ctx())).text).toBe(out.text);
  });

  it('ends at a stop string, without it', async () => {
    const free = await tasks.generate(
      {
        model: 'test/gpt2',
        prompt: 'ab',
        maxTokens: 10,
        temperature: 0,
        topK: 0,
        topP: 1,
        seed: 0,
        stop: [],
        addSpecialTokens: false,
      },
      ctx(),
    );
    expect(free.text.length).toBeGreaterThanOrEqual(4);
    const stop = free.text.slice(2, 4);
    const cut = await tasks.generate(
      {
        model: 'test/gpt2',
        prompt: 'ab',
        maxTokens: 10,
        temperature: 0,
        topK: 0,
        topP: 1,
        seed: 0,
        stop: [stop],
        addSpecialTokens: false,
      },
      ctx(),
    );
    expect(cut.finishReason).toBe('stop');
    expect(cut.text).toBe(free.text.slice(0, free.text.indexOf(stop)));
  });

  it('stops when cancelled, with ABORTED', async () => {
    const controller = new AbortController();
    let seen = 0;
    await expect(
      tasks.generate(
        {
          model: 'test/gpt2',
          prompt: 'x',
          maxTokens: 50,
          temperature: 1,
          topK: 0,
          topP: 1,
          seed: 1,
          stop: [],
          addSpecialTokens: false,
        },
        { onProgress: () => ++seen === 2 && controller.abort(), signal: controller.signal },
      ),
    ).rejects.toMatchObject({ code: 'ABORTED' });
    expect(seen).toBe(2);
  });

  it('gives typed errors: unknown model, no tokenizer, prompt too long', async () => {
    await expect(
      tasks.embed({ model: 'test/none', texts: ['x'], pooling: 'mean', normalize: true }, ctx()),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(
      tasks.embed({ model: 'test/bare', texts: ['x'], pooling: 'mean', normalize: true }, ctx()),
    ).rejects.toMatchObject({ code: 'INVALID_PARAMS' });
    await expect(
      tasks.generate(
        {
          model: 'test/gpt2',
          prompt: 'y'.repeat(80),
          maxTokens: 5,
          temperature: 0,
          topK: 0,
          topP: 1,
          seed: 0,
          stop: [],
          addSpecialTokens: false,
        },
        ctx(),
      ),
    ).rejects.toMatchObject({ code: 'INVALID_PARAMS' });
  });

  it('keeps at most two models in memory and unloads on request', async () => {
    expect(tasks.loaded().length).toBeLessThanOrEqual(2);
    const last = tasks.loaded().at(-1) as string;
    expect(await tasks.unload({ model: last })).toEqual({ unloaded: 1 });
    expect(await tasks.unload({ model: last })).toEqual({ unloaded: 0 });
  });
});

describe('model tasks on CLIP', () => {
  // The PyTorch fixture: its inputs are these two texts as transformers' CLIPTokenizer made them.
  const dir = resolve(import.meta.dirname, '../../tests/fixtures/models/clip');
  const clipTasks = createModelTasks({
    hal: () => createHal(),
    files: () => modelFilesFromDir(dir),
  });
  const texts = ['a photo of a cat', 'Hello world, the pool keeps running when tabs die.'];

  it("embeds texts as the model's text_embeds (tokenized here, padded batch)", async () => {
    const { embeddings } = await clipTasks.embed(
      { model: 'test/clip', texts, pooling: 'mean', normalize: true },
      ctx(),
    );
    const bytes = new Uint8Array(readFileSync(join(dir, 'reference.safetensors')));
    const header = parseSafetensorsHeader(bytes, { file: 'reference.safetensors' });
    const want = readFloat32(bytes, header, 'text_embeds');
    expect(embeddings.shape).toEqual(header.tensors.get('text_embeds')?.shape);
    const got = new Float32Array(embeddings.data);
    const err = Math.max(...want.map((x, i) => Math.abs(x - (got[i] as number))));
    expect(err).toBeLessThan(1e-5);
  });

  it('returns tower outputs by name, hidden states only when asked', async () => {
    const ids = int32Tensor(Int32Array.from([712, 320, 713]), [1, 3]);
    const { outputs } = await clipTasks.run(
      { model: 'test/clip', inputs: { input_ids: ids } },
      ctx(),
    );
    expect(Object.keys(outputs).sort()).toEqual([
      'text_embeds',
      'text_last_hidden_state',
      'text_pooler_output',
    ]);
    const some = await clipTasks.run(
      { model: 'test/clip', inputs: { input_ids: ids }, outputs: ['text_hidden_states.2'] },
      ctx(),
    );
    expect(some.outputs['text_hidden_states.2']?.shape).toEqual([1, 3, 32]);
  });
});

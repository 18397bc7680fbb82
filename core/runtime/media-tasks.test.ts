/**
 * The page tasks for Whisper (`transcribe`) and CLIP zero-shot `classify`, on the CPU HAL against
 * the PyTorch fixtures' references, and the protocol's checks on their params.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createHal } from '../../kernels/hal/hal';
import { modelFilesFromDir } from '../models/model-files-node';
import { parseSafetensorsHeader, readFloat32, readInt32 } from '../models/safetensors';
import {
  parseClassifyParams,
  parseEmbedParams,
  parseTranscribeParams,
} from '../protocol/inference';
import { float32Tensor, int32Tensor } from '../protocol/tensor';
import { createModelTasks } from './model-tasks';

const fixtures = resolve(import.meta.dirname, '../../tests/fixtures/models');
const tasks = createModelTasks({
  hal: () => createHal(),
  files: (id) => modelFilesFromDir(join(fixtures, id.startsWith('test/clip') ? 'clip' : 'whisper')),
});

function tensors(model: string, file: string) {
  const bytes = new Uint8Array(readFileSync(join(fixtures, model, file)));
  const header = parseSafetensorsHeader(bytes, { file });
  const f32 = (name: string) => readFloat32(bytes, header, name);
  const shape = (name: string) => header.tensors.get(name)?.shape as number[];
  const i64 = (name: string) => Array.from(readInt32(bytes, header, name));
  return { f32, shape, i64 };
}

describe('transcribe (Whisper fixture)', () => {
  const input = tensors('whisper', 'inputs.safetensors');
  const want = tensors('whisper', 'reference.safetensors').i64('generated_ids');
  const audio = () => float32Tensor(input.f32('audio'), input.shape('audio'));

  it("returns transformers' generated ids, streaming each token's text", async () => {
    const pieces: { id: number; text: string }[] = [];
    // The reference is generate(max_new_tokens=8) and ends by length (no end-of-text within 8).
    const params = parseTranscribeParams({
      model: 'test/whisper',
      audio: audio(),
      maxTokens: want.length,
    });
    const r = await tasks.transcribe(params, {
      onProgress: (p) => pieces.push((p as { token: { id: number; text: string } }).token),
    });
    expect(r.tokens).toEqual(want);
    expect(pieces.map((p) => p.id)).toEqual(want);
    expect(pieces.map((p) => p.text).join('')).toBe(r.text);
    expect(r.finishReason).toBe('length');
    // Past the reference's 8 tokens the greedy run goes on with the same first 8.
    const longer = await tasks.transcribe(
      parseTranscribeParams({ model: 'test/whisper', audio: audio(), maxTokens: 12 }),
      { onProgress: () => {} },
    );
    expect(longer.tokens.slice(0, want.length)).toEqual(want);
  });

  it('stops at maxTokens, and when cancelled with ABORTED', async () => {
    const short = await tasks.transcribe(
      parseTranscribeParams({ model: 'test/whisper', audio: audio(), maxTokens: 3 }),
      { onProgress: () => {} },
    );
    expect(short.tokens).toEqual(want.slice(0, 3));
    expect(short.finishReason).toBe('length');
    const controller = new AbortController();
    await expect(
      tasks.transcribe(parseTranscribeParams({ model: 'test/whisper', audio: audio() }), {
        onProgress: () => controller.abort(),
        signal: controller.signal,
      }),
    ).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('refuses unknown languages and non-Whisper models with INVALID_PARAMS', async () => {
    const ctx = { onProgress: () => {} };
    await expect(
      tasks.transcribe(
        parseTranscribeParams({ model: 'test/whisper', audio: audio(), language: 'xx' }),
        ctx,
      ),
    ).rejects.toMatchObject({ code: 'INVALID_PARAMS' });
    await expect(
      tasks.transcribe(parseTranscribeParams({ model: 'test/clip', audio: audio() }), ctx),
    ).rejects.toMatchObject({ code: 'INVALID_PARAMS' });
  });
});

describe('transcribe params', () => {
  const parse =
    (audio: unknown, extra = {}) =>
    () =>
      parseTranscribeParams({ model: 'a/b', audio, ...extra });
  it('takes f32 mono samples up to 30 s at 16 kHz', () => {
    expect(parse(float32Tensor(new Float32Array(10), [1, 10]))().maxTokens).toBe(128);
    expect(parse(int32Tensor(new Int32Array(10), [10]))).toThrow(
      expect.objectContaining({ code: 'INVALID_PARAMS' }),
    );
    expect(parse(float32Tensor(new Float32Array(20), [2, 10]))).toThrow(
      expect.objectContaining({ code: 'INVALID_PARAMS' }),
    );
    expect(parse(float32Tensor(new Float32Array(0), [0]))).toThrow(
      expect.objectContaining({ code: 'INVALID_PARAMS' }),
    );
    expect(parse({ dtype: 'float32', shape: [10], data: new ArrayBuffer(8) })).toThrow(
      expect.objectContaining({ code: 'INVALID_PARAMS' }),
    );
    expect(parse(float32Tensor(new Float32Array(480_001), [480_001]))).toThrow(
      expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }),
    );
    expect(parse(float32Tensor(new Float32Array(1), [1]), { task: 'summarize' })).toThrow(
      expect.objectContaining({ code: 'INVALID_PARAMS' }),
    );
  });
});

describe('classify with CLIP (zero-shot)', () => {
  const input = tensors('clip', 'inputs.safetensors');
  const ref = tensors('clip', 'reference.safetensors');
  // The fixture's text inputs are these two texts as transformers' CLIPTokenizer made them.
  const labels = ['a photo of a cat', 'Hello world, the pool keeps running when tabs die.'];
  const pixelValues = () => float32Tensor(input.f32('pixel_values'), input.shape('pixel_values'));

  it('ranks labels by the softmax of logits_per_image', async () => {
    const { results } = await tasks.classify(
      parseClassifyParams({ model: 'test/clip', pixelValues: pixelValues(), labels }),
      { onProgress: () => {} },
    );
    const logits = ref.f32('logits_per_image');
    expect(results).toHaveLength(3);
    for (const [r, ranked] of results.entries()) {
      const row = [logits[r * 2] as number, logits[r * 2 + 1] as number];
      const max = Math.max(...row);
      const sum = row.reduce((a, x) => a + Math.exp(x - max), 0);
      expect(ranked.map((x) => x.score).reduce((a, x) => a + x, 0)).toBeCloseTo(1, 6);
      expect(ranked[0]?.score).toBeGreaterThanOrEqual(ranked[1]?.score as number);
      for (const { label, score } of ranked) {
        const i = labels.indexOf(label);
        expect(score).toBeCloseTo(Math.exp((row[i] as number) - max) / sum, 5);
      }
    }
  });

  it("embeds images as the model's image_embeds", async () => {
    const { embeddings } = await tasks.embed(
      parseEmbedParams({ model: 'test/clip', pixelValues: pixelValues() }),
      { onProgress: () => {} },
    );
    expect(embeddings.shape).toEqual(ref.shape('image_embeds'));
    const want = ref.f32('image_embeds');
    const got = new Float32Array(embeddings.data);
    expect(Math.max(...want.map((x, i) => Math.abs(x - (got[i] as number))))).toBeLessThan(1e-5);
    expect(() => parseEmbedParams({ model: 'a/b' })).toThrow(
      expect.objectContaining({ code: 'INVALID_PARAMS' }),
    );
    await expect(
      tasks.embed(parseEmbedParams({ model: 'test/whisper', pixelValues: pixelValues() }), {
        onProgress: () => {},
      }),
    ).rejects.toMatchObject({ code: 'INVALID_PARAMS' });
  });

  it('refuses labels without images, and CLIP without labels, with INVALID_PARAMS', async () => {
    expect(() => parseClassifyParams({ model: 'a/b', texts: ['x'], labels: ['y'] })).toThrow(
      expect.objectContaining({ code: 'INVALID_PARAMS' }),
    );
    await expect(
      tasks.classify(parseClassifyParams({ model: 'test/clip', pixelValues: pixelValues() }), {
        onProgress: () => {},
      }),
    ).rejects.toMatchObject({ code: 'INVALID_PARAMS' });
  });
});

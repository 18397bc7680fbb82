/**
 * Whisper on a random checkpoint laid out as transformers saves WhisperForConditionalGeneration:
 * output shapes, the cached decoder against one full pass, generation against a full-recompute
 * greedy loop with the same masks, the prompt rules of transformers' `_retrieve_init_tokens`,
 * and typed errors. Parity with PyTorch itself is in parity.test.ts (tests/fixtures/models/whisper).
 */
import { describe, expect, it } from 'vitest';
import { createHal } from '../../kernels/hal/hal';
import { seededRandom } from '../../kernels/sample/cpu';
import { cpuTensor, type Tensor } from '../../kernels/tensor/tensor';
import { loadModel, type Model } from './index';
import { modelFilesFromMap } from './model-files';
import { type WritableTensor, writeSafetensors } from './safetensors';
import {
  initTokens,
  parseWhisperGenerationConfig,
  transcribeIds,
  type WhisperGenerationConfig,
} from './whisper-generate';

const D = 16;
const MELS = 8;
const P = 10; // encoder positions: 20 frames = 0.2 s at hop 160
const VOCAB = 40;
const TARGET = 24;
const [EOS, SOT, EN, DE, TRANSLATE, TRANSCRIBE, NO_TS] = [30, 31, 32, 33, 34, 35, 36];

function checkpoint(seed: number): Record<string, WritableTensor> {
  const next = seededRandom(seed);
  const shapes: Record<string, number[]> = {
    'model.encoder.conv1.weight': [D, MELS, 3],
    'model.encoder.conv1.bias': [D],
    'model.encoder.conv2.weight': [D, D, 3],
    'model.encoder.conv2.bias': [D],
    'model.encoder.embed_positions.weight': [P, D],
    'model.encoder.layer_norm.weight': [D],
    'model.encoder.layer_norm.bias': [D],
    'model.decoder.embed_tokens.weight': [VOCAB, D],
    'model.decoder.embed_positions.weight': [TARGET, D],
    'model.decoder.layer_norm.weight': [D],
    'model.decoder.layer_norm.bias': [D],
    // Untied here (transformers ties it by default): repeats of the last token are less likely.
    'proj_out.weight': [VOCAB, D],
  };
  const attention = (base: string) => {
    for (const p of ['q', 'k', 'v', 'out']) shapes[`${base}.${p}_proj.weight`] = [D, D];
    for (const p of ['q', 'v', 'out']) shapes[`${base}.${p}_proj.bias`] = [D];
  };
  const layer = (base: string, cross: boolean) => {
    attention(`${base}.self_attn`);
    if (cross) attention(`${base}.encoder_attn`);
    const norms = [
      'self_attn_layer_norm',
      'final_layer_norm',
      ...(cross ? ['encoder_attn_layer_norm'] : []),
    ];
    for (const n of norms) {
      shapes[`${base}.${n}.weight`] = [D];
      shapes[`${base}.${n}.bias`] = [D];
    }
    Object.assign(shapes, {
      [`${base}.fc1.weight`]: [2 * D, D],
      [`${base}.fc1.bias`]: [2 * D],
      [`${base}.fc2.weight`]: [D, 2 * D],
      [`${base}.fc2.bias`]: [D],
    });
  };
  for (let i = 0; i < 2; i++) layer(`model.encoder.layers.${i}`, false);
  for (let i = 0; i < 2; i++) layer(`model.decoder.layers.${i}`, true);
  const out: Record<string, WritableTensor> = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const scale = name.endsWith('norm.weight') ? 1 : 0;
    for (let i = 0; i < data.length; i++) data[i] = scale + (next() - 0.5) * 0.8;
    out[name] = { dtype: 'F32', shape, data };
  }
  return out;
}

const config = {
  model_type: 'whisper',
  architectures: ['WhisperForConditionalGeneration'],
  d_model: D,
  encoder_layers: 2,
  decoder_layers: 2,
  encoder_attention_heads: 4,
  decoder_attention_heads: 2,
  encoder_ffn_dim: 2 * D,
  decoder_ffn_dim: 2 * D,
  vocab_size: VOCAB,
  num_mel_bins: MELS,
  max_source_positions: P,
  max_target_positions: TARGET,
  decoder_start_token_id: SOT,
  activation_function: 'gelu',
};
// 0.2 s chunks: the features are 20 frames, as the model's 10 positions need.
const preprocessor = { feature_size: MELS, chunk_length: 1, sampling_rate: 3200, hop_length: 160 };
const generation = {
  decoder_start_token_id: SOT,
  eos_token_id: EOS,
  forced_decoder_ids: [
    [1, null],
    [2, TRANSCRIBE],
  ],
  lang_to_id: { '<|en|>': EN, '<|de|>': DE },
  task_to_id: { transcribe: TRANSCRIBE, translate: TRANSLATE },
  no_timestamps_token_id: NO_TS,
  suppress_tokens: [1, 2],
  begin_suppress_tokens: [3, EOS],
};

async function load(files: Record<string, unknown> = {}): Promise<Model> {
  return loadModel(
    modelFilesFromMap('test/whisper', {
      'config.json': JSON.stringify(config),
      'preprocessor_config.json': JSON.stringify(preprocessor),
      'model.safetensors': writeSafetensors(checkpoint(3)),
      ...(files as Record<string, string>),
    }),
    await createHal(),
  );
}

function audio(samples: number): Tensor {
  const next = seededRandom(9);
  return cpuTensor(
    Float32Array.from({ length: samples }, (_, i) => Math.sin(i / 3) * 0.5 + (next() - 0.5) * 0.1),
    [1, samples],
  );
}

const ids = (...t: number[]) => cpuTensor(Int32Array.from(t), [1, t.length]);

async function read(model: Model, t: Tensor | undefined): Promise<Float32Array> {
  return (await model.hal.read(t as Tensor)) as Float32Array;
}

describe('whisper', () => {
  it('runs audio → log-mel → encoder → decoder with transformers output shapes', async () => {
    const model = await load();
    const out = await model.forward(
      { audio: audio(500), decoder_input_ids: ids(SOT, EN, TRANSCRIBE) },
      { hiddenStates: true },
    );
    const shapes = Object.fromEntries([...out].map(([k, t]) => [k, t.shape]));
    expect(shapes).toMatchObject({
      input_features: [1, MELS, 2 * P],
      encoder_last_hidden_state: [1, P, D],
      'encoder_hidden_states.0': [1, P, D],
      'encoder_hidden_states.2': [1, P, D],
      'decoder_hidden_states.0': [1, 3, D],
      'decoder_hidden_states.2': [1, 3, D],
      logits: [1, 3, VOCAB],
    });
    // transformers ties the last hidden state entry to the normed output.
    expect(out.get('encoder_hidden_states.2')).toBe(out.get('encoder_last_hidden_state'));
    model.free(out);
    model.dispose();
  });

  it('decodes token by token with the cache as in one full pass', async () => {
    const model = await load();
    const tokens = [SOT, DE, TRANSCRIBE, NO_TS, 5, 9];
    const feats = await model.forward({ audio: audio(640) });
    const input_features = cpuTensor(await read(model, feats.get('input_features')), [
      1,
      MELS,
      2 * P,
    ]);
    model.free(feats);
    const full = await model.forward({ input_features, decoder_input_ids: ids(...tokens) });
    const want = await read(model, full.get('logits'));
    model.free(full);
    const cache = model.newCache();
    let err = 0;
    for (let i = 0; i < tokens.length; i++) {
      // The prompt's first three go in together, the rest one by one.
      if (i > 0 && i < 3) continue;
      const step = i === 0 ? tokens.slice(0, 3) : [tokens[i] as number];
      const out = await model.forward(
        { input_features, decoder_input_ids: ids(...step) },
        { cache: cache ?? undefined, lastLogitsOnly: true },
      );
      const row = await read(model, out.get('logits'));
      const at = (i === 0 ? 2 : i) * VOCAB;
      for (let v = 0; v < VOCAB; v++)
        err = Math.max(err, Math.abs((row[v] as number) - (want[at + v] as number)));
      expect(out.has('encoder_last_hidden_state')).toBe(false);
      model.free(out);
    }
    cache?.dispose();
    expect(err).toBeLessThan(1e-5);
    model.dispose();
  });

  it('generates what a full-recompute greedy loop with the same masks picks', async () => {
    const model = await load();
    const gen = parseWhisperGenerationConfig(generation, model.config as never);
    const input = { audio: audio(600) };
    const got = await transcribeIds(model, input, gen, { maxNewTokens: 8 });

    const lastRow = async (tokens: number[]) => {
      const out = await model.forward({ ...input, decoder_input_ids: ids(...tokens) });
      const logits = await read(model, out.get('logits'));
      model.free(out);
      return logits.subarray((tokens.length - 1) * VOCAB);
    };
    const best = (row: Float32Array, allowed: (t: number) => boolean) => {
      let arg = -1;
      for (let t = 0; t < VOCAB; t++)
        if (allowed(t) && (arg < 0 || (row[t] as number) > (row[arg] as number))) arg = t;
      return arg;
    };
    const lang = best(await lastRow([SOT]), (t) => t === EN || t === DE);
    const want = [SOT, lang, TRANSCRIBE, NO_TS];
    expect(got.init).toEqual(want);
    const made: number[] = [];
    for (let i = 0; i < 8; i++) {
      const banned = new Set(i === 0 ? [1, 2, 3, EOS] : [1, 2]);
      const t = best(await lastRow([...want, ...made]), (x) => !banned.has(x));
      made.push(t);
      if (t === EOS) break;
    }
    expect(got.tokens).toEqual(made);
    expect(got.generatedIds).toEqual(made.filter((t, i) => !(t === EOS && i === made.length - 1)));
    model.dispose();
  });

  it('builds the prompt as transformers does from forced ids, language and task', async () => {
    const gen: WhisperGenerationConfig = parseWhisperGenerationConfig(generation, config as never);
    const detect = async () => DE;
    expect(await initTokens(gen, {}, detect)).toEqual([SOT, DE, TRANSCRIBE, NO_TS]);
    expect(await initTokens(gen, { language: 'en' }, detect)).toEqual([SOT, EN, TRANSCRIBE, NO_TS]);
    expect(await initTokens(gen, { language: '<|en|>', task: 'translate' }, detect)).toEqual([
      SOT,
      EN,
      TRANSLATE,
      NO_TS,
    ]);
    expect(await initTokens(gen, { task: 'translate' }, detect)).toEqual([
      SOT,
      DE,
      TRANSLATE,
      NO_TS,
    ]);
    const english = { ...gen, forced: [], langToId: null, taskToId: null };
    expect(await initTokens(english, {}, detect)).toEqual([SOT, NO_TS]);
    await expect(initTokens(gen, { language: 'xx' }, detect)).rejects.toMatchObject({
      code: 'INVALID_PARAMS',
    });
    expect(() =>
      parseWhisperGenerationConfig({ forced_decoder_ids: [[1]] }, config as never),
    ).toThrow(expect.objectContaining({ code: 'BAD_MODEL_FILE' }));
  });

  it('rejects inputs and files that do not fit with typed errors', async () => {
    const model = await load();
    await expect(model.forward({})).rejects.toMatchObject({ code: 'INVALID_PARAMS' });
    await expect(
      model.forward({ input_features: cpuTensor(new Float32Array(MELS * 7), [1, MELS, 7]) }),
    ).rejects.toMatchObject({ code: 'INVALID_PARAMS' });
    await expect(
      model.forward({ audio: audio(100), decoder_input_ids: ids(SOT, VOCAB) }),
    ).rejects.toMatchObject({ code: 'INVALID_PARAMS' });
    const gen = parseWhisperGenerationConfig(generation, model.config as never);
    await expect(
      transcribeIds(model, { audio: audio(100) }, gen, { maxNewTokens: TARGET }),
    ).rejects.toMatchObject({ code: 'INVALID_PARAMS' });
    model.dispose();
    await expect(
      load({ 'preprocessor_config.json': JSON.stringify({ ...preprocessor, feature_size: 80 }) }),
    ).rejects.toMatchObject({ code: 'BAD_MODEL_FILE' });
  });
});

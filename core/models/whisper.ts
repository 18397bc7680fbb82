/**
 * Whisper: speech in, tokens out. The encoder reads log-mel features (computed on the host from
 * `audio` by ./audio/log-mel, or given as `input_features`) through two convolutions with GELU
 * (the second halves the frames), adds the sinusoidal positions the checkpoint stores and runs
 * pre-LN layers with a final layer norm. The decoder embeds tokens plus learned positions and runs
 * pre-LN layers of causal self-attention (KV cache), cross-attention to the encoder output and an
 * MLP, then a final norm and logits through `proj_out` (tied to the token embeddings).
 *
 * With a `WhisperCache` (generation), the encoder runs once: its output and every layer's cross
 * keys/values stay in the cache, and later calls run the decoder on the new tokens only.
 */
import type { Hal } from '../../kernels/hal/hal';
import { cpuTensor, cpuToDense, permute, slice, type Tensor } from '../../kernels/tensor/tensor';
import { BadModelFileError, InvalidParamsError } from '../protocol/errors';
import { LogMel, parseLogMelConfig } from './audio/log-mel';
import { add, linear, pickPosition, selfAttention } from './blocks';
import type { WhisperConfig } from './config';
import { type Scope, scoped } from './graph';
import { KvCache } from './kv-cache';
import {
  type Architecture,
  checkTokenIds,
  type ModelInputs,
  type Outputs,
  type Stage,
  type StageContext,
} from './model';
import { findPrefix, type Params } from './params';

/** The decoder's self-attention cache, plus the encoder output and cross keys/values. */
export class WhisperCache extends KvCache {
  /** Encoder output [B, P, d]; set by the first forward that runs the encoder. */
  encoded: Tensor | null = null;
  readonly cross: ([Tensor, Tensor] | null)[];

  constructor(
    private readonly owner: Hal,
    layers: number,
  ) {
    super(owner, layers);
    this.cross = new Array(layers).fill(null);
  }

  override dispose(): void {
    super.dispose();
    for (const kv of this.cross) if (kv) for (const t of kv) this.owner.dispose(t);
    this.cross.fill(null);
    if (this.encoded) this.owner.dispose(this.encoded);
    this.encoded = null;
  }
}

/** What decoder stages see besides the usual context. */
interface DecoderContext extends StageContext {
  readonly encoded: Tensor;
  readonly whisperCache: WhisperCache | null;
}

/** [B, S, H·D] → [B, H, S, D] (a view). */
async function heads(s: Scope, x: Tensor, b: number, n: number, h: number, d: number) {
  return permute(await s.reshape(x, [b, n, h, d]), [0, 2, 1, 3]);
}

export function whisperArchitecture(
  config: WhisperConfig,
  params: Params,
  preprocessor: unknown,
): Architecture {
  const { hidden, maxSourcePositions: P, mels } = config;
  const frames = 2 * P;
  const eps = 1e-5;
  for (const [field, n] of [
    ['encoder_attention_heads', config.heads],
    ['decoder_attention_heads', config.decoderHeads],
  ] as const) {
    if (hidden % n !== 0) {
      throw new BadModelFileError(`config.json: d_model is not a multiple of ${field}`, {
        detail: { file: 'config.json', field },
      });
    }
  }
  const logMel = preprocessor === null ? null : new LogMel(parseLogMelConfig(preprocessor));
  if (logMel && (logMel.config.featureSize !== mels || logMel.frames !== frames)) {
    throw new BadModelFileError(
      `preprocessor_config.json gives ${logMel.config.featureSize} mels × ${logMel.frames} frames; the model reads ${mels} × ${frames}`,
      { detail: { file: 'preprocessor_config.json', field: 'feature_size' } },
    );
  }
  const p = findPrefix(params, 'encoder.conv1.weight', ['model.', '']);
  const w = (name: string, shape?: number[]) => params.get(`${p}${name}`, shape);
  const H = [hidden];
  const layerNorm = async (s: Scope, x: Tensor, name: string) =>
    s.run('layerNorm', [x, await w(`${name}.weight`, H), await w(`${name}.bias`, H)], { eps });
  const proj = async (s: Scope, x: Tensor, name: string, out: number, inp: number, bias = true) =>
    linear(
      s,
      x,
      await w(`${name}.weight`, [out, inp]),
      bias ? await w(`${name}.bias`, [out]) : null,
    );

  /** The log-mel features, f32 [B, mels, frames] on the CPU, and whether we computed them. */
  function featuresOf(inputs: ModelInputs): { features: Tensor; computed: boolean } {
    const given = inputs.input_features;
    if (given) {
      if (
        given.dtype !== 'f32' ||
        given.shape.length !== 3 ||
        given.shape[1] !== mels ||
        given.shape[2] !== frames
      ) {
        throw new InvalidParamsError(
          `whisper needs input_features f32 [batch, ${mels}, ${frames}]`,
          {
            detail: { field: 'input_features' },
          },
        );
      }
      return { features: given, computed: false };
    }
    const audio = inputs.audio;
    if (!audio) {
      throw new InvalidParamsError('whisper needs audio or input_features', {
        detail: { field: 'audio' },
      });
    }
    if (audio.dtype !== 'f32' || audio.shape.length < 1 || audio.shape.length > 2) {
      throw new InvalidParamsError('whisper needs audio f32 [samples] or [batch, samples]', {
        detail: { field: 'audio' },
      });
    }
    if (!logMel) {
      throw new BadModelFileError(
        'The model has no preprocessor_config.json to turn audio into features',
        {
          detail: { file: 'preprocessor_config.json' },
        },
      );
    }
    const samples = audio.shape[audio.shape.length - 1] as number;
    const batch = audio.shape.length === 2 ? (audio.shape[0] as number) : 1;
    const data = cpuToDense(audio) as Float32Array;
    const out = new Float32Array(batch * mels * frames);
    for (let b = 0; b < batch; b++) {
      out.set(logMel.compute(data.subarray(b * samples, (b + 1) * samples)), b * mels * frames);
    }
    return { features: cpuTensor(out, [batch, mels, frames]), computed: true };
  }

  // Encoder ---------------------------------------------------------------------------------

  const encoderEmbed: Stage = {
    name: 'encoder.embeddings',
    kind: 'embed',
    async run(s, _hidden, ctx) {
      const x = s.upload(cpuToDense(featuresOf(ctx.inputs).features) as Float32Array, [
        ctx.batch,
        mels,
        frames,
      ]);
      const conv = async (t: Tensor, name: string, cin: number, stride: number) => {
        const y = await s.run(
          'conv1d',
          [
            t,
            await w(`encoder.${name}.weight`, [hidden, cin, 3]),
            await w(`encoder.${name}.bias`, H),
          ],
          { stride: [stride], padding: [1] },
        );
        return s.run('unary', [y], { fn: 'gelu' });
      };
      const c2 = await conv(await conv(x, 'conv1', mels, 1), 'conv2', hidden, 2);
      const positions = await w('encoder.embed_positions.weight', [P, hidden]);
      return add(s, permute(c2, [0, 2, 1]), positions);
    },
  };

  async function mlp(s: Scope, h: Tensor, base: string, ffn: number): Promise<Tensor> {
    const x = await layerNorm(s, h, `${base}final_layer_norm`);
    const up = await linear(
      s,
      x,
      await w(`${base}fc1.weight`, [ffn, hidden]),
      await w(`${base}fc1.bias`, [ffn]),
      config.act,
    );
    return add(s, await proj(s, up, `${base}fc2`, hidden, ffn), h);
  }

  const encoderLayer = (i: number): Stage => ({
    name: `encoder.layer.${i}`,
    kind: 'layer',
    async run(s, x, ctx) {
      const base = `encoder.layers.${i}.`;
      const h = x as Tensor;
      const n = await layerNorm(s, h, `${base}self_attn_layer_norm`);
      const at = `${base}self_attn.`;
      const attn = await selfAttention(
        s,
        await proj(s, n, `${at}q_proj`, hidden, hidden),
        await proj(s, n, `${at}k_proj`, hidden, hidden, false),
        await proj(s, n, `${at}v_proj`, hidden, hidden),
        {
          batch: ctx.batch,
          seq: P,
          heads: config.heads,
          kvHeads: config.heads,
          headDim: hidden / config.heads,
        },
        { causal: false },
      );
      const h1 = await add(s, await proj(s, attn, `${at}out_proj`, hidden, hidden), h);
      return mlp(s, h1, base, config.encoderFfn);
    },
  });

  const encoderNorm: Stage = {
    name: 'encoder.norm',
    kind: 'head',
    async run(s, x) {
      return { encoder_last_hidden_state: await layerNorm(s, x as Tensor, 'encoder.layer_norm') };
    },
  };

  // Decoder ---------------------------------------------------------------------------------

  const decoderEmbed: Stage = {
    name: 'decoder.embeddings',
    kind: 'embed',
    async run(s, _hidden, ctx) {
      const end = ctx.positionOffset + ctx.seq;
      if (end > config.maxTargetPositions) {
        throw new InvalidParamsError(
          `Decoder position ${end} is past the model's ${config.maxTargetPositions} positions`,
          { detail: { field: 'decoder_input_ids', limit: config.maxTargetPositions } },
        );
      }
      const ids = s.upload(cpuToDense(ctx.inputs.decoder_input_ids as Tensor) as Int32Array, [
        ctx.batch,
        ctx.seq,
      ]);
      const tokens = await s.run(
        'gather',
        [await w('decoder.embed_tokens.weight', [config.vocab, hidden]), ids],
        {},
      );
      const table = await w('decoder.embed_positions.weight', [config.maxTargetPositions, hidden]);
      return add(s, tokens, slice(table, 0, ctx.positionOffset, end));
    },
  };

  const decoderLayer = (i: number): Stage => ({
    name: `decoder.layer.${i}`,
    kind: 'layer',
    async run(s, x, stageCtx) {
      const ctx = stageCtx as DecoderContext;
      const base = `decoder.layers.${i}.`;
      const headDim = hidden / config.decoderHeads;
      const nh = config.decoderHeads;
      const h = x as Tensor;
      const n = await layerNorm(s, h, `${base}self_attn_layer_norm`);
      const sa = `${base}self_attn.`;
      const self = await selfAttention(
        s,
        await proj(s, n, `${sa}q_proj`, hidden, hidden),
        await proj(s, n, `${sa}k_proj`, hidden, hidden, false),
        await proj(s, n, `${sa}v_proj`, hidden, hidden),
        { batch: ctx.batch, seq: ctx.seq, heads: nh, kvHeads: nh, headDim },
        { causal: true, cache: ctx.cache ? { cache: ctx.cache, layer: i } : undefined },
      );
      const h1 = await add(s, await proj(s, self, `${sa}out_proj`, hidden, hidden), h);

      const ca = `${base}encoder_attn.`;
      const n1 = await layerNorm(s, h1, `${base}encoder_attn_layer_norm`);
      const q = await heads(
        s,
        await proj(s, n1, `${ca}q_proj`, hidden, hidden),
        ctx.batch,
        ctx.seq,
        nh,
        headDim,
      );
      let kv = ctx.whisperCache?.cross[i] ?? null;
      if (!kv) {
        const k = await proj(s, ctx.encoded, `${ca}k_proj`, hidden, hidden, false);
        const v = await proj(s, ctx.encoded, `${ca}v_proj`, hidden, hidden);
        kv = [
          await s.dense(await heads(s, k, ctx.batch, P, nh, headDim)),
          await s.dense(await heads(s, v, ctx.batch, P, nh, headDim)),
        ];
        if (ctx.whisperCache) {
          // Computed once per encoder output; later steps reuse them.
          s.release(...kv);
          ctx.whisperCache.cross[i] = kv;
        }
      }
      const cross = await s.run('attention', [q, kv[0], kv[1]], { causal: false });
      const merged = await s.reshape(permute(cross, [0, 2, 1, 3]), [ctx.batch, ctx.seq, hidden]);
      const h2 = await add(s, await proj(s, merged, `${ca}out_proj`, hidden, hidden), h1);
      return mlp(s, h2, base, config.decoderFfn);
    },
  });

  const decoderHead: Stage = {
    name: 'decoder.head',
    kind: 'head',
    async run(s, x, ctx) {
      const normed = await layerNorm(s, x as Tensor, 'decoder.layer_norm');
      const headW = params.has('proj_out.weight')
        ? await params.get('proj_out.weight', [config.vocab, hidden])
        : await w('decoder.embed_tokens.weight', [config.vocab, hidden]);
      const rows = ctx.lastLogitsOnly ? await pickPosition(s, normed, ctx.seq - 1) : normed;
      return { last_hidden_state: normed, logits: await linear(s, rows, headW, null) };
    },
  };

  const encoderStages = [
    encoderEmbed,
    ...Array.from({ length: config.layers }, (_, i) => encoderLayer(i)),
    encoderNorm,
  ];
  const decoderStages = [
    decoderEmbed,
    ...Array.from({ length: config.decoderLayers }, (_, i) => decoderLayer(i)),
    decoderHead,
  ];

  /**
   * Runs embed → layers → head and returns the head's outputs. When recording, hidden state
   * `<prefix>.<i>` is the embeddings (0) or layer i-1's output, except the last (i = layers),
   * which is the head's normed output: transformers ties that entry to it.
   */
  async function runStack(
    hal: Hal,
    stages: Stage[],
    ctx: StageContext,
    record: { outputs: Outputs; prefix: string } | null,
    normedName: string,
  ): Promise<Record<string, Tensor>> {
    const layers = stages.length - 2;
    let hidden: Tensor | null = null;
    let hiddenRecorded = false;
    try {
      for (const [entry, stage] of stages.entries()) {
        const result = await scoped(hal, (s) => stage.run(s, hidden, ctx));
        if (stage.kind === 'head') {
          const out = result as Record<string, Tensor>;
          if (record) record.outputs.set(`${record.prefix}.${layers}`, out[normedName] as Tensor);
          return out;
        }
        if (hidden && !hiddenRecorded) hal.dispose(hidden);
        hidden = result as Tensor;
        hiddenRecorded = record !== null && entry < layers;
        if (record && hiddenRecorded) record.outputs.set(`${record.prefix}.${entry}`, hidden);
      }
      throw new TypeError('A stack of stages has no head');
    } finally {
      if (hidden && !hiddenRecorded) hal.dispose(hidden);
    }
  }

  function checkDecoderIds(ids: Tensor, batch: number): [number, number] {
    if (ids.dtype !== 'i32' || ids.shape.length !== 2 || ids.shape[0] !== batch) {
      throw new InvalidParamsError(`whisper needs decoder_input_ids i32 [${batch}, seq]`, {
        detail: { field: 'decoder_input_ids' },
      });
    }
    checkTokenIds(ids, config.vocab, 'decoder_input_ids');
    return ids.shape as [number, number];
  }

  return {
    stages: [...encoderStages, ...decoderStages],
    lastHiddenStateIsNormed: true,
    seqOf(inputs) {
      const ids = inputs.decoder_input_ids;
      return ids
        ? { batch: ids.shape[0] as number, seq: ids.shape[1] as number }
        : { batch: (inputs.input_features ?? inputs.audio)?.shape[0] ?? 1, seq: P };
    },
    dummyInputs: () => ({
      input_features: cpuTensor(new Float32Array(mels * frames), [1, mels, frames]),
      decoder_input_ids: cpuTensor(Int32Array.from([config.decoderStartTokenId]), [1, 1]),
    }),
    newCache: (hal) => new WhisperCache(hal, config.decoderLayers),
    async forward(hal, inputs, options) {
      const cache = options.cache ?? null;
      if (cache && !(cache instanceof WhisperCache)) {
        throw new TypeError('whisper runs with the cache its newCache() makes');
      }
      const outputs: Outputs = new Map();
      const record = (prefix: string) =>
        options.hiddenStates ? { outputs, prefix: `${prefix}_hidden_states` } : null;
      try {
        let encoded = cache?.encoded ?? null;
        let batch = 1;
        if (!encoded) {
          const { features, computed } = featuresOf(inputs);
          batch = features.shape[0] as number;
          if (computed) outputs.set('input_features', hal.upload(features));
          const ctx = baseContext({ ...inputs, input_features: features }, batch, P, 0);
          // With a cache, the encoder output belongs to the cache, not to the caller.
          const head = await runStack(
            hal,
            encoderStages,
            ctx,
            cache ? null : record('encoder'),
            'encoder_last_hidden_state',
          );
          encoded = head.encoder_last_hidden_state as Tensor;
          if (cache) cache.encoded = encoded;
          else outputs.set('encoder_last_hidden_state', encoded);
        } else {
          batch = encoded.shape[0] as number;
        }
        const ids = inputs.decoder_input_ids;
        if (ids) {
          const [b, seq] = checkDecoderIds(ids, batch);
          if (cache && b !== 1) {
            throw new InvalidParamsError('Generation with a cache runs one sequence at a time', {
              detail: { field: 'decoder_input_ids', batch: b },
            });
          }
          const ctx: DecoderContext = {
            ...baseContext(inputs, b, seq, cache?.length ?? 0),
            cache,
            lastLogitsOnly: options.lastLogitsOnly ?? false,
            encoded,
            whisperCache: cache,
          };
          const head = await runStack(
            hal,
            decoderStages,
            ctx,
            record('decoder'),
            'last_hidden_state',
          );
          outputs.set('logits', head.logits as Tensor);
          if (!options.hiddenStates) hal.dispose(head.last_hidden_state as Tensor);
          if (cache) cache.length += seq;
        }
        return outputs;
      } catch (e) {
        const seen = new Set<unknown>();
        for (const t of outputs.values()) {
          if (!seen.has(t.storage)) hal.dispose(t);
          seen.add(t.storage);
        }
        throw e;
      }
    },
  };
}

function baseContext(
  inputs: ModelInputs,
  batch: number,
  seq: number,
  offset: number,
): StageContext {
  return {
    inputs,
    batch,
    seq,
    positionOffset: offset,
    kvLengths: null,
    cache: null,
    lastLogitsOnly: false,
  };
}

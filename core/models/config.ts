/**
 * Reading a Hugging Face `config.json` into the shape one of our architectures needs.
 *
 * Every size comes from the config (nothing is hard-coded); a field the architecture needs that
 * is missing or malformed is a BAD_MODEL_FILE error naming it, and a `model_type` (or option)
 * we do not run is UNSUPPORTED_MODEL.
 */

import type { Activation } from '../../kernels/backend/ops';
import { BadModelFileError, UnsupportedModelError } from '../protocol/errors';

export type Family = 'bert' | 'vit' | 'gpt2' | 'llama' | 'clip' | 'whisper';

/** `model_type` values we run, by the architecture that runs them. */
export const MODEL_TYPES: Readonly<Record<string, Family>> = {
  bert: 'bert',
  roberta: 'bert',
  vit: 'vit',
  gpt2: 'gpt2',
  llama: 'llama',
  qwen2: 'llama',
  mistral: 'llama',
  clip: 'clip',
  whisper: 'whisper',
};

interface Common {
  modelType: string;
  hidden: number;
  layers: number;
  heads: number;
  /** id → label for classification heads (from `id2label`), when the config has one. */
  labels: string[] | null;
}

export interface BertConfig extends Common {
  family: 'bert';
  intermediate: number;
  vocab: number;
  maxPositions: number;
  typeVocab: number;
  eps: number;
  act: Activation;
  /** Position ids start here (RoBERTa: padding_idx + 1), counting only unmasked tokens. */
  positionOffset: number;
}

export interface VitConfig extends Common {
  family: 'vit';
  intermediate: number;
  imageSize: number;
  patchSize: number;
  channels: number;
  eps: number;
  act: Activation;
}

export interface Gpt2Config extends Common {
  family: 'gpt2';
  intermediate: number;
  vocab: number;
  maxPositions: number;
  eps: number;
  act: Activation;
}

export interface LlamaConfig extends Common {
  family: 'llama';
  intermediate: number;
  vocab: number;
  kvHeads: number;
  headDim: number;
  eps: number;
  ropeTheta: number;
  act: Activation;
  /** q/k/v projections have biases (Qwen2; Llama's `attention_bias`). */
  qkvBias: boolean;
  /** o_proj and the MLP have biases (`mlp_bias`, rare). */
  mlpBias: boolean;
  /** `tie_word_embeddings` when the config says; otherwise the weights decide (no lm_head → tied). */
  tieEmbeddings: boolean | null;
  maxPositions: number;
}

/** One CLIP tower's encoder (pre-norm layers, biases everywhere). */
export interface ClipTowerConfig {
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  eps: number;
  act: Activation;
}

/**
 * CLIP: `text_config` and `vision_config` each describe a tower; absent fields take
 * transformers' CLIPTextConfig / CLIPVisionConfig defaults (saved configs omit defaults).
 * The `Common` sizes are the text tower's.
 */
export interface ClipConfig extends Common {
  family: 'clip';
  text: ClipTowerConfig & { vocab: number; maxPositions: number; eosTokenId: number };
  vision: ClipTowerConfig & { imageSize: number; patchSize: number; channels: number };
  projectionDim: number;
  /** The text tower's vocabulary and positions (named as the text families name them). */
  vocab: number;
  maxPositions: number;
}

/**
 * Whisper: a conv front end and pre-LN encoder over log-mel frames, a pre-LN decoder with
 * cross-attention. The `Common` sizes are the encoder's.
 */
export interface WhisperConfig extends Common {
  family: 'whisper';
  /** d_model (both stacks). */
  hidden: number;
  encoderFfn: number;
  decoderLayers: number;
  decoderHeads: number;
  decoderFfn: number;
  vocab: number;
  /** Log-mel bins the first conv reads (num_mel_bins). */
  mels: number;
  /** Encoder positions; the features hold twice as many frames (conv2 has stride 2). */
  maxSourcePositions: number;
  maxTargetPositions: number;
  decoderStartTokenId: number;
  act: Activation;
}

export type ModelConfig =
  | BertConfig
  | VitConfig
  | Gpt2Config
  | LlamaConfig
  | ClipConfig
  | WhisperConfig;

type Json = Record<string, unknown>;

function int(c: Json, keys: string[], fallback?: number): number {
  for (const key of keys) {
    const v = c[key];
    if (typeof v === 'number' && Number.isSafeInteger(v) && v > 0) return v;
    if (v !== undefined && v !== null) {
      throw new BadModelFileError(`config.json: ${key} must be a positive integer`, {
        detail: { file: 'config.json', field: key },
      });
    }
  }
  if (fallback !== undefined) return fallback;
  throw new BadModelFileError(`config.json is missing ${keys[0]}`, {
    detail: { file: 'config.json', field: keys[0] },
  });
}

function num(c: Json, key: string, fallback: number): number {
  const v = c[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new BadModelFileError(`config.json: ${key} must be a number`, {
      detail: { file: 'config.json', field: key },
    });
  }
  return v;
}

/** A nested config object (`text_config`); an empty one when absent. */
function sub(c: Json, key: string): Json {
  const v = c[key];
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw new BadModelFileError(`config.json: ${key} must be an object`, {
      detail: { file: 'config.json', field: key },
    });
  }
  return v as Json;
}

function clipTower(c: Json, d: { hidden: number; layers: number; heads: number; inter: number }) {
  return {
    hidden: int(c, ['hidden_size'], d.hidden),
    layers: int(c, ['num_hidden_layers'], d.layers),
    heads: int(c, ['num_attention_heads'], d.heads),
    intermediate: int(c, ['intermediate_size'], d.inter),
    eps: num(c, 'layer_norm_eps', 1e-5),
    act: activationOf(c.hidden_act ?? 'quick_gelu'),
  };
}

function bool(c: Json, key: string, fallback: boolean): boolean {
  const v = c[key];
  return typeof v === 'boolean' ? v : fallback;
}

/** Hugging Face activation names → our fused activations. */
export function activationOf(name: unknown, field = 'hidden_act'): Activation {
  switch (name) {
    case 'gelu':
    case 'gelu_python':
      return 'gelu';
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
    case 'gelu_fast':
      return 'gelu-tanh';
    case 'relu':
      return 'relu';
    case 'silu':
    case 'swish':
      return 'silu';
    case 'quick_gelu':
      return 'quick-gelu';
    default:
      throw new UnsupportedModelError(`Activation ${String(name)} (${field}) is not supported`, {
        detail: { field, value: String(name) },
      });
  }
}

function labelsOf(c: Json): string[] | null {
  const map = c.id2label;
  if (typeof map !== 'object' || map === null) return null;
  const entries = Object.entries(map as Record<string, unknown>);
  const labels: string[] = [];
  for (const [k, v] of entries) {
    const i = Number(k);
    if (!Number.isSafeInteger(i) || i < 0 || i >= entries.length || typeof v !== 'string') {
      throw new BadModelFileError('config.json: id2label must map 0..n-1 to strings', {
        detail: { file: 'config.json', field: 'id2label' },
      });
    }
    labels[i] = v;
  }
  return labels;
}

/**
 * @example
 * const config = parseConfig(JSON.parse(text));
 * if (config.family === 'llama') console.log(config.kvHeads);
 */
export function parseConfig(json: unknown): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new BadModelFileError('config.json is not a JSON object', {
      detail: { file: 'config.json' },
    });
  }
  const c = json as Json;
  const modelType = c.model_type;
  if (typeof modelType !== 'string') {
    throw new BadModelFileError('config.json has no model_type', {
      detail: { file: 'config.json', field: 'model_type' },
    });
  }
  const family = MODEL_TYPES[modelType];
  if (!family) {
    throw new UnsupportedModelError(
      `model_type ${modelType} is not supported (supported: ${Object.keys(MODEL_TYPES).join(', ')})`,
      { detail: { modelType } },
    );
  }
  const labels = labelsOf(c);
  switch (family) {
    case 'bert': {
      const hidden = int(c, ['hidden_size']);
      return {
        family,
        modelType,
        hidden,
        layers: int(c, ['num_hidden_layers']),
        heads: int(c, ['num_attention_heads']),
        intermediate: int(c, ['intermediate_size'], 4 * hidden),
        vocab: int(c, ['vocab_size']),
        maxPositions: int(c, ['max_position_embeddings'], 512),
        typeVocab: int(c, ['type_vocab_size'], 2),
        eps: num(c, 'layer_norm_eps', 1e-12),
        act: activationOf(c.hidden_act ?? 'gelu'),
        positionOffset: modelType === 'roberta' ? num(c, 'pad_token_id', 1) + 1 : 0,
        labels,
      };
    }
    case 'vit': {
      const hidden = int(c, ['hidden_size']);
      return {
        family,
        modelType,
        hidden,
        layers: int(c, ['num_hidden_layers']),
        heads: int(c, ['num_attention_heads']),
        intermediate: int(c, ['intermediate_size'], 4 * hidden),
        imageSize: int(c, ['image_size'], 224),
        patchSize: int(c, ['patch_size'], 16),
        channels: int(c, ['num_channels'], 3),
        eps: num(c, 'layer_norm_eps', 1e-12),
        act: activationOf(c.hidden_act ?? 'gelu'),
        labels,
      };
    }
    case 'gpt2': {
      const hidden = int(c, ['n_embd', 'hidden_size']);
      return {
        family,
        modelType,
        hidden,
        layers: int(c, ['n_layer', 'num_hidden_layers']),
        heads: int(c, ['n_head', 'num_attention_heads']),
        intermediate: int(c, ['n_inner'], 4 * hidden),
        vocab: int(c, ['vocab_size']),
        maxPositions: int(c, ['n_positions', 'max_position_embeddings'], 1024),
        eps: num(c, 'layer_norm_epsilon', 1e-5),
        act: activationOf(c.activation_function ?? 'gelu_new', 'activation_function'),
        labels,
      };
    }
    case 'llama': {
      const hidden = int(c, ['hidden_size']);
      const heads = int(c, ['num_attention_heads']);
      const kvHeads = int(c, ['num_key_value_heads'], heads);
      if (heads % kvHeads !== 0) {
        throw new BadModelFileError(
          `config.json: num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`,
          { detail: { file: 'config.json', field: 'num_key_value_heads' } },
        );
      }
      const scaling = c.rope_scaling as Json | null | undefined;
      const scalingType = scaling ? (scaling.rope_type ?? scaling.type) : undefined;
      if (scalingType !== undefined && scalingType !== 'default') {
        throw new UnsupportedModelError(`rope_scaling ${String(scalingType)} is not supported`, {
          detail: { field: 'rope_scaling', value: String(scalingType) },
        });
      }
      const ropeParams = c.rope_parameters as Json | undefined;
      const ropeTheta =
        typeof ropeParams?.rope_theta === 'number'
          ? ropeParams.rope_theta
          : num(c, 'rope_theta', 10000);
      const ropeType = ropeParams?.rope_type;
      if (ropeType !== undefined && ropeType !== 'default') {
        throw new UnsupportedModelError(`rope_type ${String(ropeType)} is not supported`, {
          detail: { field: 'rope_parameters', value: String(ropeType) },
        });
      }
      return {
        family,
        modelType,
        hidden,
        layers: int(c, ['num_hidden_layers']),
        heads,
        kvHeads,
        headDim: int(c, ['head_dim'], hidden / heads),
        intermediate: int(c, ['intermediate_size']),
        vocab: int(c, ['vocab_size']),
        eps: num(c, 'rms_norm_eps', 1e-6),
        ropeTheta,
        act: activationOf(c.hidden_act ?? 'silu'),
        qkvBias: modelType === 'qwen2' || bool(c, 'attention_bias', false),
        mlpBias: bool(c, 'mlp_bias', false),
        tieEmbeddings: typeof c.tie_word_embeddings === 'boolean' ? c.tie_word_embeddings : null,
        maxPositions: int(c, ['max_position_embeddings'], 4096),
        labels,
      };
    }
    case 'clip': {
      const t = sub(c, 'text_config');
      const v = sub(c, 'vision_config');
      const tower = clipTower(t, { hidden: 512, layers: 12, heads: 8, inter: 2048 });
      const maxPositions = int(t, ['max_position_embeddings'], 77);
      const vocab = int(t, ['vocab_size'], 49408);
      return {
        family,
        modelType,
        hidden: tower.hidden,
        layers: tower.layers,
        heads: tower.heads,
        text: {
          ...tower,
          vocab,
          maxPositions,
          eosTokenId: num(t, 'eos_token_id', 49407),
        },
        vision: {
          ...clipTower(v, { hidden: 768, layers: 12, heads: 12, inter: 3072 }),
          imageSize: int(v, ['image_size'], 224),
          patchSize: int(v, ['patch_size'], 32),
          channels: int(v, ['num_channels'], 3),
        },
        projectionDim: int(c, ['projection_dim'], 512),
        vocab,
        maxPositions,
        labels,
      };
    }
    case 'whisper': {
      const hidden = int(c, ['d_model']);
      return {
        family,
        modelType,
        hidden,
        layers: int(c, ['encoder_layers']),
        heads: int(c, ['encoder_attention_heads']),
        encoderFfn: int(c, ['encoder_ffn_dim'], 4 * hidden),
        decoderLayers: int(c, ['decoder_layers']),
        decoderHeads: int(c, ['decoder_attention_heads']),
        decoderFfn: int(c, ['decoder_ffn_dim'], 4 * hidden),
        vocab: int(c, ['vocab_size']),
        mels: int(c, ['num_mel_bins'], 80),
        maxSourcePositions: int(c, ['max_source_positions'], 1500),
        maxTargetPositions: int(c, ['max_target_positions'], 448),
        decoderStartTokenId: num(c, 'decoder_start_token_id', 50257),
        act: activationOf(c.activation_function ?? 'gelu', 'activation_function'),
        labels,
      };
    }
  }
}

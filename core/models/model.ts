/**
 * A loaded model: its config, its parameters on the HAL and its forward pass as a list of
 * stages (embeddings, one per layer, the head), so the pool can later place stages on
 * different hosts. `forward` runs them in order and returns Hugging Face's output names.
 */
import type { Hal } from '../../kernels/hal/hal';
import type { RowBits } from '../../kernels/quant/rows';
import { cpuTensor, cpuToDense, type Tensor } from '../../kernels/tensor/tensor';
import { BadModelFileError, InvalidParamsError } from '../protocol/errors';
import { type ModelConfig, parseConfig } from './config';
import { type Scope, scoped } from './graph';
import { KvCache } from './kv-cache';
import { type ModelFiles, openWeights, readJsonFile } from './model-files';
import { createParams, type Params } from './params';
import { checkQuantizeOption, type QuantizeOption } from './quantize';

/** Inputs by Hugging Face name, as CPU tensors: ids and masks i32 [B, S], pixels f32 [B, C, H, W]. */
export interface ModelInputs {
  input_ids?: Tensor;
  attention_mask?: Tensor;
  token_type_ids?: Tensor;
  pixel_values?: Tensor;
  /** Whisper: f32 16 kHz mono samples [B, N], turned into log-mel features on the host. */
  audio?: Tensor;
  /** Whisper: log-mel features f32 [B, mels, frames] (instead of `audio`). */
  input_features?: Tensor;
  /** Whisper: decoder tokens i32 [B, S]. */
  decoder_input_ids?: Tensor;
}

export interface ForwardOptions {
  /** Also return `hidden_states.<i>`: the embeddings output (0) and every layer's output. */
  hiddenStates?: boolean;
  /** Decoders: attend over and extend this cache (positions continue after `cache.length`). */
  cache?: KvCache;
  /** Compute logits for the last position only (generation); default all positions. */
  lastLogitsOnly?: boolean;
}

/** What every stage sees besides the hidden state flowing through. */
export interface StageContext {
  readonly inputs: ModelInputs;
  readonly batch: number;
  /** Positions in this call (tokens, or patches + CLS for ViT). */
  readonly seq: number;
  /** Absolute position of this call's first token (the cache length before it). */
  readonly positionOffset: number;
  /** Valid keys per row for right-padded batches, i32 [B] on the HAL; null when all valid. */
  readonly kvLengths: Tensor | null;
  readonly cache: KvCache | null;
  readonly lastLogitsOnly: boolean;
}

export interface Stage {
  readonly name: string;
  readonly kind: 'embed' | 'layer' | 'head';
  /**
   * The component this stage belongs to (`encoder`/`decoder`, `text`/`vision`), for sharding
   * by component (core/shard/planner.ts); unset means the model is one component.
   */
  readonly group?: string;
  /**
   * The same layer as two stages, attention then feed-forward (hidden → hidden each), for
   * sharding inside a layer; running them in order equals `run`.
   */
  readonly parts?: readonly Stage[];
  /** Embed: ignores `hidden`. Layer: hidden → hidden. Head: hidden → named outputs. */
  run(s: Scope, hidden: Tensor | null, ctx: StageContext): Promise<Tensor | Record<string, Tensor>>;
}

export interface Architecture {
  readonly stages: Stage[];
  /**
   * Whether Hugging Face's last `hidden_states` entry is the head's `last_hidden_state`
   * (GPT-2 and Llama apply the final norm there) rather than the last layer's raw output.
   */
  readonly lastHiddenStateIsNormed: boolean;
  /** Sequence length of one call for these inputs (ViT: patches + 1). */
  seqOf(inputs: ModelInputs): { batch: number; seq: number };
  /**
   * The smallest valid inputs: `loadModel` runs them once so every parameter is uploaded and
   * every pipeline compiled before the first real request.
   */
  dummyInputs(): ModelInputs;
  /**
   * Models of several stacks (CLIP: a text and a vision tower, each its own list of stages)
   * run them themselves; `Model.forward` hands over to this when it is set.
   */
  forward?(hal: Hal, inputs: ModelInputs, options: ForwardOptions): Promise<Outputs>;
  /** The cache `Model.newCache` returns, for models with their own `forward` (Whisper's). */
  newCache?(hal: Hal): KvCache;
}

export type Outputs = Map<string, Tensor>;

export interface Model {
  readonly id: string;
  readonly config: ModelConfig;
  readonly hal: Hal;
  readonly stages: readonly Stage[];
  /** Bytes of parameters on the HAL (quantized weights count their codes and block params). */
  readonly paramBytes: number;
  forward(inputs: ModelInputs, options?: ForwardOptions): Promise<Outputs>;
  /** A KV cache for decoders; null for encoders. */
  newCache(): KvCache | null;
  /** Frees outputs returned by `forward`. */
  free(outputs: Outputs): void;
  dispose(): void;
}

/** `files` lets an architecture read more than config.json (Whisper: preprocessor_config.json). */
export type ArchitectureFactory = (
  config: ModelConfig,
  params: Params,
  files: ModelFiles,
) => Architecture | Promise<Architecture>;

/** Token ids (or token type ids) must index the embedding table: INVALID_PARAMS otherwise. */
export function checkTokenIds(t: Tensor, size: number, field: string): void {
  const data = cpuToDense(t);
  for (let i = 0; i < data.length; i++) {
    const id = data[i] as number;
    if (!(id >= 0 && id < size)) {
      throw new InvalidParamsError(`${field} holds ${id}, outside 0..${size - 1}`, {
        detail: { field, value: id, limit: size },
      });
    }
  }
}

/** A text model's `input_ids`: i32 [batch, seq], every id inside the vocabulary. */
export function textInputIds(inputs: ModelInputs, modelType: string, vocab: number): Tensor {
  const ids = inputs.input_ids;
  if (ids?.dtype !== 'i32' || ids.shape.length !== 2) {
    throw new InvalidParamsError(`${modelType} needs input_ids i32 [batch, seq]`, {
      detail: { field: 'input_ids' },
    });
  }
  checkTokenIds(ids, vocab, 'input_ids');
  return ids;
}

/** Masks and token types must have input_ids' shape. */
function checkCompanions(inputs: ModelInputs): void {
  const ids = inputs.input_ids;
  if (!ids) return;
  for (const field of ['attention_mask', 'token_type_ids'] as const) {
    const t = inputs[field];
    if (!t) continue;
    if (
      t.dtype !== 'i32' ||
      t.shape.length !== ids.shape.length ||
      t.shape.some((d, i) => d !== ids.shape[i])
    ) {
      throw new InvalidParamsError(
        `${field} must be i32 with input_ids' shape [${ids.shape.join(', ')}]`,
        {
          detail: { field },
        },
      );
    }
  }
}

/** Turns a 0/1 mask i32 [B, S] into valid lengths; only right padding (1…1 0…0) is supported. */
export function maskLengths(mask: Tensor): Int32Array | null {
  const [b, seq] = mask.shape as [number, number];
  const data = mask.storage.backend === 'cpu' ? mask.storage.data : null;
  if (!data) throw new InvalidParamsError('attention_mask must be a CPU tensor');
  const lengths = new Int32Array(b);
  let full = true;
  for (let r = 0; r < b; r++) {
    let n = 0;
    while (n < seq && data[r * seq + n] === 1) n++;
    for (let i = n; i < seq; i++) {
      if (data[r * seq + i] !== 0) {
        throw new InvalidParamsError(
          'attention_mask must be 1s followed by 0s (right padding); left padding is not supported',
          { detail: { field: 'attention_mask', row: r } },
        );
      }
    }
    if (n === 0) {
      throw new InvalidParamsError('attention_mask has a row with no tokens', {
        detail: { field: 'attention_mask', row: r },
      });
    }
    if (n < seq) full = false;
    lengths[r] = n;
  }
  return full ? null : lengths;
}

export function createModel(
  id: string,
  config: ModelConfig,
  hal: Hal,
  params: Params,
  arch: Architecture,
  /** Rows of the default KV cache quantized to 8 or 4 bits (kv-cache.ts); f32 when absent. */
  kvBits: RowBits | null = null,
): Model {
  const layers = arch.stages.filter((st) => st.kind === 'layer').length;
  return {
    id,
    config,
    hal,
    stages: arch.stages,
    get paramBytes() {
      return params.bytes;
    },
    newCache: () =>
      arch.newCache
        ? arch.newCache(hal)
        : config.family === 'gpt2' || config.family === 'llama'
          ? new KvCache(hal, layers, kvBits)
          : null,
    async forward(inputs, options = {}) {
      if (arch.forward) return arch.forward(hal, inputs, options);
      const { batch, seq } = arch.seqOf(inputs);
      checkCompanions(inputs);
      const cache = options.cache ?? null;
      if (cache && batch !== 1) {
        throw new InvalidParamsError('Generation with a cache runs one sequence at a time', {
          detail: { field: 'input_ids', batch },
        });
      }
      const lengths = inputs.attention_mask ? maskLengths(inputs.attention_mask) : null;
      const outputs: Outputs = new Map();
      const kvLengths = lengths ? hal.upload(cpuTensor(lengths, [batch])) : null;
      const ctx: StageContext = {
        inputs,
        batch,
        seq,
        positionOffset: cache?.length ?? 0,
        kvLengths,
        cache,
        lastLogitsOnly: options.lastLogitsOnly ?? false,
      };
      let hidden: Tensor | null = null;
      let layer = 0;
      try {
        for (const stage of arch.stages) {
          const result = await scoped(hal, (s) => stage.run(s, hidden, ctx));
          if (stage.kind === 'head') {
            for (const [name, t] of Object.entries(result as Record<string, Tensor>)) {
              outputs.set(name, t);
            }
            break;
          }
          const next = result as Tensor;
          const keepPrevious = options.hiddenStates && hidden !== null;
          if (options.hiddenStates) outputs.set(`hidden_states.${layer}`, next);
          if (hidden && !keepPrevious) hal.dispose(hidden);
          hidden = next;
          layer += stage.kind === 'layer' || stage.kind === 'embed' ? 1 : 0;
        }
        if (options.hiddenStates && arch.lastHiddenStateIsNormed) {
          const last = `hidden_states.${layers}`;
          const normed = outputs.get('last_hidden_state');
          // The raw last layer output is `hidden`, freed below once nothing returns it.
          if (normed && outputs.has(last)) outputs.set(last, normed);
        }
        const returned = new Set([...outputs.values()].map((t) => t.storage));
        if (hidden && !returned.has(hidden.storage)) hal.dispose(hidden);
        if (cache) cache.length += seq;
        return outputs;
      } catch (e) {
        freeOutputs(hal, outputs);
        throw e;
      } finally {
        if (kvLengths) hal.dispose(kvLengths);
      }
    },
    free: (outputs) => freeOutputs(hal, outputs),
    dispose: () => params.dispose(),
  };
}

function freeOutputs(hal: Hal, outputs: Outputs): void {
  const seen = new Set<unknown>();
  for (const t of outputs.values()) {
    if (seen.has(t.storage)) continue;
    seen.add(t.storage);
    hal.dispose(t);
  }
  outputs.clear();
}

const architectures = new Map<ModelConfig['family'], ArchitectureFactory>();

/** The architecture registered for a family (core/shard builds one stage range of a model). */
export const architectureFor = (family: ModelConfig['family']): ArchitectureFactory | undefined =>
  architectures.get(family);

/** Architectures register themselves here (see `core/models/index.ts`). */
export function registerArchitecture(family: ModelConfig['family'], f: ArchitectureFactory): void {
  architectures.set(family, f);
}

/**
 * Reads config.json and the weights, builds the architecture `model_type` names and uploads
 * every parameter to the HAL.
 *
 * @example
 * const model = await loadModel(modelFilesFromDir('models/bert'), await createHal());
 * const out = await model.forward({ input_ids, attention_mask });
 */
export interface LoadOptions {
  /**
   * Block-quantize Linear weights at load (core/models/quantize.ts): a format such as 'int8' or
   * 'int4:g64' for all of them, or a per-layer plan. Architectures that do not route their
   * weights through `Params.linear` (only GPT-2 and Llama do) keep f32.
   */
  quantize?: QuantizeOption;
  /** Quantize the KV cache `newCache` makes (GPT-2/Llama) to int8 or int4 rows. */
  kvCache?: 'int8' | 'int4';
}

export async function loadModel(
  files: ModelFiles,
  hal: Hal,
  options: LoadOptions = {},
): Promise<Model> {
  checkQuantizeOption(options.quantize);
  if (options.kvCache !== undefined && options.kvCache !== 'int8' && options.kvCache !== 'int4')
    throw new RangeError(`kvCache must be 'int8' or 'int4', not ${options.kvCache}`);
  const json = await readJsonFile(files, 'config.json');
  if (json === null) {
    throw new BadModelFileError(`${files.id} has no config.json`, {
      detail: { file: 'config.json' },
    });
  }
  const config = parseConfig(json);
  const weights = await openWeights(files);
  const factory = architectures.get(config.family);
  if (!factory) throw new TypeError(`No architecture registered for ${config.family}`);
  const params = createParams(weights, hal, options.quantize);
  try {
    const arch = await factory(config, params, files);
    const kvBits = options.kvCache ? (options.kvCache === 'int8' ? 8 : 4) : null;
    const model = createModel(files.id, config, hal, params, arch, kvBits);
    model.free(await model.forward(arch.dummyInputs()));
    return model;
  } catch (e) {
    params.dispose();
    throw e;
  }
}

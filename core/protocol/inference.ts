/**
 * The inference ops of the page protocol: `run` (named tensors in and out), `embed`, `classify`,
 * `generate` (tokens streamed as `token` events), `transcribe` (Whisper, tokens streamed the same
 * way) and `models.unload`. Pages name a stored model
 * (`owner/name` or `owner/name@revision`); the params are validated here before any work.
 */
import * as v from 'valibot';
import { InvalidParamsError, PayloadTooLargeError } from './errors';
import { checkTensorBytes, MAX_TENSOR_BYTES, type WireTensor, WireTensorSchema } from './tensor';

/** `owner/name` or `owner/name@revision`, as `models.load` stored it. */
const MODEL_REF =
  /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/[A-Za-z0-9][A-Za-z0-9._-]{0,95}(@[A-Za-z0-9][A-Za-z0-9._-]{0,95})?$/;
export const ModelRefSchema = v.pipe(
  v.string(),
  v.regex(MODEL_REF, 'model is owner/name or owner/name@revision'),
);

/** The stored model id (`<repo>@<revision>`) a page's model reference means. */
export const modelIdOf = (ref: string): string => (ref.includes('@') ? ref : `${ref}@main`);

/** Inputs a model takes, by Hugging Face name. */
export const MODEL_INPUT_NAMES = [
  'input_ids',
  'attention_mask',
  'token_type_ids',
  'pixel_values',
] as const;
export type ModelInputName = (typeof MODEL_INPUT_NAMES)[number];

export const MAX_TEXTS = 64;
export const MAX_TEXT_CHARS = 20_000;
export const MAX_NEW_TOKENS = 4096;
export const MAX_STOP_STRINGS = 8;

const TextsSchema = v.pipe(
  v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_TEXT_CHARS))),
  v.minLength(1),
  v.maxLength(MAX_TEXTS),
);

export const RunParamsSchema = v.object({
  model: ModelRefSchema,
  inputs: v.pipe(
    v.record(v.picklist(MODEL_INPUT_NAMES), WireTensorSchema),
    v.check((r) => Object.keys(r).length > 0, 'inputs needs at least one tensor'),
  ),
  /** Only these outputs come back (default: every output except hidden_states.*). */
  outputs: v.optional(v.pipe(v.array(v.pipe(v.string(), v.maxLength(64))), v.maxLength(64))),
  /** Run the model split over several hosts (core/shard): at most `hosts`, cut by `split`. */
  shard: v.optional(
    v.object({
      hosts: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(16))),
      split: v.optional(v.picklist(['layers', 'sublayers']), 'layers'),
      byComponent: v.optional(v.boolean(), false),
    }),
  ),
});
export type RunParams = v.InferOutput<typeof RunParamsSchema>;

export const EmbedParamsSchema = v.pipe(
  v.object({
    model: ModelRefSchema,
    texts: v.optional(TextsSchema),
    /** CLIP: images as pixel_values f32 [B, C, H, W]; the result is the model's image_embeds. */
    pixelValues: v.optional(WireTensorSchema),
    pooling: v.optional(v.picklist(['mean', 'cls']), 'mean'),
    normalize: v.optional(v.boolean(), true),
  }),
  v.check(
    (p) => (p.texts === undefined) !== (p.pixelValues === undefined),
    'give texts or pixelValues (one of them)',
  ),
);
export type EmbedParams = v.InferOutput<typeof EmbedParamsSchema>;

export const ClassifyParamsSchema = v.pipe(
  v.object({
    model: ModelRefSchema,
    texts: v.optional(TextsSchema),
    /** Images as pixel_values f32 [B, C, H, W], already resized and normalised. */
    pixelValues: v.optional(WireTensorSchema),
    /** CLIP zero-shot: the candidate labels (texts) each image is scored against. */
    labels: v.optional(TextsSchema),
    topK: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1000)), 5),
  }),
  v.check(
    (p) => (p.texts === undefined) !== (p.pixelValues === undefined),
    'give texts or pixelValues (one of them)',
  ),
  v.check(
    (p) => p.labels === undefined || p.pixelValues !== undefined,
    'labels go with pixelValues (zero-shot image classification)',
  ),
);
export type ClassifyParams = v.InferOutput<typeof ClassifyParamsSchema>;

export const GenerateParamsSchema = v.object({
  model: ModelRefSchema,
  prompt: v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_TEXT_CHARS * 4)),
  maxTokens: v.optional(
    v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_NEW_TOKENS)),
    128,
  ),
  /** 0 is greedy. */
  temperature: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(5)), 0),
  topK: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(100_000)), 0),
  topP: v.optional(
    v.pipe(
      v.number(),
      v.minValue(0),
      v.maxValue(1),
      v.check((p) => p > 0, 'topP > 0'),
    ),
    1,
  ),
  seed: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(2 ** 32 - 1)), 0),
  /** Generation ends when the text produces one of these (it is not included). */
  stop: v.optional(
    v.pipe(
      v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(64))),
      v.maxLength(MAX_STOP_STRINGS),
    ),
    [],
  ),
  /** Add the tokenizer's special tokens (BOS) to the prompt. */
  addSpecialTokens: v.optional(v.boolean(), true),
});
export type GenerateParams = v.InferOutput<typeof GenerateParamsSchema>;

/** Whisper's window: 30 s of 16 kHz audio. Longer audio is refused, not cut. */
export const AUDIO_SAMPLE_RATE = 16_000;
export const MAX_AUDIO_SAMPLES = 30 * AUDIO_SAMPLE_RATE;

export const TranscribeParamsSchema = v.object({
  model: ModelRefSchema,
  /** f32 16 kHz mono samples, shape [samples] or [1, samples]. */
  audio: WireTensorSchema,
  /** A language code ('en') or token ('<|en|>'); default: the model's, else detected. */
  language: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(16))),
  task: v.optional(v.picklist(['transcribe', 'translate'])),
  maxTokens: v.optional(
    v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_NEW_TOKENS)),
    128,
  ),
});
export type TranscribeParams = v.InferOutput<typeof TranscribeParamsSchema>;

export const UnloadParamsSchema = v.object({ model: ModelRefSchema });
export type UnloadParams = v.InferOutput<typeof UnloadParamsSchema>;

export interface RunResult {
  outputs: Record<string, WireTensor>;
  /** Where the host ran the model: its WebGPU device or the CPU kernels. */
  backend: 'webgpu' | 'cpu';
  /** A sharded run: where each stage range ran and how long its activation took to arrive. */
  shard?: {
    ranges: { host: string; from: number; to: number; transferMs: number | null; bytes: number }[];
    resumedFrom: number[];
  };
}
export interface EmbedResult {
  /** f32 [texts, hidden]. */
  embeddings: WireTensor;
}
export interface ClassifyResult {
  /** Per text or image, the topK labels by score (softmax of the logits), best first. */
  results: { label: string; score: number }[][];
}
export type FinishReason = 'stop' | 'length';
export interface GenerateResult {
  text: string;
  /** New tokens generated (the prompt not counted). */
  tokens: number;
  promptTokens: number;
  finishReason: FinishReason;
}
export interface TranscribeResult {
  text: string;
  /** The new token ids (greedy, timestamps off), without the prompt or the final end-of-text. */
  tokens: number[];
  finishReason: FinishReason;
}
export interface UnloadResult {
  /** Hosts that had the model in memory and dropped it (the stored files stay). */
  unloaded: number;
}

/** Streamed before `generate`'s and `transcribe`'s final reply: the text one new token adds (may be ''). */
export interface TokenEvent {
  tabpool: number;
  id: string;
  event: 'token';
  token: { id: number; text: string };
}

function parseWith<T>(schema: v.GenericSchema<unknown, T>, op: string, params: unknown): T {
  const parsed = v.safeParse(schema, params);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const path = issue?.path?.map((p) => String(p.key)).join('.') ?? '';
    throw new InvalidParamsError(`${op} params: ${path ? `${path}: ` : ''}${issue?.message}`);
  }
  return parsed.output;
}

export function parseRunParams(params: unknown): RunParams {
  const p = parseWith(RunParamsSchema, 'run', params);
  let total = 0;
  for (const [name, t] of Object.entries(p.inputs)) {
    checkTensorBytes(name, t);
    total += t.data.byteLength;
    const want = name === 'pixel_values' ? 'float32' : 'int32';
    if (t.dtype !== want) {
      throw new InvalidParamsError(`run: ${name} must be ${want}`, { detail: { tensor: name } });
    }
  }
  if (total > MAX_TENSOR_BYTES) {
    throw new InvalidParamsError(`run: inputs hold more than ${MAX_TENSOR_BYTES} bytes`);
  }
  return p;
}
function checkPixels(op: string, pixels: WireTensor | undefined): void {
  if (!pixels) return;
  checkTensorBytes('pixelValues', pixels);
  if (pixels.dtype !== 'float32' || pixels.shape.length !== 4) {
    throw new InvalidParamsError(
      `${op}: pixelValues must be float32 [batch, channels, height, width]`,
    );
  }
}
export function parseEmbedParams(params: unknown): EmbedParams {
  const p = parseWith(EmbedParamsSchema, 'embed', params);
  checkPixels('embed', p.pixelValues);
  return p;
}
export function parseClassifyParams(params: unknown): ClassifyParams {
  const p = parseWith(ClassifyParamsSchema, 'classify', params);
  checkPixels('classify', p.pixelValues);
  return p;
}
export const parseGenerateParams = (params: unknown) =>
  parseWith(GenerateParamsSchema, 'generate', params);
export function parseTranscribeParams(params: unknown): TranscribeParams {
  const p = parseWith(TranscribeParamsSchema, 'transcribe', params);
  const { audio } = p;
  if (audio.dtype !== 'float32') {
    throw new InvalidParamsError('transcribe: audio must be float32 samples', {
      detail: { field: 'audio' },
    });
  }
  if (audio.shape.length > 2 || (audio.shape.length === 2 && audio.shape[0] !== 1)) {
    throw new InvalidParamsError('transcribe: audio must be [samples] or [1, samples] (mono)', {
      detail: { field: 'audio' },
    });
  }
  checkTensorBytes('audio', audio);
  const samples = audio.shape.at(-1) ?? 0;
  if (samples > MAX_AUDIO_SAMPLES) {
    throw new PayloadTooLargeError(
      `transcribe: audio has ${samples} samples; at most ${MAX_AUDIO_SAMPLES} (30 s at 16 kHz)`,
      { detail: { field: 'audio', samples, limit: MAX_AUDIO_SAMPLES } },
    );
  }
  if (samples < 1) {
    throw new InvalidParamsError('transcribe: audio is empty', { detail: { field: 'audio' } });
  }
  return p;
}
export const parseUnloadParams = (params: unknown) =>
  parseWith(UnloadParamsSchema, 'models.unload', params);

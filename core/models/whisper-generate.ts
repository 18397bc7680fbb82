/**
 * Whisper's greedy transcription, as transformers' `WhisperForConditionalGeneration.generate`
 * runs it on short-form audio (one window) with timestamps off:
 *
 * - the decoder prompt ("init tokens") is <|startoftranscript|>, then `forced_decoder_ids` from
 *   generation_config.json (ignored when a language or task is given), the language (given, or
 *   detected: the argmax over `lang_to_id` of the logits after <|startoftranscript|>), the task
 *   (given → its id; a language alone → transcribe) and <|notimestamps|>;
 * - every step masks `suppress_tokens`, the first also `begin_suppress_tokens`, then takes the
 *   argmax on the device;
 * - it stops at eos or after `maxNewTokens`; what transformers returns is the new tokens with the
 *   final eos removed (`generatedIds`).
 *
 * The encoder runs once; the detection step's cache entry for <|startoftranscript|> is the
 * prompt's first position, so detection costs one decoder step, not a second pass.
 *
 * Not mirrored: with timestamps off, transformers still splits the output at pairs of timestamp
 * tokens (ids above <|notimestamps|>) and may decode again from the last one; we return the tokens
 * as generated. Temperature fallback and no-speech detection are off unless asked for in
 * transformers too (their thresholds default to None).
 */
import { cpuTensor, type Tensor } from '../../kernels/tensor/tensor';
import { AbortedError, BadModelFileError, InvalidParamsError } from '../protocol/errors';
import type { WhisperConfig } from './config';
import type { GeneratedToken } from './generate';
import type { Model, ModelInputs } from './model';
import type { WhisperCache } from './whisper';

export interface WhisperGenerationConfig {
  decoderStartTokenId: number;
  eosTokenId: number | null;
  /** [position, token or null (null: detect the language)] from `forced_decoder_ids`. */
  forced: [number, number | null][];
  langToId: Record<string, number> | null;
  taskToId: Record<string, number> | null;
  noTimestampsTokenId: number | null;
  suppressTokens: number[];
  beginSuppressTokens: number[];
  language: string | null;
  task: string | null;
}

type Json = Record<string, unknown>;

function bad(field: string): BadModelFileError {
  return new BadModelFileError(`generation_config.json: ${field} is malformed`, {
    detail: { file: 'generation_config.json', field },
  });
}

const isId = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function ids(c: Json, key: string): number[] {
  const v = c[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every(isId)) throw bad(key);
  return v;
}

function idMap(c: Json, key: string): Record<string, number> | null {
  const v = c[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v) || !Object.values(v).every(isId)) throw bad(key);
  return v as Record<string, number>;
}

/** Reads generation_config.json (null when the repo has none: config.json's start token only). */
export function parseWhisperGenerationConfig(
  json: unknown,
  config: WhisperConfig,
): WhisperGenerationConfig {
  const c = (typeof json === 'object' && json !== null ? json : {}) as Json;
  const forcedRaw = c.forced_decoder_ids ?? [];
  if (
    !Array.isArray(forcedRaw) ||
    !forcedRaw.every(
      (f) => Array.isArray(f) && f.length === 2 && isId(f[0]) && (f[1] === null || isId(f[1])),
    )
  ) {
    throw bad('forced_decoder_ids');
  }
  const eos = c.eos_token_id;
  const opt = (key: string) => {
    const v = c[key];
    if (v === undefined || v === null) return null;
    if (!isId(v)) throw bad(key);
    return v;
  };
  const str = (key: string) => (typeof c[key] === 'string' ? (c[key] as string) : null);
  return {
    decoderStartTokenId: opt('decoder_start_token_id') ?? config.decoderStartTokenId,
    eosTokenId: Array.isArray(eos) ? ((eos[0] as number | undefined) ?? null) : opt('eos_token_id'),
    forced: forcedRaw as [number, number | null][],
    langToId: idMap(c, 'lang_to_id'),
    taskToId: idMap(c, 'task_to_id'),
    noTimestampsTokenId: opt('no_timestamps_token_id'),
    suppressTokens: ids(c, 'suppress_tokens'),
    beginSuppressTokens: ids(c, 'begin_suppress_tokens'),
    language: str('language'),
    task: str('task'),
  };
}

export interface WhisperGenerateOptions {
  maxNewTokens: number;
  /** A language code ('en') or token ('<|en|>'); default: generation_config's, else detected. */
  language?: string;
  /** 'transcribe' or 'translate'; default: generation_config's. */
  task?: string;
  signal?: AbortSignal;
}

/** Big enough that a masked logit never wins, finite so no backend meets an infinity. */
const MASKED = -3e38;

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortedError('Generation was cancelled');
}

/**
 * Yields the new tokens (the prompt is `init`, reported first through `onPrompt`).
 *
 * @example
 * const gen = parseWhisperGenerationConfig(await readJsonFile(files, 'generation_config.json'), config);
 * for await (const t of generateWhisper(model, { audio }, gen, { maxNewTokens: 64 })) ids.push(t.id);
 */
export async function* generateWhisper(
  model: Model,
  audioInputs: Pick<ModelInputs, 'audio' | 'input_features'>,
  gen: WhisperGenerationConfig,
  options: WhisperGenerateOptions,
  onPrompt?: (init: number[]) => void,
): AsyncGenerator<GeneratedToken> {
  const config = model.config as WhisperConfig;
  if (config.family !== 'whisper') {
    throw new InvalidParamsError(`${config.modelType} is not a Whisper model`, {
      detail: { field: 'model' },
    });
  }
  const max = options.maxNewTokens;
  if (!Number.isSafeInteger(max) || max < 0) {
    throw new InvalidParamsError('maxNewTokens must be a non-negative integer', {
      detail: { field: 'maxNewTokens' },
    });
  }
  const cache = model.newCache() as WhisperCache;
  const { hal } = model;
  const vocab = config.vocab;
  const mask = (tokens: number[]) => {
    const m = new Float32Array(vocab);
    for (const t of tokens) if (t < vocab) m[t] = MASKED;
    return hal.upload(cpuTensor(m, [1, vocab]));
  };
  const suppress = mask(gen.suppressTokens);
  const beginSuppress = mask([...gen.suppressTokens, ...gen.beginSuppressTokens]);
  /** Runs the decoder on `tokens` after what the cache holds; returns its last logits row. */
  const step = async (tokens: number[]): Promise<Tensor> => {
    checkAborted(options.signal);
    const out = await model.forward(
      {
        ...(cache.encoded ? {} : audioInputs),
        decoder_input_ids: cpuTensor(Int32Array.from(tokens), [1, tokens.length]),
      },
      { cache, lastLogitsOnly: true },
    );
    const logits = out.get('logits') as Tensor;
    out.delete('logits');
    model.free(out);
    return logits;
  };
  const argmax = async (logits: Tensor, bias: Tensor): Promise<number> => {
    const masked = await hal.run('binary', [logits, bias], { fn: 'add' });
    const best = await hal.run('argmax', [masked], {});
    try {
      return (await hal.read(best))[0] as number;
    } finally {
      hal.dispose(masked);
      hal.dispose(best);
      hal.dispose(logits);
    }
  };
  try {
    const init = await initTokens(gen, options, async () => {
      if (!gen.langToId) throw new TypeError('no languages');
      const langs = Object.values(gen.langToId);
      const onlyLangs = new Float32Array(vocab).fill(MASKED);
      for (const id of langs) if (id < vocab) onlyLangs[id] = 0;
      const bias = hal.upload(cpuTensor(onlyLangs, [1, vocab]));
      try {
        return await argmax(await step([gen.decoderStartTokenId]), bias);
      } finally {
        hal.dispose(bias);
      }
    });
    if (init.length + max > config.maxTargetPositions) {
      throw new InvalidParamsError(
        `${init.length} prompt tokens + ${max} new tokens exceed the decoder's ${config.maxTargetPositions} positions`,
        { detail: { field: 'maxNewTokens', limit: config.maxTargetPositions - init.length } },
      );
    }
    onPrompt?.(init);
    if (max === 0) return;
    let next = init.slice(cache.length);
    for (let made = 0; made < max; made++) {
      const id = await argmax(await step(next), made === 0 ? beginSuppress : suppress);
      const done = id === gen.eosTokenId ? 'stop' : made + 1 === max ? 'length' : null;
      yield { id, done };
      if (done) return;
      next = [id];
    }
  } finally {
    cache.dispose();
    hal.dispose(suppress);
    hal.dispose(beginSuppress);
  }
}

/** transformers' `_retrieve_init_tokens` for one sequence, timestamps off. */
export async function initTokens(
  gen: WhisperGenerationConfig,
  options: Pick<WhisperGenerateOptions, 'language' | 'task'>,
  detectLanguage: () => Promise<number>,
): Promise<number[]> {
  const language = options.language ?? gen.language;
  const task = options.task ?? gen.task;
  const init: (number | null)[] = [gen.decoderStartTokenId];
  if (language === null && task === null && gen.forced.length > 0) {
    let forced = gen.forced;
    if (forced[0]?.[0] === 1) {
      for (let i = 1; forced.length > 0 && forced[0]?.[0] === i; i++) {
        init.push(forced[0][1]);
        forced = forced.slice(1);
      }
      if (forced.length > 0) throw bad('forced_decoder_ids');
    }
  }
  const langUndefined = init.length <= 1 || init[1] === null;
  let langId: number | null = null;
  if (language !== null) langId = languageId(gen, language);
  else if (gen.langToId && langUndefined) langId = await detectLanguage();
  if (langId !== null) {
    if (init.length > 1) init[1] = langId;
    else init.push(langId);
  }
  const taskIds = new Set(Object.values(gen.taskToId ?? {}));
  if (task !== null) {
    const id = gen.taskToId?.[task];
    if (id === undefined) {
      throw new InvalidParamsError(`Task ${task} is not one this model knows`, {
        detail: { field: 'task', value: task },
      });
    }
    init.push(id);
    for (let i = 0; i < init.length; i++) if (taskIds.has(init[i] as number)) init[i] = id;
  } else if (language !== null && gen.taskToId && !init.some((t) => taskIds.has(t as number))) {
    const transcribe = gen.taskToId.transcribe;
    if (transcribe !== undefined) init.push(transcribe);
  }
  if (gen.noTimestampsTokenId !== null && init[init.length - 1] !== gen.noTimestampsTokenId) {
    init.push(gen.noTimestampsTokenId);
  }
  return init.filter((t): t is number => t !== null);
}

function languageId(gen: WhisperGenerationConfig, language: string): number {
  const lower = language.toLowerCase();
  const token = lower.startsWith('<|') ? lower : `<|${lower}|>`;
  const id = gen.langToId?.[token];
  if (id === undefined) {
    throw new InvalidParamsError(`Language ${language} is not one this model knows`, {
      detail: { field: 'language', value: language },
    });
  }
  return id;
}

/** Runs `generateWhisper` to the end: the prompt, and the ids transformers' generate returns. */
export async function transcribeIds(
  model: Model,
  audioInputs: Pick<ModelInputs, 'audio' | 'input_features'>,
  gen: WhisperGenerationConfig,
  options: WhisperGenerateOptions,
): Promise<{ init: number[]; tokens: number[]; generatedIds: number[] }> {
  let init: number[] = [];
  const tokens: number[] = [];
  for await (const t of generateWhisper(model, audioInputs, gen, options, (p) => {
    init = p;
  })) {
    tokens.push(t.id);
  }
  const last = tokens[tokens.length - 1];
  const generatedIds = last !== undefined && last === gen.eosTokenId ? tokens.slice(0, -1) : tokens;
  return { init, tokens, generatedIds };
}

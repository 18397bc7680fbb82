/**
 * Autoregressive generation for decoder models: one prefill over the prompt, then one step per
 * token against the KV cache. Greedy decoding picks the argmax on the backend (one i32 comes
 * back per token); sampling reads the last row of logits and draws on the CPU with a seeded
 * generator, so a seed reproduces a generation exactly.
 */
import { sampleCpu, seededRandom } from '../../kernels/sample/cpu';
import { cpuTensor, type Tensor } from '../../kernels/tensor/tensor';
import { AbortedError, InvalidParamsError } from '../protocol/errors';
import type { Model } from './model';

export interface GenerateOptions {
  /** New tokens at most (the prompt does not count). */
  maxNewTokens: number;
  /** 0 (default) is greedy. */
  temperature?: number;
  topK?: number;
  topP?: number;
  /** Seed of the sampling generator; generations with the same seed and inputs are identical. */
  seed?: number;
  /** Generation stops after emitting one of these (usually generation_config's eos_token_id). */
  stopTokenIds?: readonly number[];
  signal?: AbortSignal;
}

export interface GeneratedToken {
  id: number;
  /** Why generation ended after this token, if it did. */
  done: 'stop' | 'length' | null;
}

export { seededRandom };

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortedError('Generation was cancelled');
}

/**
 * Yields each new token as soon as it is chosen.
 *
 * @example
 * for await (const t of generate(model, tokenizer.encode('Hello'), { maxNewTokens: 20 })) {
 *   process.stdout.write(stream.push(t.id));
 * }
 */
export async function* generate(
  model: Model,
  prompt: readonly number[],
  options: GenerateOptions,
): AsyncGenerator<GeneratedToken> {
  const cache = model.newCache();
  if (!cache) {
    throw new InvalidParamsError(`${model.config.modelType} is not a decoder; it cannot generate`, {
      detail: { field: 'model' },
    });
  }
  if (prompt.length === 0) {
    throw new InvalidParamsError('The prompt has no tokens', { detail: { field: 'input_ids' } });
  }
  const max = options.maxNewTokens;
  if (!Number.isSafeInteger(max) || max < 0) {
    throw new InvalidParamsError('maxNewTokens must be a non-negative integer', {
      detail: { field: 'maxNewTokens' },
    });
  }
  const temperature = options.temperature ?? 0;
  const random = seededRandom(options.seed ?? 0);
  const stops = new Set(options.stopTokenIds ?? []);
  let next: number[] = [...prompt];
  try {
    for (let made = 0; made < max; made++) {
      checkAborted(options.signal);
      const input_ids = cpuTensor(Int32Array.from(next), [1, next.length]);
      const out = await model.forward({ input_ids }, { cache, lastLogitsOnly: true });
      let id: number;
      try {
        id = await pick(model, out.get('logits') as Tensor, temperature, options, random);
      } finally {
        model.free(out);
      }
      const done = stops.has(id) ? 'stop' : made + 1 === max ? 'length' : null;
      yield { id, done };
      if (done) return;
      next = [id];
    }
  } finally {
    cache.dispose();
  }
}

async function pick(
  model: Model,
  logits: Tensor,
  temperature: number,
  options: GenerateOptions,
  random: () => number,
): Promise<number> {
  if (temperature <= 0) {
    const best = await model.hal.run('argmax', [logits], {});
    try {
      return (await model.hal.read(best))[0] as number;
    } finally {
      model.hal.dispose(best);
    }
  }
  const row = (await model.hal.read(logits)) as Float32Array;
  return sampleCpu(row, { temperature, topK: options.topK, topP: options.topP, random });
}

/** Runs `generate` to the end and returns prompt + new tokens (what HF's `generate` returns). */
export async function generateAll(
  model: Model,
  prompt: readonly number[],
  options: GenerateOptions,
): Promise<number[]> {
  const ids = [...prompt];
  for await (const t of generate(model, prompt, options)) ids.push(t.id);
  return ids;
}

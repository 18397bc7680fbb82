/**
 * The model tasks for Whisper and CLIP images that need no state of the model cache
 * (core/runtime/model-tasks.ts loads the model and hands it here).
 */
import { cpuTensor, type Tensor } from '../../kernels/tensor/tensor';
import type { Model } from '../models/index';
import type { TextTokenizer } from '../models/tokenizer';
import { generateWhisper, type WhisperGenerationConfig } from '../models/whisper-generate';
import { AbortedError, InvalidParamsError } from '../protocol/errors';
import type { EmbedResult, TranscribeParams, TranscribeResult } from '../protocol/inference';
import { float32Tensor, type WireTensor } from '../protocol/tensor';
import type { ModelTaskContext } from './model-tasks';

/** Whisper, greedy with timestamps off: the new tokens, each streamed as `{ token }` progress. */
export async function transcribeAudio(
  model: Model,
  whisper: WhisperGenerationConfig,
  tok: TextTokenizer,
  p: TranscribeParams,
  ctx: ModelTaskContext,
): Promise<TranscribeResult> {
  if (model.config.family !== 'whisper') {
    throw new InvalidParamsError(`${model.id} is not a Whisper model`, {
      detail: { field: 'model' },
    });
  }
  const audio = cpuTensor(new Float32Array(p.audio.data), [1, p.audio.shape.at(-1) as number]);
  // The prompt is at most 4 tokens (start, language, task, no-timestamps): the decoder's
  // positions bound the new tokens before the prompt is known.
  const room = model.config.maxTargetPositions - 4;
  const stream = tok.decodeStream({ skipSpecialTokens: true });
  let text = '';
  const tokens: number[] = [];
  let finishReason: TranscribeResult['finishReason'] = 'length';
  for await (const t of generateWhisper(model, { audio }, whisper, {
    maxNewTokens: Math.min(p.maxTokens, room),
    language: p.language,
    task: p.task,
    signal: ctx.signal,
  })) {
    if (t.done === 'stop') {
      finishReason = 'stop';
      break;
    }
    tokens.push(t.id);
    let piece = stream.push(t.id);
    if (t.done === 'length') piece += stream.flush();
    text += piece;
    ctx.onProgress({ token: { id: t.id, text: piece } });
  }
  return { text, tokens, finishReason };
}

/** CLIP: the model's image_embeds (pooled, projected, unit length). */
export async function embedImages(
  model: Model,
  pixels: WireTensor,
  ctx: ModelTaskContext,
): Promise<EmbedResult> {
  if (model.config.family !== 'clip') {
    throw new InvalidParamsError(`${model.id} does not embed images (CLIP models do)`, {
      detail: { field: 'pixelValues' },
    });
  }
  if (ctx.signal?.aborted) throw new AbortedError('The request was cancelled');
  const out = await model.forward({
    pixel_values: cpuTensor(new Float32Array(pixels.data), pixels.shape),
  });
  try {
    const t = out.get('image_embeds') as Tensor;
    return { embeddings: float32Tensor((await model.hal.read(t)) as Float32Array, [...t.shape]) };
  } finally {
    model.free(out);
  }
}

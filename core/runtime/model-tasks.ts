/**
 * The model work a host does for pages: load a stored model onto the host's HAL once (with its
 * tokenizer), then run, embed, classify and generate on it. Loaded models stay in memory for the
 * next request (least recently used dropped first, at most `maxLoaded`).
 */
import type { Hal } from '../../kernels/hal/hal';
import { cpuTensor, type Tensor } from '../../kernels/tensor/tensor';
import { generate, loadModel, type Model, type ModelInputs } from '../models/index';
import { type ModelFiles, readJsonFile } from '../models/model-files';
import { loadTokenizer, type TextTokenizer } from '../models/tokenizer';
import {
  parseWhisperGenerationConfig,
  type WhisperGenerationConfig,
} from '../models/whisper-generate';
import { AbortedError, InvalidParamsError } from '../protocol/errors';
import {
  type ClassifyParams,
  type ClassifyResult,
  type EmbedParams,
  type EmbedResult,
  type GenerateParams,
  type GenerateResult,
  modelIdOf,
  type RunParams,
  type RunResult,
  type TranscribeParams,
  type TranscribeResult,
  type UnloadParams,
  type UnloadResult,
} from '../protocol/inference';
import { float32Tensor, type WireTensor } from '../protocol/tensor';
import { createStageTasks, type StageTasks } from '../shard/stage-host';
import { embedImages, transcribeAudio } from './media-tasks';

export interface ModelTaskContext {
  onProgress: (progress: unknown) => void;
  signal?: AbortSignal;
}

export interface ModelTaskDeps {
  /** The HAL models load onto (the host's WebGPU device or the CPU). */
  hal(): Promise<Hal>;
  /** The files of a stored model by id (`<repo>@<revision>`). */
  files(modelId: string): ModelFiles;
  maxLoaded?: number;
}

interface Loaded {
  model: Model;
  tokenizer: TextTokenizer | null;
  /** Whisper: generation_config.json (prompt tokens, suppressed tokens, languages). */
  whisper: WhisperGenerationConfig | null;
}

export interface ModelTasks {
  run(p: RunParams, ctx: ModelTaskContext): Promise<RunResult>;
  embed(p: EmbedParams, ctx: ModelTaskContext): Promise<EmbedResult>;
  classify(p: ClassifyParams, ctx: ModelTaskContext): Promise<ClassifyResult>;
  generate(p: GenerateParams, ctx: ModelTaskContext): Promise<GenerateResult>;
  /** Whisper, greedy with timestamps off; progress events are `{ token: { id, text } }`. */
  transcribe(p: TranscribeParams, ctx: ModelTaskContext): Promise<TranscribeResult>;
  unload(p: UnloadParams): Promise<UnloadResult>;
  /** Sharded runs: stage ranges of a model (core/shard/stage-host.ts). */
  stages: StageTasks;
  /** Ids of the models in memory, most recently used last. */
  loaded(): string[];
  /** Drops every loaded model (the HAL is about to change). */
  clear(): void;
}

export function createModelTasks(deps: ModelTaskDeps): ModelTasks {
  const cache = new Map<string, Promise<Loaded>>();
  const maxLoaded = deps.maxLoaded ?? 2;

  const drop = (id: string) => {
    const entry = cache.get(id);
    cache.delete(id);
    entry?.then(({ model }) => model.dispose()).catch(() => {});
  };

  async function get(ref: string): Promise<Loaded> {
    const id = modelIdOf(ref);
    let entry = cache.get(id);
    if (entry) {
      cache.delete(id); // re-insert: most recently used last
    } else {
      entry = (async () => {
        const files = deps.files(id);
        const model = await loadModel(files, await deps.hal());
        const whisper =
          model.config.family === 'whisper'
            ? parseWhisperGenerationConfig(
                await readJsonFile(files, 'generation_config.json'),
                model.config,
              )
            : null;
        return { model, tokenizer: await loadTokenizer(files), whisper };
      })();
      entry.catch(() => cache.delete(id));
    }
    cache.set(id, entry);
    while (cache.size > maxLoaded) drop(cache.keys().next().value as string);
    return entry;
  }

  const needTokenizer = (l: Loaded): TextTokenizer => {
    if (!l.tokenizer) {
      throw new InvalidParamsError(
        `${l.model.id} has no tokenizer.json; send token ids with "run"`,
        {
          detail: { field: 'model' },
        },
      );
    }
    return l.tokenizer;
  };

  /** Tokenizes texts into one right-padded batch (truncated to the model's positions). */
  function batch(l: Loaded, texts: readonly string[]): ModelInputs & { lengths: number[] } {
    const tok = needTokenizer(l);
    const limit = 'maxPositions' in l.model.config ? l.model.config.maxPositions : 512;
    const rows = texts.map((t) => tok.encode(t).slice(0, limit));
    const seq = Math.max(...rows.map((r) => r.length));
    const ids = new Int32Array(rows.length * seq).fill(tok.padTokenId ?? 0);
    const mask = new Int32Array(rows.length * seq);
    rows.forEach((r, i) => {
      ids.set(r, i * seq);
      mask.fill(1, i * seq, i * seq + r.length);
    });
    return {
      input_ids: cpuTensor(ids, [rows.length, seq]),
      attention_mask: cpuTensor(mask, [rows.length, seq]),
      lengths: rows.map((r) => r.length),
    };
  }

  async function readOutput(model: Model, t: Tensor): Promise<Float32Array> {
    return (await model.hal.read(t)) as Float32Array;
  }

  const aborted = (signal?: AbortSignal) => {
    if (signal?.aborted) throw new AbortedError('The request was cancelled');
  };

  /** CLIP: each image's labels ranked by softmax over its logits_per_image row. */
  async function zeroShot(
    loaded: Loaded,
    p: ClassifyParams,
    ctx: ModelTaskContext,
  ): Promise<ClassifyResult> {
    const { model } = loaded;
    if (model.config.family !== 'clip' || !p.labels || !p.pixelValues) {
      throw new InvalidParamsError(
        model.config.family === 'clip'
          ? `${model.id} classifies images against labels: give pixelValues and labels`
          : `${model.id} is not a CLIP model; labels are for zero-shot image classification`,
        { detail: { field: 'labels' } },
      );
    }
    const { lengths: _, ...text } = batch(loaded, p.labels);
    const pixels = p.pixelValues;
    aborted(ctx.signal);
    const out = await model.forward({
      ...text,
      pixel_values: cpuTensor(new Float32Array(pixels.data), pixels.shape),
    });
    try {
      const logits = out.get('logits_per_image') as Tensor;
      const [b, n] = logits.shape as [number, number];
      const values = await readOutput(model, logits);
      const labels = p.labels;
      return {
        results: Array.from({ length: b }, (_, r) =>
          softmax(values.subarray(r * n, (r + 1) * n))
            .map((score, i) => ({ label: labels[i] as string, score }))
            .sort((x, y) => y.score - x.score)
            .slice(0, p.topK),
        ),
      };
    } finally {
      model.free(out);
    }
  }

  return {
    stages: createStageTasks(deps),
    async run(p, ctx) {
      const { model } = await get(p.model);
      aborted(ctx.signal);
      const inputs: ModelInputs = {};
      for (const [name, t] of Object.entries(p.inputs) as [keyof ModelInputs, WireTensor][]) {
        inputs[name] = cpuTensor(
          t.dtype === 'int32' ? new Int32Array(t.data) : new Float32Array(t.data),
          t.shape,
        );
      }
      const wantHidden = p.outputs?.some(isHiddenState) ?? false;
      const out = await model.forward(inputs, { hiddenStates: wantHidden });
      try {
        const outputs: Record<string, WireTensor> = {};
        for (const [name, t] of out) {
          const wanted = p.outputs ? p.outputs.includes(name) : !isHiddenState(name);
          if (wanted) outputs[name] = float32Tensor(await readOutput(model, t), [...t.shape]);
        }
        const missing = p.outputs?.filter((n) => !(n in outputs)) ?? [];
        if (missing.length > 0) {
          throw new InvalidParamsError(`${model.id} has no output ${missing.join(', ')}`, {
            detail: { field: 'outputs', available: [...out.keys()] },
          });
        }
        return { outputs, backend: model.hal.gpu ? 'webgpu' : 'cpu' };
      } finally {
        model.free(out);
      }
    },

    async embed(p, ctx) {
      const loaded = await get(p.model);
      const { model } = loaded;
      if (p.pixelValues) return embedImages(model, p.pixelValues, ctx);
      const inputs = batch(loaded, p.texts as string[]);
      aborted(ctx.signal);
      const out = await model.forward(inputs);
      try {
        // CLIP: the model's own text embedding (pooled at end-of-text, projected, unit length);
        // `pooling` and `normalize` describe the plain encoders' pooling below.
        const own = out.get('text_embeds');
        if (own) return { embeddings: float32Tensor(await readOutput(model, own), [...own.shape]) };
        const last = out.get('last_hidden_state') as Tensor;
        const [b, seq, hidden] = last.shape as [number, number, number];
        const values = await readOutput(model, last);
        const result = new Float32Array(b * hidden);
        for (let r = 0; r < b; r++) {
          const n = p.pooling === 'cls' ? 1 : (inputs.lengths[r] as number);
          for (let i = 0; i < n; i++) {
            for (let d = 0; d < hidden; d++) {
              const at = r * hidden + d;
              result[at] =
                (result[at] as number) + (values[(r * seq + i) * hidden + d] as number) / n;
            }
          }
          if (p.normalize) {
            const row = result.subarray(r * hidden, (r + 1) * hidden);
            const norm = Math.hypot(...row) || 1;
            for (let d = 0; d < hidden; d++) row[d] = (row[d] as number) / norm;
          }
        }
        return { embeddings: float32Tensor(result, [b, hidden]) };
      } finally {
        model.free(out);
      }
    },

    async classify(p, ctx) {
      const loaded = await get(p.model);
      const { model } = loaded;
      if (model.config.family === 'clip' || p.labels) return zeroShot(loaded, p, ctx);
      const inputs: ModelInputs = p.texts
        ? batch(loaded, p.texts)
        : {
            pixel_values: cpuTensor(
              new Float32Array((p.pixelValues as WireTensor).data),
              (p.pixelValues as WireTensor).shape,
            ),
          };
      aborted(ctx.signal);
      const out = await model.forward(inputs);
      try {
        const logits = out.get('logits');
        const labels = model.config.labels;
        if (
          !logits ||
          !labels ||
          model.config.family === 'gpt2' ||
          model.config.family === 'llama'
        ) {
          throw new InvalidParamsError(`${model.id} has no classification head`, {
            detail: { field: 'model' },
          });
        }
        const [b, n] = logits.shape as [number, number];
        const values = await readOutput(model, logits);
        const results: ClassifyResult['results'] = [];
        for (let r = 0; r < b; r++) {
          results.push(
            softmax(values.subarray(r * n, (r + 1) * n))
              .map((score, i) => ({ label: labels[i] ?? `LABEL_${i}`, score }))
              .sort((x, y) => y.score - x.score)
              .slice(0, p.topK),
          );
        }
        return { results };
      } finally {
        model.free(out);
      }
    },

    async generate(p, ctx) {
      const loaded = await get(p.model);
      const tok = needTokenizer(loaded);
      const prompt = tok.encode(p.prompt, { addSpecialTokens: p.addSpecialTokens });
      const limit =
        'maxPositions' in loaded.model.config ? loaded.model.config.maxPositions : Infinity;
      const room = limit - prompt.length;
      if (room < 1) {
        throw new InvalidParamsError(
          `The prompt has ${prompt.length} tokens; the model takes ${limit} positions`,
          { detail: { field: 'prompt', tokens: prompt.length, limit } },
        );
      }
      const stream = tok.decodeStream({ skipSpecialTokens: true });
      let text = '';
      let tokens = 0;
      let finishReason: GenerateResult['finishReason'] = 'length';
      for await (const t of generate(loaded.model, prompt, {
        maxNewTokens: Math.min(p.maxTokens, room),
        temperature: p.temperature,
        topK: p.topK,
        topP: p.topP,
        seed: p.seed,
        stopTokenIds: tok.eosTokenIds,
        signal: ctx.signal,
      })) {
        tokens++;
        if (t.done === 'stop') {
          finishReason = 'stop';
          break;
        }
        let piece = stream.push(t.id);
        if (t.done === 'length') piece += stream.flush();
        const stop = firstStop(text + piece, p.stop, text.length);
        if (stop !== null) {
          piece = (text + piece).slice(text.length, stop);
          text += piece;
          if (piece) ctx.onProgress({ token: { id: t.id, text: piece } });
          finishReason = 'stop';
          break;
        }
        text += piece;
        ctx.onProgress({ token: { id: t.id, text: piece } });
      }
      return { text, tokens, promptTokens: prompt.length, finishReason };
    },

    async transcribe(p, ctx) {
      const loaded = await get(p.model);
      const { model, whisper } = loaded;
      if (model.config.family !== 'whisper' || !whisper) {
        throw new InvalidParamsError(`${model.id} is not a Whisper model`, {
          detail: { field: 'model' },
        });
      }
      return transcribeAudio(model, whisper, needTokenizer(loaded), p, ctx);
    },

    async unload(p) {
      const id = modelIdOf(p.model);
      const had = cache.has(id);
      drop(id);
      return { unloaded: had ? 1 : 0 };
    },
    loaded: () => [...cache.keys()],
    clear() {
      for (const id of [...cache.keys()]) drop(id);
    },
  };
}

/** `hidden_states.<i>`, or a tower's (`text_hidden_states.<i>`, CLIP): only returned when asked. */
const isHiddenState = (name: string) => /(^|_)hidden_states\.\d+$/.test(name);

/** Where the first stop string starts in `text` (searching from a little before `from`). */
function firstStop(text: string, stops: readonly string[], from: number): number | null {
  let best: number | null = null;
  for (const s of stops) {
    const at = text.indexOf(s, Math.max(0, from - s.length));
    if (at >= 0 && (best === null || at < best)) best = at;
  }
  return best;
}

function softmax(row: Float32Array): number[] {
  const max = Math.max(...row);
  const exps = Array.from(row, (x) => Math.exp(x - max));
  const sum = exps.reduce((a, x) => a + x, 0);
  return exps.map((e) => e / sum);
}

/**
 * A surface shaped like Chrome's built-in Prompt API (`LanguageModel.availability()`,
 * `create({ monitor })` with `downloadprogress`, `prompt`, `promptStreaming`, `destroy`) on top
 * of the SDK, so a page written for Chrome's API runs on any browser with tabpool and a model
 * the page chooses.
 *
 * The conversation is kept as plain text turns ("System:", "User:", "Assistant:") because chat
 * templates are Jinja programs, which we do not run; models trained on another format should be
 * prompted through `generate` directly.
 *
 * @example
 * const LanguageModel = createLanguageModel(await connect(), {
 *   repo: 'me/tiny-stories', files: ['config.json', 'model.safetensors', 'tokenizer.json'],
 * });
 * if ((await LanguageModel.availability()) !== 'unavailable') {
 *   const session = await LanguageModel.create({
 *     monitor: (m) => m.addEventListener('downloadprogress', (e) => console.log(e.loaded)),
 *   });
 *   console.log(await session.prompt('Tell me a story'));
 * }
 */
import { AbortedError, isTabpoolError } from '../protocol/errors';
import type { TabpoolClient } from './client';

export type Availability = 'unavailable' | 'downloadable' | 'downloading' | 'available';

export interface LanguageModelSource {
  repo: string;
  revision?: string;
  /** The files `models.load` fetches (config.json, model.safetensors or shards, tokenizer.json…). */
  files: string[];
}

export interface LanguageModelMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** The `downloadprogress` event: `loaded` is the fraction downloaded, 0 to 1 (as in Chrome). */
export class DownloadProgressEvent extends Event {
  constructor(
    readonly loaded: number,
    readonly total = 1,
  ) {
    super('downloadprogress');
  }
}

export interface CreateOptions {
  monitor?: (monitor: EventTarget) => void;
  initialPrompts?: LanguageModelMessage[];
  temperature?: number;
  topK?: number;
  signal?: AbortSignal;
  /** tabpool extras: the most tokens one answer may have, and the sampling seed. */
  maxTokens?: number;
  seed?: number;
}

export interface PromptOptions {
  signal?: AbortSignal;
}

export interface LanguageModelSession {
  prompt(input: string, options?: PromptOptions): Promise<string>;
  promptStreaming(input: string, options?: PromptOptions): ReadableStream<string>;
  clone(): Promise<LanguageModelSession>;
  destroy(): void;
  readonly temperature: number;
  readonly topK: number;
}

export interface LanguageModelStatic {
  availability(): Promise<Availability>;
  create(options?: CreateOptions): Promise<LanguageModelSession>;
  params(): Promise<{
    defaultTopK: number;
    maxTopK: number;
    defaultTemperature: number;
    maxTemperature: number;
  }>;
}

const LABEL: Record<LanguageModelMessage['role'], string> = {
  system: 'System',
  user: 'User',
  assistant: 'Assistant',
};

/** The conversation as the text the model continues. */
export function renderConversation(turns: readonly LanguageModelMessage[]): string {
  return `${turns.map((t) => `${LABEL[t.role]}: ${t.content}`).join('\n')}\nAssistant:`;
}

/** `LanguageModel.params()` where tabpool serves: sampling limits `generate` accepts. */
export const LANGUAGE_MODEL_PARAMS = {
  defaultTopK: 40,
  maxTopK: 100_000,
  defaultTemperature: 0.8,
  maxTemperature: 5,
} as const;

export function createLanguageModel(
  client: TabpoolClient,
  source: LanguageModelSource,
): LanguageModelStatic {
  const model = `${source.repo}@${source.revision ?? 'main'}`;

  async function availability(): Promise<Availability> {
    try {
      const { models } = await client.models.list();
      const row = models.find((m) => m.id === model);
      if (!row || row.state === 'corrupt') return 'downloadable';
      return row.state === 'ready' ? 'available' : 'downloading';
    } catch (e) {
      if (isTabpoolError(e)) return 'unavailable';
      throw e;
    }
  }

  function session(turns: LanguageModelMessage[], options: CreateOptions): LanguageModelSession {
    let destroyed = false;
    const outer = new AbortController();
    options.signal?.addEventListener('abort', () => outer.abort(), { once: true });
    const temperature = options.temperature ?? LANGUAGE_MODEL_PARAMS.defaultTemperature;
    const topK = options.topK ?? LANGUAGE_MODEL_PARAMS.defaultTopK;

    async function* answer(input: string, signal?: AbortSignal): AsyncGenerator<string, string> {
      if (destroyed) throw new AbortedError('The session was destroyed');
      const both = AbortSignal.any([outer.signal, ...(signal ? [signal] : [])]);
      const asked = [...turns, { role: 'user' as const, content: input }];
      const gen = client.generate(model, renderConversation(asked), {
        temperature,
        topK,
        maxTokens: options.maxTokens ?? 256,
        seed: options.seed ?? 0,
        stop: ['\nUser:', '\nSystem:'],
        signal: both,
      });
      let text = '';
      let r = await gen.next();
      while (!r.done) {
        text += r.value;
        yield r.value;
        r = await gen.next();
      }
      // Only a finished answer joins the conversation.
      turns.push(
        { role: 'user', content: input },
        { role: 'assistant', content: r.value.text.trim() },
      );
      return text;
    }

    return {
      temperature,
      topK,
      async prompt(input, opts = {}) {
        let text = '';
        for await (const piece of answer(input, opts.signal)) text += piece;
        return text.trim();
      },
      promptStreaming(input, opts = {}) {
        const it = answer(input, opts.signal);
        return new ReadableStream<string>({
          async pull(controller) {
            try {
              const r = await it.next();
              if (r.done) controller.close();
              else controller.enqueue(r.value);
            } catch (e) {
              controller.error(e);
            }
          },
          async cancel() {
            await it.return('');
          },
        });
      },
      async clone() {
        return session([...turns], options);
      },
      destroy() {
        destroyed = true;
        outer.abort();
      },
    };
  }

  return {
    availability,
    async params() {
      return { ...LANGUAGE_MODEL_PARAMS };
    },
    async create(options = {}) {
      const monitor = new EventTarget();
      options.monitor?.(monitor);
      const { model: row } = await client.models.load(
        { repo: source.repo, revision: source.revision, files: source.files },
        {
          signal: options.signal,
          onProgress: (p) =>
            monitor.dispatchEvent(
              new DownloadProgressEvent(p.totalBytes > 0 ? p.bytes / p.totalBytes : 0),
            ),
        },
      );
      if (row.state !== 'ready') throw new AbortedError(`${model} did not finish downloading`);
      monitor.dispatchEvent(new DownloadProgressEvent(1));
      return session([...(options.initialPrompts ?? [])], options);
    },
  };
}

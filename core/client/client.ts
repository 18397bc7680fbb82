/**
 * The page SDK: what a web page imports to use tabpool.
 *
 * @example
 * import { connect } from 'tabpool/client';
 * const tabpool = await connect();
 * const { c } = await tabpool.matmul(a, b, m, k, n);
 */
import {
  AbortedError,
  CoordinatorLostError,
  errorFromWire,
  NotInstalledError,
  type TabpoolError,
} from '../protocol/errors';
import type {
  ClassifyResult,
  EmbedResult,
  GenerateParams,
  GenerateResult,
  RunResult,
  TokenEvent,
  TranscribeParams,
  TranscribeResult,
  UnloadResult,
} from '../protocol/inference';
import type { ModelsListResult, ModelsLoadResult, ProgressEvent } from '../protocol/models';
import type {
  HelloResult,
  MatmulResult,
  PageReply,
  SessionEvent,
  StatusResult,
} from '../protocol/page';
import { collectBuffers, float32Tensor, int32Tensor, type WireTensor } from '../protocol/tensor';
import { PROTOCOL_VERSION } from '../protocol/version';
import { clipPixelValues, type ImagePreprocess, type RgbaImage, resampleTo16k } from './media';

export interface ConnectOptions {
  /** How long to wait for the extension to answer (it is absent if it never does). */
  timeoutMs?: number;
  /** The window to talk through (tests; defaults to the global window). */
  window?: Window;
}

export interface CallOptions {
  /** Aborting rejects the call with ABORTED and cancels it in the extension. */
  signal?: AbortSignal;
  /** Ends the call with TIMEOUT in the extension after this many ms (default 30 s). */
  deadlineMs?: number;
  /** Buffers to move instead of copy. Moved buffers are unusable in the page afterwards. */
  transfer?: ArrayBuffer[];
  /** Called with each progress event of a long call (`models.load`). */
  onProgress?: (progress: ProgressEvent['progress']) => void;
  /** Called with each token event of `generate` and `transcribe`. */
  onToken?: (token: TokenEvent['token']) => void;
}

/** A tensor for `run`: token ids and masks as Int32Array, pixels as Float32Array. */
export interface ClientTensor {
  data: Float32Array | Int32Array;
  shape: number[];
}

export type GenerateOptions = Partial<Omit<GenerateParams, 'model' | 'prompt'>> & CallOptions;
export type TranscribeOptions = Partial<Omit<TranscribeParams, 'model' | 'audio'>> &
  CallOptions & {
    /** The samples' rate; other than 16000, the SDK resamples linearly (see media.ts). */
    sampleRate?: number;
  };
/** pixel_values for `embed`/`classify` from a tensor or RGBA images (null: the input is texts). */
function pixelsOf(
  input: string[] | ClientTensor | RgbaImage[],
  preprocess: ImagePreprocess | undefined,
): WireTensor | null {
  let pixels: ClientTensor;
  if (!Array.isArray(input)) pixels = input;
  else if (input.length > 0 && typeof input[0] !== 'string') {
    if (!preprocess) throw new TypeError('RGBA images need options.preprocess');
    pixels = clipPixelValues(input as RgbaImage[], preprocess);
  } else return null;
  const data = pixels.data instanceof Float32Array ? pixels.data : Float32Array.from(pixels.data);
  return float32Tensor(data, pixels.shape);
}

export interface ClassifyOptions extends CallOptions {
  topK?: number;
  /** CLIP zero-shot: rank these labels for each image. */
  labels?: string[];
  /** How RGBA images become pixel_values (the model's preprocessor_config.json). */
  preprocess?: ImagePreprocess;
}
export type { TokenEvent };

interface OpenSession {
  port: MessagePort;
  session: SessionEvent;
}

let nextId = 0;
const newId = () => `tp-${Date.now().toString(36)}-${(++nextId).toString(36)}`;

/**
 * A session with the extension over a private MessagePort. If the extension's service worker
 * restarts, calls in flight fail with COORDINATOR_LOST and the next call opens a new session.
 */
export class TabpoolClient {
  private readonly pending = new Map<
    string,
    {
      resolve: (v: unknown) => void;
      reject: (e: unknown) => void;
      onProgress: ((p: ProgressEvent['progress']) => void) | undefined;
      onToken: ((t: TokenEvent['token']) => void) | undefined;
    }
  >();
  private current: OpenSession | null;
  private reopening: Promise<OpenSession> | null = null;
  private closed = false;
  private readonly onWindowMessage: (e: MessageEvent) => void;

  constructor(
    opened: OpenSession,
    private readonly win: Window,
    private readonly reopen: () => Promise<OpenSession>,
  ) {
    this.current = opened;
    this.listen(opened.port);
    // The bridge frame says so when the coordinator went away (a MessagePort cannot tell).
    this.onWindowMessage = (e: MessageEvent) => {
      const m = e.data as { tabpool?: unknown; event?: unknown } | null;
      if (!/^(chrome|moz)-extension:\/\//.test(e.origin) || m?.event !== 'coordinator-lost') return;
      this.lose();
    };
    win.addEventListener('message', this.onWindowMessage);
  }

  /** What the extension said when the session opened: its version and our origin. */
  get session(): SessionEvent | null {
    return this.current?.session ?? null;
  }

  /** Sends one request; resolves with its result or rejects with a rebuilt TabpoolError. */
  async call<T = unknown>(op: string, params?: unknown, options: CallOptions = {}): Promise<T> {
    if (this.closed) throw new AbortedError('The session was closed');
    const { signal } = options;
    if (signal?.aborted) throw new AbortedError(`${op} was aborted`);
    const { port } = await this.ensureOpen();
    const id = newId();
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        this.pending.delete(id);
        reject(new AbortedError(`${op} was aborted`));
        // Tell the extension too, so the pool stops spending time on it.
        port.postMessage({ tabpool: PROTOCOL_VERSION, id: newId(), op: 'cancel', params: { id } });
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        onProgress: options.onProgress,
        onToken: options.onToken,
        resolve: (v) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(v as T);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      });
      const message: Record<string, unknown> = { tabpool: PROTOCOL_VERSION, id, op };
      if (params !== undefined) message.params = params;
      if (options.deadlineMs !== undefined) message.deadlineMs = options.deadlineMs;
      port.postMessage(message, options.transfer ?? []);
    });
  }

  /** The shared model store: download once for every page and origin, list what is there. */
  readonly models = {
    /**
     * Downloads a model's files into the extension's store (or finds them there).
     * @example
     * const { model } = await tabpool.models.load(
     *   { repo: 'Xenova/bert-base-uncased', files: ['config.json', 'model.safetensors'] },
     *   { onProgress: (p) => console.log(`${p.bytes} / ${p.totalBytes}`) },
     * );
     */
    load: (
      params: { repo: string; revision?: string; files: string[] },
      options: CallOptions = {},
    ): Promise<ModelsLoadResult> =>
      this.call('models.load', params, { deadlineMs: 10 * 60_000, ...options }),
    list: (): Promise<ModelsListResult> => this.call('models.list'),
    /** Frees a model from the hosts' memory; its files stay in the store. */
    unload: (model: string): Promise<UnloadResult> => this.call('models.unload', { model }),
  };

  /**
   * Runs a stored model on named inputs and returns its outputs by Hugging Face name.
   * @example
   * const { logits } = await tabpool.run('me/bert-sst2', {
   *   input_ids: { data: Int32Array.of(101, 7592, 102), shape: [1, 3] },
   * });
   */
  async run(
    model: string,
    inputs: Record<string, ClientTensor>,
    options: CallOptions & { outputs?: string[] } = {},
  ): Promise<Record<string, { data: Float32Array; shape: number[] }>> {
    const wire: Record<string, WireTensor> = {};
    for (const [name, t] of Object.entries(inputs)) {
      wire[name] =
        t.data instanceof Int32Array
          ? int32Tensor(t.data, t.shape)
          : float32Tensor(t.data, t.shape);
    }
    const params = options.outputs
      ? { model, inputs: wire, outputs: options.outputs }
      : { model, inputs: wire };
    const r = await this.call<RunResult>('run', params, options);
    return Object.fromEntries(
      Object.entries(r.outputs).map(([k, t]) => [
        k,
        { data: new Float32Array(t.data), shape: t.shape },
      ]),
    );
  }

  /**
   * One embedding per text (mean-pooled and unit length by default), or per image for CLIP
   * (pixel_values, or RGBA images with `preprocess`): the model's own text/image embeddings.
   * @example
   * const [a, b] = await tabpool.embed('me/minilm', ['first text', 'second text']);
   */
  async embed(
    model: string,
    input: string[] | ClientTensor | RgbaImage[],
    options: CallOptions & {
      pooling?: 'mean' | 'cls';
      normalize?: boolean;
      preprocess?: ImagePreprocess;
    } = {},
  ): Promise<Float32Array[]> {
    const { pooling, normalize, preprocess, ...call } = options;
    const pixels = pixelsOf(input, preprocess);
    const what = pixels ? { pixelValues: pixels } : { texts: input as string[] };
    const r = await this.call<EmbedResult>('embed', { model, ...what, pooling, normalize }, call);
    const [n, dim] = r.embeddings.shape as [number, number];
    const all = new Float32Array(r.embeddings.data);
    return Array.from({ length: n }, (_, i) => all.subarray(i * dim, (i + 1) * dim));
  }

  /**
   * Labels with scores, best first, per text or per image: `pixel_values` f32
   * [batch, channels, height, width] preprocessed as the model's preprocessor_config.json says,
   * or RGBA images (canvas ImageData) with `preprocess` (CLIP's resize, crop and normalisation).
   * With `labels`, a CLIP model ranks them for each image (zero-shot).
   * @example
   * const [[best]] = await tabpool.classify('me/mnist-vit', { data: pixels, shape: [1, 1, 28, 28] });
   * const [ranked] = await tabpool.classify('openai/clip-vit-base-patch32', [imageData], {
   *   labels: ['a photo of a cat', 'a photo of a dog'], preprocess: { shortestEdge: 224 } });
   */
  async classify(
    model: string,
    input: string[] | ClientTensor | RgbaImage[],
    options: ClassifyOptions = {},
  ): Promise<ClassifyResult['results']> {
    const { topK, labels, preprocess, ...call } = options;
    const pixels = pixelsOf(input, preprocess);
    const what = pixels ? { pixelValues: pixels, labels } : { texts: input as string[], labels };
    return (await this.call<ClassifyResult>('classify', { model, ...what, topK }, call)).results;
  }

  /**
   * Transcribes mono audio with a Whisper model (greedy, timestamps off, at most 30 s). Each new
   * token's text goes to `onToken` as it is made; aborting `signal` cancels it in the extension.
   * @example
   * const { text } = await tabpool.transcribe('openai/whisper-tiny', samples, { sampleRate: 48000 });
   */
  async transcribe(
    model: string,
    samples: Float32Array,
    options: TranscribeOptions = {},
  ): Promise<TranscribeResult> {
    const { sampleRate, language, task, maxTokens, ...call } = options;
    const audio = resampleTo16k(samples, sampleRate ?? 16_000);
    return this.call<TranscribeResult>(
      'transcribe',
      { model, audio: float32Tensor(audio, [audio.length]), language, task, maxTokens },
      { ...call, deadlineMs: call.deadlineMs ?? 5 * 60_000 },
    );
  }

  /**
   * Generates text, yielding each new piece as the model produces it; the iterator's return
   * value is the whole result (text, token counts, finish reason). Breaking out of the loop
   * cancels the generation in the extension.
   * @example
   * for await (const piece of tabpool.generate('me/tiny-llama', 'Once upon a time', { maxTokens: 50 })) {
   *   out.textContent += piece;
   * }
   */
  async *generate(
    model: string,
    prompt: string,
    options: GenerateOptions = {},
  ): AsyncGenerator<string, GenerateResult, undefined> {
    const { signal, deadlineMs, transfer: _t, onProgress: _p, onToken, ...params } = options;
    const queue: string[] = [];
    let wake: (() => void) | null = null;
    const stop = new AbortController();
    const onOuterAbort = () => stop.abort();
    signal?.addEventListener('abort', onOuterAbort, { once: true });
    let finished = false;
    const done = this.call<GenerateResult>(
      'generate',
      { model, prompt, ...params },
      {
        signal: stop.signal,
        deadlineMs: deadlineMs ?? 5 * 60_000,
        onToken: (t) => {
          onToken?.(t);
          queue.push(t.text);
          wake?.();
        },
      },
    ).finally(() => {
      finished = true;
      wake?.();
    });
    try {
      while (true) {
        while (queue.length > 0) {
          const piece = queue.shift() as string;
          if (piece) yield piece;
        }
        if (finished) return await done;
        await new Promise<void>((r) => {
          wake = r;
        });
        wake = null;
      }
    } finally {
      signal?.removeEventListener('abort', onOuterAbort);
      if (!finished) {
        stop.abort();
        done.catch(() => {});
      }
    }
  }

  hello(): Promise<HelloResult> {
    return this.call('hello');
  }

  status(): Promise<StatusResult> {
    return this.call('status');
  }

  /**
   * C = A · B for row-major f32 matrices A [m, k] and B [k, n].
   * @example
   * const { c } = await tabpool.matmul(Float32Array.of(1, 2), Float32Array.of(3, 4), 1, 2, 1); // c = [11]
   */
  async matmul(
    a: Float32Array,
    b: Float32Array,
    m: number,
    k: number,
    n: number,
    options: CallOptions & { transferInputs?: boolean } = {},
  ): Promise<{ c: Float32Array; shape: number[]; host: MatmulResult['host'] }> {
    const params = { a: float32Tensor(a, [m, k]), b: float32Tensor(b, [k, n]) };
    const transfer = options.transferInputs ? collectBuffers(params) : [];
    const r = await this.call<MatmulResult>('matmul', params, { ...options, transfer });
    return { c: new Float32Array(r.c.data), shape: r.c.shape, host: r.host };
  }

  /** Ends the session; pending calls reject with ABORTED. */
  close(): void {
    this.closed = true;
    this.win.removeEventListener('message', this.onWindowMessage);
    this.failPending(new AbortedError('The session was closed'));
    this.current?.port.close();
    this.current = null;
  }

  private ensureOpen(): Promise<OpenSession> {
    if (this.current) return Promise.resolve(this.current);
    this.reopening ??= this.reopen().then(
      (opened) => {
        this.reopening = null;
        this.current = opened;
        this.listen(opened.port);
        return opened;
      },
      (e: unknown) => {
        this.reopening = null;
        throw e;
      },
    );
    return this.reopening;
  }

  private listen(port: MessagePort): void {
    port.onmessage = (e: MessageEvent) => {
      if (this.current?.port === port) this.onMessage(e.data);
    };
  }

  private onMessage(data: unknown): void {
    const m = data as PageReply | ProgressEvent | TokenEvent | { event?: string };
    if ('event' in m && m.event === 'closed') {
      this.lose(); // the content script's pipe to the extension broke (Firefox)
      return;
    }
    if (!('id' in m) || typeof m.id !== 'string') return;
    const entry = this.pending.get(m.id);
    if (!entry) return;
    if ('event' in m) {
      if (m.event === 'progress') entry.onProgress?.((m as ProgressEvent).progress);
      if (m.event === 'token') entry.onToken?.((m as TokenEvent).token);
      return;
    }
    this.pending.delete(m.id);
    if (m.ok) entry.resolve(m.result);
    else entry.reject(errorFromWire(m.error));
  }

  /** The coordinator is gone: fail what is in flight, open a new session on the next call. */
  private lose(): void {
    if (!this.current) return;
    this.current.port.close();
    this.current = null;
    this.failPending(
      new CoordinatorLostError('The extension restarted while this call ran; call again'),
    );
  }

  private failPending(error: TabpoolError): void {
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
  }
}

/** Asks the content script for a session and waits for the extension's first message on it. */
function openSession(win: Window, timeoutMs: number): Promise<OpenSession> {
  const { port1, port2 } = new MessageChannel();
  const id = newId();
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      win.removeEventListener('message', onWindowMessage);
    };
    const timer = setTimeout(() => {
      cleanup();
      port1.close();
      reject(new NotInstalledError(`No tabpool extension answered within ${timeoutMs} ms`));
    }, timeoutMs);
    // Errors from the content script (before the session exists) come back on the window.
    const onWindowMessage = (e: MessageEvent) => {
      const m = e.data as PageReply | null;
      if (e.source !== win || !m || typeof m !== 'object' || m.id !== id || !('ok' in m)) return;
      if (!m.ok) {
        cleanup();
        port1.close();
        reject(errorFromWire(m.error));
      }
    };
    win.addEventListener('message', onWindowMessage);
    port1.onmessage = (e: MessageEvent) => {
      const m = e.data as SessionEvent;
      if (m?.event !== 'session') return;
      cleanup();
      port1.onmessage = null;
      resolve({ port: port1, session: m });
    };
    const origin = win.location.origin === 'null' ? '*' : win.location.origin;
    win.postMessage({ tabpool: PROTOCOL_VERSION, id, op: 'connect' }, origin, [port2]);
  });
}

/**
 * Opens a session with the tabpool extension. Rejects with NOT_INSTALLED when no extension
 * answers within `timeoutMs`.
 */
export async function connect(options: ConnectOptions = {}): Promise<TabpoolClient> {
  const win = options.window ?? window;
  const timeoutMs = options.timeoutMs ?? 3_000;
  const opened = await openSession(win, timeoutMs);
  return new TabpoolClient(opened, win, () => openSession(win, timeoutMs));
}

export type { WireTensor };

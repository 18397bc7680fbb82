/**
 * The page protocol: what a web page sends on `window.postMessage` and what it gets back.
 * Types here, schemas beside them; docs/protocol.md is the prose version of this file.
 */
import * as v from 'valibot';
import {
  BadMessageError,
  InvalidParamsError,
  PayloadTooLargeError,
  UnknownOpError,
  UnsupportedVersionError,
  type WireError,
} from './errors';
import {
  type ClassifyParams,
  type ClassifyResult,
  type EmbedParams,
  type EmbedResult,
  type GenerateParams,
  type GenerateResult,
  parseClassifyParams,
  parseEmbedParams,
  parseGenerateParams,
  parseRunParams,
  parseTranscribeParams,
  parseUnloadParams,
  type RunParams,
  type RunResult,
  type TranscribeParams,
  type TranscribeResult,
  type UnloadParams,
  type UnloadResult,
} from './inference';
import {
  type ModelsListResult,
  type ModelsLoadParams,
  type ModelsLoadResult,
  parseModelsLoadParams,
} from './models';
import {
  checkTensorBytes,
  isArrayBuffer,
  MAX_TENSOR_BYTES,
  type WireTensor,
  WireTensorSchema,
} from './tensor';
import { PROTOCOL_VERSION } from './version';

/** The most characters a request id may have. */
export const MAX_ID_LENGTH = 128;

// ---- requests (page → extension) ----

/** The longest deadline a request may ask for. */
export const MAX_DEADLINE_MS = 10 * 60_000;
/** The deadline of a request that names none. */
export const DEFAULT_DEADLINE_MS = 30_000;

/** Where a request waits in the pool's queue: `interactive` (default) before `background`. */
export type RequestPriority = 'interactive' | 'background';
/** Ops safe to run twice, so `hedge` may send a second copy (the first answer wins). */
export const HEDGEABLE_OPS = ['matmul', 'run', 'embed', 'classify'] as const;
/**
 * Ops a relay may send again, marked `resume`, when the coordinator restarted while they ran:
 * they have no side effects and stream nothing, so running them twice cannot show.
 */
export const RESUMABLE_OPS = [
  ...HEDGEABLE_OPS,
  'hello',
  'status',
  'echo',
  'models.list',
  'models.defaults',
] as const;

interface RequestBase {
  tabpool: number;
  id: string;
  /** Milliseconds from arrival after which the request ends with TIMEOUT. */
  deadlineMs?: number;
  priority?: RequestPriority;
  /** Latency-critical: a slow first host gets a second copy on another host (HEDGEABLE_OPS). */
  hedge?: boolean;
  /** Set by the relay only: this request was in flight when the coordinator restarted. */
  resume?: true;
}

export interface HelloRequest extends RequestBase {
  op: 'hello';
}
export interface MatmulRequest extends RequestBase {
  op: 'matmul';
  params: { a: WireTensor; b: WireTensor };
}
export interface StatusRequest extends RequestBase {
  op: 'status';
}
/** Sends bytes to the coordinator and back: a transport check that touches no host. */
export interface EchoRequest extends RequestBase {
  op: 'echo';
  params: { data: ArrayBuffer };
}
/** Downloads a model into the shared store (once for every page); streams `progress` events. */
export interface ModelsLoadRequest extends RequestBase {
  op: 'models.load';
  params: ModelsLoadParams;
}
/** The models in the shared store. */
export interface ModelsListRequest extends RequestBase {
  op: 'models.list';
}
/** Stops an in-flight request of the same session; that request ends with ABORTED. */
export interface CancelRequest extends RequestBase {
  op: 'cancel';
  params: { id: string };
}
/** Asks the user to let this origin use tabpool (or learns the standing answer). */
export interface AccessRequest extends RequestBase {
  op: 'access';
  params: { timeoutMs: number };
}
/** The models the user chose for pages (the `LanguageModel` global's model). */
export interface ModelsDefaultsRequest extends RequestBase {
  op: 'models.defaults';
}
/** Frees a model from the hosts' memory (its stored files stay). */
export interface ModelsUnloadRequest extends RequestBase {
  op: 'models.unload';
  params: UnloadParams;
}
/** Runs a stored model on named tensors (input_ids, attention_mask, pixel_values…). */
export interface RunModelRequest extends RequestBase {
  op: 'run';
  params: RunParams;
}
/** Sentence embeddings: pooled last hidden states, one row per text. */
export interface EmbedRequest extends RequestBase {
  op: 'embed';
  params: EmbedParams;
}
/** Labels and scores from a classification head (texts or images). */
export interface ClassifyRequest extends RequestBase {
  op: 'classify';
  params: ClassifyParams;
}
/** Generates text from a prompt; each new token is streamed as a `token` event. */
export interface GenerateRequest extends RequestBase {
  op: 'generate';
  params: GenerateParams;
}
/** Transcribes 16 kHz mono audio with a Whisper model; tokens are streamed as `token` events. */
export interface TranscribeRequest extends RequestBase {
  op: 'transcribe';
  params: TranscribeParams;
}
export type PageRequest =
  | ModelsDefaultsRequest
  | ModelsUnloadRequest
  | RunModelRequest
  | EmbedRequest
  | ClassifyRequest
  | GenerateRequest
  | TranscribeRequest
  | HelloRequest
  | MatmulRequest
  | StatusRequest
  | AccessRequest
  | EchoRequest
  | CancelRequest
  | ModelsLoadRequest
  | ModelsListRequest;
export type PageOp = PageRequest['op'];

// ---- replies and events (extension → page) ----

export interface HelloResult {
  extension: 'tabpool';
  extensionVersion: string;
  protocol: number;
  protocols: number[];
  ops: PageOp[];
}
export interface MatmulResult {
  c: WireTensor;
  /** Which host computed it: pages may ignore this; tests and the popup use it. */
  host: { id: string; kind: HostKind };
}
export type HostKind = 'offscreen' | 'background' | 'tab';
export type HostState = 'starting' | 'ready' | 'dead';
export interface HostSummary {
  id: string;
  kind: HostKind;
  state: HostState;
  /** Epoch ms of the last heartbeat reply, or null before the first. */
  lastHeartbeatMs: number | null;
  served: number;
  inflight: number;
  /** The host's circuit breaker: `open` means it gets no new work for now. */
  breaker: 'closed' | 'open' | 'half-open';
  /** Where its tensor ops run, and on which adapter. */
  backend: 'webgpu' | 'cpu';
  adapter: string | null;
  /**
   * Which CPU matmul the host's page could compile: `wasm-simd` (the WebAssembly SIMD kernel) or
   * `js` (the plain loops, where the browser or the extension's CSP refuses the module).
   */
  cpuKernels?: CpuKernels;
}
export type CpuKernels = 'wasm-simd' | 'js';
export interface StatusResult {
  hosts: HostSummary[];
}
export type GrantState = 'granted' | 'denied' | 'prompt';
export interface AccessResult {
  /** `prompt`: the user has not answered yet (the prompt stays in the popup). */
  state: GrantState;
}
export interface ResultByOp {
  hello: HelloResult;
  matmul: MatmulResult;
  status: StatusResult;
  access: AccessResult;
  echo: { data: ArrayBuffer };
  /** `false` when no request with that id was in flight (it had ended, or never existed). */
  cancel: { cancelled: boolean };
  'models.load': ModelsLoadResult;
  'models.list': ModelsListResult;
  'models.unload': UnloadResult;
  'models.defaults': { languageModel: ModelsLoadParams | null };
  run: RunResult;
  embed: EmbedResult;
  classify: ClassifyResult;
  generate: GenerateResult;
  transcribe: TranscribeResult;
}

export type PageReply =
  | { tabpool: number; id: string | null; ok: true; result: unknown }
  | { tabpool: number; id: string | null; ok: false; error: WireError };

/** What the extension streams to a page before a request's final reply. */
export type PageEvent = import('./models').ProgressEvent | import('./inference').TokenEvent;

/** Posted by the content script when it starts, so a page can learn tabpool is there. */
export interface AnnounceEvent {
  tabpool: number;
  event: 'announce';
  extensionVersion: string;
  protocols: number[];
}
/** The DOM event name the content script also dispatches on `window` at start-up. */
export const ANNOUNCE_EVENT = 'tabpool:announce';

export const PAGE_OPS: readonly PageOp[] = [
  'hello',
  'access',
  'status',
  'echo',
  'cancel',
  'matmul',
  'models.load',
  'models.list',
  'models.unload',
  'models.defaults',
  'run',
  'embed',
  'classify',
  'generate',
  'transcribe',
];
/** Ops any origin may call; every other op needs the user's grant. */
export const UNGATED_OPS: readonly PageOp[] = ['hello', 'access', 'cancel'];
/** The longest a page may wait on the user in one `access` call. */
export const MAX_ACCESS_WAIT_MS = 5 * 60_000;

// ---- sessions: a private MessagePort per page connection ----

/**
 * Sent by a page (the SDK's `connect()`) with a MessagePort in the transfer list. The content
 * script hands the port on; the extension then talks to the page on that port only.
 */
export interface ConnectRequest {
  tabpool: number;
  id: string;
  op: 'connect';
}
/** The content script's offer of a page's port to the bridge frame. */
export interface SessionOffer {
  tabpool: number;
  type: 'session-offer';
}
export const isSessionOffer = (data: unknown): data is SessionOffer =>
  typeof data === 'object' &&
  data !== null &&
  (data as SessionOffer).type === 'session-offer' &&
  typeof (data as SessionOffer).tabpool === 'number';

/**
 * Posted to the page by the bridge frame when the coordinator (service worker) went away: open
 * sessions are dead, their in-flight calls will get no reply.
 */
export interface CoordinatorLostEvent {
  tabpool: number;
  event: 'coordinator-lost';
}

/** The first message on a session port: the extension is there and knows who the page is. */
export interface SessionEvent {
  tabpool: number;
  event: 'session';
  origin: string;
  extensionVersion: string;
  protocols: number[];
  /** How the port reaches the coordinator: straight (bridge frame) or piped by the content script. */
  transport: 'bridge' | 'relay';
}

// ---- classification and validation ----

/**
 * What a window message is to the relay. Messages without a `tabpool` field are not ours and are
 * ignored; replies and events are our own outgoing traffic; everything else must be a request.
 */
export function classifyWindowMessage(data: unknown): 'foreign' | 'outgoing' | 'request' {
  if (typeof data !== 'object' || data === null || !('tabpool' in data)) return 'foreign';
  if ('ok' in data || 'event' in data) return 'outgoing';
  return 'request';
}

const IdSchema = v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_ID_LENGTH));
const EnvelopeSchema = v.object({
  tabpool: v.number(),
  id: IdSchema,
  op: v.string(),
  deadlineMs: v.optional(
    v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_DEADLINE_MS)),
  ),
  priority: v.optional(v.picklist(['interactive', 'background'])),
  hedge: v.optional(v.boolean()),
  resume: v.optional(v.literal(true)),
});
const CancelParamsSchema = v.object({ id: IdSchema });

/** Best-effort id of a message, so even a bad one gets a reply the page can match. */
export function idOf(data: unknown): string | null {
  const id = (data as { id?: unknown } | null)?.id;
  return typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_LENGTH ? id : null;
}

/**
 * Checks the envelope only (marker, version, id, op) — what the content-script relay can check
 * without knowing every op's params. Throws a typed error.
 */
export function checkEnvelope(data: unknown): v.InferOutput<typeof EnvelopeSchema> {
  const parsed = v.safeParse(EnvelopeSchema, data);
  if (!parsed.success) {
    throw new BadMessageError(`Not a tabpool request: ${describeIssues(parsed.issues)}`);
  }
  if (parsed.output.tabpool !== PROTOCOL_VERSION) {
    throw new UnsupportedVersionError(
      `Protocol version ${parsed.output.tabpool} is not supported; this extension speaks ${PROTOCOL_VERSION}`,
      { detail: { supported: [PROTOCOL_VERSION] } },
    );
  }
  return parsed.output;
}

const MatmulParamsSchema = v.object({ a: WireTensorSchema, b: WireTensorSchema });
const EchoParamsSchema = v.object({
  data: v.pipe(
    v.custom<ArrayBuffer>(isArrayBuffer, 'data must be an ArrayBuffer'),
    v.check(
      (b) => b.byteLength <= MAX_TENSOR_BYTES,
      `data may hold at most ${MAX_TENSOR_BYTES} bytes`,
    ),
  ),
});
const AccessParamsSchema = v.optional(
  v.object({
    timeoutMs: v.optional(
      v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_ACCESS_WAIT_MS)),
      60_000,
    ),
  }),
  { timeoutMs: 60_000 },
);

/**
 * Full validation of a request: envelope, op, every param, byte lengths and limits. Runs in the
 * service worker before any work is queued — the relay is in the page's renderer and not trusted.
 */
export function parsePageRequest(data: unknown): PageRequest {
  const env = checkEnvelope(data);
  if (env.hedge && !(HEDGEABLE_OPS as readonly string[]).includes(env.op)) {
    throw new InvalidParamsError(`hedge is only for ${HEDGEABLE_OPS.join(', ')}`, {
      detail: { field: 'hedge', ops: [...HEDGEABLE_OPS] },
    });
  }
  const base = {
    tabpool: env.tabpool,
    id: env.id,
    deadlineMs: env.deadlineMs,
    ...(env.priority ? { priority: env.priority } : {}),
    ...(env.hedge ? { hedge: true } : {}),
    ...(env.resume ? { resume: true as const } : {}),
  };
  switch (env.op) {
    case 'hello':
    case 'status':
    case 'models.list':
    case 'models.defaults':
      return { ...base, op: env.op };
    case 'models.load':
      return {
        ...base,
        op: 'models.load',
        params: parseModelsLoadParams((data as { params?: unknown }).params),
      };
    case 'models.unload':
      return { ...base, op: env.op, params: parseUnloadParams(paramsOf(data)) };
    case 'run':
      return { ...base, op: env.op, params: parseRunParams(paramsOf(data)) };
    case 'embed':
      return { ...base, op: env.op, params: parseEmbedParams(paramsOf(data)) };
    case 'classify':
      return { ...base, op: env.op, params: parseClassifyParams(paramsOf(data)) };
    case 'generate':
      return { ...base, op: env.op, params: parseGenerateParams(paramsOf(data)) };
    case 'transcribe':
      return { ...base, op: env.op, params: parseTranscribeParams(paramsOf(data)) };
    case 'cancel': {
      const params = v.safeParse(CancelParamsSchema, (data as { params?: unknown }).params);
      if (!params.success) {
        throw new InvalidParamsError(`cancel params: ${describeIssues(params.issues)}`);
      }
      return { ...base, op: 'cancel', params: params.output };
    }
    case 'echo': {
      const params = v.safeParse(EchoParamsSchema, (data as { params?: unknown }).params);
      if (!params.success) {
        const tooBig = params.issues.some((i) => i.type === 'check');
        const Err = tooBig ? PayloadTooLargeError : InvalidParamsError;
        throw new Err(`echo params: ${describeIssues(params.issues)}`);
      }
      return { ...base, op: 'echo', params: params.output };
    }
    case 'access': {
      const params = v.safeParse(AccessParamsSchema, (data as { params?: unknown }).params);
      if (!params.success) {
        throw new InvalidParamsError(`access params: ${describeIssues(params.issues)}`);
      }
      return { ...base, op: 'access', params: params.output };
    }
    case 'matmul': {
      const params = v.safeParse(MatmulParamsSchema, (data as { params?: unknown }).params);
      if (!params.success) {
        throw new InvalidParamsError(`matmul params: ${describeIssues(params.issues)}`);
      }
      const { a, b } = params.output;
      checkTensorBytes('a', a);
      checkTensorBytes('b', b);
      if (a.dtype !== 'float32' || b.dtype !== 'float32') {
        throw new InvalidParamsError('matmul takes float32 tensors');
      }
      if (a.shape.length !== 2 || b.shape.length !== 2) {
        throw new InvalidParamsError('matmul takes 2-D tensors a [m, k] and b [k, n]', {
          detail: { a: a.shape, b: b.shape },
        });
      }
      if (a.shape[1] !== b.shape[0]) {
        throw new InvalidParamsError(
          `matmul inner dimensions differ: a is [${a.shape.join(', ')}], b is [${b.shape.join(', ')}]`,
          { detail: { a: a.shape, b: b.shape } },
        );
      }
      return { ...base, op: 'matmul', params: { a, b } };
    }
    default:
      throw new UnknownOpError(`Unknown op "${env.op.slice(0, 64)}"`, {
        detail: { ops: [...PAGE_OPS] },
      });
  }
}

const paramsOf = (data: unknown): unknown => (data as { params?: unknown }).params;

function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string {
  return issues
    .slice(0, 3)
    .map((i) => {
      const path = i.path?.map((p) => String(p.key)).join('.') ?? '';
      return path ? `${path}: ${i.message}` : i.message;
    })
    .join('; ');
}

/**
 * Messages between the coordinator (service worker, or Firefox's background page) and the
 * runtime hosts. Types only. Control messages are small JSON on a runtime Port; data messages
 * carry tensors and travel on a MessagePort where the browser offers one (transferable buffers).
 */
import type { WireError } from './errors';
import type {
  ClassifyParams,
  EmbedParams,
  GenerateParams,
  RunParams,
  TranscribeParams,
  UnloadParams,
} from './inference';
import type { CpuKernels, HostKind, HostSummary } from './page';
import type { StagesTask } from './shard';
import type { WireTensor } from './tensor';

export type { HostKind };

// ---- control plane ----

/** First message a host sends on its control port. */
export interface HostHello {
  type: 'host-hello';
  hostId: string;
  kind: HostKind;
  /** Which ops this host's runtime can run. */
  ops: string[];
  /**
   * Where this host's tensors travel: `message-port` when it hands the service worker a
   * MessagePort (`host-attach`; Chrome hosts), `control` when its control Port carries them too
   * (Firefox, whose background page is no service worker).
   */
  dataPlane: 'message-port' | 'control';
  /** Where this host's tensor ops run. */
  backend: 'webgpu' | 'cpu';
  /** The GPU adapter as it describes itself, or null on the CPU. */
  adapter: string | null;
  /** Which CPU matmul this host's page compiled (see HostSummary.cpuKernels). */
  cpuKernels?: CpuKernels;
}
/** The coordinator's liveness probe; hosts answer at once (hosts' own timers get throttled). */
export interface Ping {
  type: 'ping';
  seq: number;
}
export interface Pong {
  type: 'pong';
  seq: number;
  served: number;
  inflight: number;
  /** The host page's JS heap (`performance.memory`, Chromium only). */
  memoryBytes?: number;
}
/** The coordinator's settings for a host, sent after its hello and whenever they change. */
export interface Configure {
  type: 'configure';
  preferredBackend: BackendPreference;
}
export type BackendPreference = 'auto' | 'webgpu' | 'cpu';
/** A host's report that its backend changed (after a `configure`). */
export interface HostUpdate {
  type: 'host-update';
  backend: 'webgpu' | 'cpu';
  adapter: string | null;
}
export type HostToCoordinatorControl = HostHello | Pong | HostUpdate;
export type CoordinatorToHostControl = Ping | Configure;

// ---- data plane ----

/** Sent by a host to the service worker with the data port in the transfer list (Chrome). */
export interface HostAttach {
  type: 'host-attach';
  hostId: string;
}
export interface RunRequest {
  type: 'run';
  runId: number;
  op: 'matmul';
  inputs: Record<string, WireTensor>;
}
export interface RunResult {
  type: 'run-result';
  runId: number;
  outputs: Record<string, WireTensor>;
}
export interface RunError {
  type: 'run-error';
  runId: number;
  error: WireError;
}
/** The params of each task (work that is not a tensor op). */
export interface TaskParamsByName {
  /** Downloads a model into the shared store. */
  'download-model': DownloadModelTask;
  'model-run': RunParams;
  'model-embed': EmbedParams;
  'model-classify': ClassifyParams;
  /** Progress events are `{ token: { id, text } }`. */
  'model-generate': GenerateParams;
  /** Progress events are `{ token: { id, text } }`, as for model-generate. */
  'model-transcribe': TranscribeParams;
  'model-unload': UnloadParams;
  /** Sharded runs (core/shard): profile a model's stages, run a range, resend a kept activation. */
  'model-stages': StagesTask;
  /** Times kernels and model forwards on each backend this host has; result `BenchSample[]`. */
  benchmark: BenchmarkTask;
}
export interface BenchmarkTask {
  /** Kernel cases, e.g. `{ op: 'matmul', size: 128 }` (size³ matmul, size×size softmax). */
  kernels: { op: 'matmul' | 'softmax'; size: number }[];
  /** Stored model ids (`<repo>@<revision>`) whose forward pass is timed. */
  models: string[];
  /** Time budget per case and backend, ms. */
  budgetMs: number;
}
/** One timed case on one backend. */
export interface BenchSample {
  suite: 'kernel' | 'model';
  /** e.g. `matmul`, `softmax`, or the model id. */
  name: string;
  /** e.g. `128x128x128`, or `1x16` tokens for a model. */
  shape: string;
  backend: 'webgpu' | 'cpu';
  adapter: string | null;
  /** Median ms per iteration. */
  ms: number;
  /** Floating-point work per second where it is known (kernels), else null. */
  gflops: number | null;
  iterations: number;
}
export type TaskName = keyof TaskParamsByName;
export interface TaskRequest<K extends TaskName = TaskName> {
  type: 'task';
  runId: number;
  task: K;
  params: TaskParamsByName[K];
}
/** The coordinator stopped waiting for a task (cancel, deadline): the host should stop it too. */
export interface TaskCancel {
  type: 'task-cancel';
  runId: number;
}
export interface DownloadModelTask {
  /** The model server, from the extension's settings (never from a page). */
  baseUrl: string;
  repo: string;
  revision: string;
  files: string[];
  /** The user's cap on the model store's bytes (settings); absent or 0 = the browser's quota. */
  maxStoredBytes?: number;
}
export interface TaskProgress {
  type: 'task-progress';
  runId: number;
  progress: unknown;
}
export interface TaskResult {
  type: 'task-result';
  runId: number;
  result: unknown;
}
export type CoordinatorToHostData = RunRequest | TaskRequest | TaskCancel;
export type HostToCoordinatorData = RunResult | RunError | TaskProgress | TaskResult;
/** The names a host lists in `host-hello.ops`: tensor ops and tasks. */
export type HostWork = RunRequest['op'] | TaskName;

/** Everything a host may send; one carrier may hold both planes, so channels are typed by this. */
export type HostToCoordinator = HostToCoordinatorControl | HostToCoordinatorData;
/** Everything the coordinator may send to a host. */
export type CoordinatorToHost = CoordinatorToHostControl | CoordinatorToHostData;

/**
 * The bridge frame's hand-over of a page's session port to the service worker. `origin` is what
 * the browser reported to the frame (`location.ancestorOrigins`), never what the page said.
 */
export interface SessionAttach {
  type: 'session-attach';
  origin: string;
  via: 'bridge';
}

export const CONTROL_PORT_NAME = 'tabpool-host';
/** The bridge frame's watch on the coordinator: its disconnect means the worker went away. */
export const BRIDGE_PORT_NAME = 'tabpool-bridge';
/** Extension pages only: the coordinator echoes every message (transport benchmarks). */
export const ECHO_PORT_NAME = 'tabpool-echo';
/** Content script → coordinator when it pipes a page's session port (no bridge frame). */
export const SESSION_PORT_NAME = 'tabpool-session';
export const PAGE_PORT_NAME = 'tabpool-page';
export const POPUP_PORT_NAME = 'tabpool-popup';

/** Throughput and latency over the last minute, one-second buckets, oldest first. */
export interface MetricsSeries {
  /** Bucket start times (epoch ms). */
  atMs: number[];
  /** Requests finished in each second. */
  completed: number[];
  /** Median latency of the requests finished in each second (ms), null when none finished. */
  latencyMs: (number | null)[];
}

/** A host as the popup and dashboard see it: the page's summary plus what only they show. */
export interface PoolHostView extends HostSummary {
  /** Runs placed on this host that have not been sent to it yet. */
  queued: number;
  /** The host page's JS heap as its last heartbeat reported it (Chromium only), or null. */
  memoryBytes: number | null;
  /** Models the coordinator knows this host holds in memory (`<repo>@<revision>`). */
  residentModels: string[];
}

/** The pool's queue as the popup may show it (core/pool/scheduler.ts, request-journal.ts). */
export interface ScheduleView {
  /** Jobs waiting for a host slot. */
  queued: number;
  byPriority: { interactive: number; background: number };
  /** Waiting jobs per model id (or op name for tensor ops). */
  byQueue: Record<string, number>;
  /** Origins with work waiting. */
  origins: number;
  hedges: { launched: number; won: number };
  /** Requests that ended with TIMEOUT, queued or running. */
  deadlineMisses: number;
  /** Accepted page requests not yet answered; requests resumed or dropped after a restart. */
  journal: { open: number; leftOver: number; resumed: number; abandoned: number } | null;
}

/** A model download in flight, from the storage downloader's progress events. */
export interface DownloadView {
  modelId: string;
  hostId: string;
  bytes: number;
  totalBytes: number;
  /** The file being received now. */
  file: { path: string; bytes: number; totalBytes: number };
  updatedAtMs: number;
}

/** Pushed to the popup on its port whenever the pool or the grants change, and on a timer. */
export interface PoolStatusMessage {
  type: 'pool-status';
  atMs: number;
  hosts: PoolHostView[];
  /** Model downloads in flight, oldest first. */
  downloads: DownloadView[];
  /** The last minute, per second: finished requests and their median latency. */
  metrics: MetricsSeries;
  /** The coordinator's queue, hedges, deadline misses and request journal (absent in tests). */
  schedule?: ScheduleView;
  consent: {
    /** Origins waiting for the user's answer, oldest first. */
    pending: { origin: string; askedAtMs: number }[];
    granted: { origin: string; grantedAt: number }[];
  };
}

/** What the popup (or options page) may ask of the coordinator. */
export type PopupCommand =
  | { type: 'consent-decide'; origin: string; allow: boolean }
  | { type: 'grant-revoke'; origin: string }
  /** Runs the benchmark on every ready host, one host after another. */
  | { type: 'bench-run'; id: string; params: BenchmarkTask };

/** One host's part of a benchmark run, sent as soon as that host is done. */
export interface BenchHostResult {
  type: 'bench-host';
  /** The `bench-run` id. */
  id: string;
  host: { id: string; kind: HostKind };
  samples: BenchSample[];
  /** Set when the host could not run it; `samples` is then empty. */
  error: WireError | null;
}
/** Every host has answered (or failed) for this `bench-run`. */
export interface BenchDone {
  type: 'bench-done';
  id: string;
  hosts: number;
}

/** Everything the coordinator sends on the popup port. */
export type PopupMessage = PoolStatusMessage | BenchHostResult | BenchDone;

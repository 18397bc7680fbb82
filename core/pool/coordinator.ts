/**
 * The coordinator: takes a validated run, picks a host, sends it, and makes sure the run ends
 * exactly once — with the host's outputs, or a typed error. A run whose host dies is retried on
 * another host; a run with no host waits for one until its deadline.
 */
import {
  AbortedError,
  errorFromWire,
  HostLostError,
  isTabpoolError,
  TimeoutError,
} from '../protocol/errors';
import type {
  CoordinatorToHostData,
  HostWork,
  RunRequest,
  TaskName,
  TaskParamsByName,
  TaskRequest,
} from '../protocol/host';
import { modelIdOf } from '../protocol/inference';
import type { HostKind } from '../protocol/page';
import type { WireTensor } from '../protocol/tensor';
import { runSharded, wantsSharding } from '../shard/coordinator-hook';
import { hedged } from './hedge';
import { HostQueue } from './host-queue';
import { type HostEntry, HostRegistry, type RegistryOptions } from './host-registry';
import type { LatencyModel, LatencyModelOptions } from './latency-model';
import { PoolMetrics } from './pool-metrics';
import type { JournalStats, RequestJournal } from './request-journal';
import type { Priority, SchedulerSnapshot } from './scheduler';

export interface RunOptions {
  /** Epoch ms by which the run must finish. */
  deadlineAtMs: number;
  /** Cancels the run: it ends with ABORTED and the coordinator forgets it (the host may finish). */
  signal?: AbortSignal;
  /** Who asked (a page's origin): origins take turns in the queue. Default: the extension. */
  origin?: string;
  /** `interactive` (default) goes before `background` in the queue. */
  priority?: Priority;
  /**
   * Latency-critical and safe to run twice: if the first host is slow (by the latency model), a
   * second copy goes to another host; the first answer wins and the other is cancelled.
   */
  hedge?: boolean;
  /** Internal: never place on the hosts the job avoids (a standby copy must land elsewhere). */
  strictAvoid?: boolean;
  /**
   * Internal: what the latency model times this job as (default: its model, else its op). A
   * tensor op adds its size class, so a 1 MiB product does not make a host look slow for 1×1s.
   */
  costKey?: string;
}

export interface RunOutcome {
  outputs: Record<string, WireTensor>;
  host: { id: string; kind: HostKind };
  attempts: number;
}

export interface CoordinatorOptions extends RegistryOptions {
  /** How many hosts one run may be tried on before its HOST_LOST error reaches the caller. */
  maxAttempts?: number;
  /** Jobs one host runs at once; the rest wait in the coordinator's queue (fair, by priority). */
  hostSlots?: number;
  latency?: LatencyModelOptions;
}

/** What the popup shows about the queue and placement (`ScheduleView` on the wire). */
export interface ScheduleStatus extends SchedulerSnapshot {
  hedges: { launched: number; won: number };
  /** Requests that ended with TIMEOUT (deadline passed), queued or running. */
  deadlineMisses: number;
  journal: JournalStats | null;
}

interface PendingRun {
  hostId: string;
  resolve: (value: unknown) => void;
  reject: (e: unknown) => void;
  onProgress: ((progress: unknown) => void) | undefined;
}

export interface TaskOptions extends RunOptions {
  /** Progress the host reports while the task runs. */
  onProgress?: (progress: unknown) => void;
  /** MessagePorts in `params` (sharded runs hand hosts their neighbours' ports). */
  transfer?: Transferable[];
}

export interface TaskOutcome {
  result: unknown;
  host: { id: string; kind: HostKind };
  attempts: number;
}

export class Coordinator {
  readonly registry: HostRegistry;
  /** Finished jobs per second and their latency, for the popup. */
  readonly metrics = new PoolMetrics();
  private readonly maxAttempts: number;
  private readonly pending = new Map<number, PendingRun>();
  /** Jobs waiting for a host, residency, and the latency model placement predicts from. */
  private readonly queue: HostQueue;
  /** Service times learned per host × model/op (the queue's). */
  readonly latency: LatencyModel;
  private readonly counts = { hedgesLaunched: 0, hedgesWon: 0, deadlineMisses: 0 };
  /**
   * Keep a warm standby copy of each model in use on a second host (the `standbyCopy`
   * setting): a failover then re-dispatches instead of reloading the weights.
   */
  standbyCopy = false;
  private readonly warming = new Set<string>();
  /** The page-request journal, when the extension wires one in (for its counts). */
  journal: RequestJournal | undefined;
  private nextRunId = 1;

  constructor(options: CoordinatorOptions = {}) {
    this.registry = new HostRegistry(options);
    this.maxAttempts = options.maxAttempts ?? 3;
    this.queue = new HostQueue(this.registry, options.hostSlots, options.latency);
    this.latency = this.queue.latency;
    // Any change (a host ready, a run ended, a heartbeat) may free a slot for a waiting job.
    this.registry.onChange(() => this.queue.pump());
    this.registry.onData((host, msg) => {
      const run = this.pending.get(msg.runId);
      if (!run || run.hostId !== host.id) return; // late reply after a timeout or retry
      if (msg.type === 'task-progress') {
        run.onProgress?.(msg.progress);
        return;
      }
      this.pending.delete(msg.runId);
      host.inflight--;
      switch (msg.type) {
        case 'run-result':
          host.served++;
          run.resolve(msg.outputs);
          break;
        case 'task-result':
          host.served++;
          run.resolve(msg.result);
          break;
        case 'run-error':
          run.reject(errorFromWire(msg.error));
          break;
      }
      this.registry.emitChange();
    });
    this.registry.onDeath((host) => {
      this.queue.forgetHost(host.id);
      for (const [runId, run] of this.pending) {
        if (run.hostId !== host.id) continue;
        this.pending.delete(runId);
        run.reject(new HostLostError(`Host ${host.kind}:${host.id.slice(0, 8)} went away mid-run`));
      }
    });
  }

  start(): void {
    this.registry.start();
  }

  stop(): void {
    this.registry.stop();
  }

  /**
   * Runs a tensor op on the pool.
   *
   * @example
   * const { outputs } = await coordinator.run('matmul', { a, b }, { deadlineAtMs: Date.now() + 30_000 });
   */
  async run(
    op: RunRequest['op'],
    inputs: Record<string, WireTensor>,
    options: RunOptions,
  ): Promise<RunOutcome> {
    const costKey = `${op}:${sizeClass(inputs)}`;
    const { value, host, attempts } = await this.submit(
      op,
      null,
      { ...options, costKey },
      (runId) => {
        // The host gets a copy, transferred: the coordinator keeps the originals to retry
        // elsewhere. One memcpy here is cheaper than structured-cloning the bytes into the message.
        const copy: Record<string, WireTensor> = {};
        for (const [name, t] of Object.entries(inputs))
          copy[name] = { ...t, data: t.data.slice(0) };
        const message: RunRequest = { type: 'run', runId, op, inputs: copy };
        return { message, transfer: Object.values(copy).map((t) => t.data) };
      },
    );
    return { outputs: value as Record<string, WireTensor>, host, attempts };
  }

  /**
   * Runs a task (work that is not a tensor op) on a host, with progress. A task whose host dies
   * is started again on another host: tasks must be resumable (downloads resume from the store).
   */
  async task<K extends TaskName>(
    task: K,
    params: TaskParamsByName[K],
    options: TaskOptions,
  ): Promise<TaskOutcome> {
    // ---- sharding hook (core/shard): a run that asks for it goes over several hosts ----
    if (task === 'model-run' && wantsSharding(params)) return runSharded(this, params, options);
    const model = modelOf(params);
    const { value, host, attempts } = await this.submit(
      task,
      task === 'download-model' ? null : model,
      options,
      (runId) => ({ message: { type: 'task', runId, task, params } as TaskRequest, transfer: [] }),
      options.onProgress,
    );
    return { result: value, host, attempts };
  }

  /**
   * Runs a task once on every ready host (no retries) and returns their results: for work
   * every host must do, like dropping a model from memory.
   */
  async broadcastTask<K extends TaskName>(
    task: K,
    params: TaskParamsByName[K],
    options: RunOptions,
  ): Promise<unknown[]> {
    const model = modelOf(params);
    if (model && task === 'model-unload') this.queue.forgetModel(model);
    const hosts = this.registry.ready().filter((h) => h.ops.includes(task));
    return Promise.all(
      hosts.map((host) =>
        this.dispatch(host, options, (runId) => ({
          message: { type: 'task', runId, task, params } as TaskRequest,
          transfer: [],
        })),
      ),
    );
  }

  /**
   * Runs a task on one named ready host, with no retry elsewhere: work whose answer is about
   * that host, like a benchmark.
   */
  taskOnHost<K extends TaskName>(
    hostId: string,
    task: K,
    params: TaskParamsByName[K],
    options: TaskOptions,
  ): Promise<unknown> {
    const host = this.registry.get(hostId);
    if (host?.state !== 'ready' || !host.ops.includes(task)) {
      return Promise.reject(new HostLostError(`Host ${hostId.slice(0, 8)} cannot run ${task} now`));
    }
    return this.dispatch(
      host,
      options,
      (runId) => ({
        message: { type: 'task', runId, task, params } as TaskRequest,
        transfer: options.transfer ?? [],
      }),
      options.onProgress,
    );
  }

  /** The models the coordinator has seen this host run (and so hold in memory). */
  residentModels(hostId: string): string[] {
    return this.queue.residentModels(hostId);
  }

  /** Waiting jobs, hedges and deadline misses: for the popup's pool view. */
  schedule(): ScheduleStatus {
    return {
      ...this.queue.snapshot(),
      hedges: { launched: this.counts.hedgesLaunched, won: this.counts.hedgesWon },
      deadlineMisses: this.counts.deadlineMisses,
      journal: this.journal?.stats() ?? null,
    };
  }

  /** Queues a job, runs it (hedged if asked and possible), and records its latency. */
  private async submit(
    work: HostWork,
    model: string | null,
    options: RunOptions,
    build: Build,
    onProgress?: (progress: unknown) => void,
  ): Promise<Placed> {
    const startedMs = Date.now();
    try {
      // Work safe to run twice is always hedged against a stalled host (one that still answers
      // heartbeats but not this run); a latency-critical request (`hedge`) much sooner.
      if (!options.hedge && !SAFE_TWICE.has(work)) {
        return await this.place(work, model, options, build, onProgress);
      }
      return await hedged({
        signal: options.signal,
        delayMs: () => {
          const usual = this.latency.serviceMs('', options.costKey ?? model ?? work, work);
          // A slow tail: twice the usual time; a stall: ten times, and at least STALL_MS.
          return options.hedge ? 2 * usual : Math.max(STALL_MS, 10 * usual);
        },
        canHedge: (firstHostId) =>
          this.registry
            .ready()
            .some((h) => h.id !== firstHostId && h.ops.includes(work) && h.breaker.available()),
        start: (signal, avoid, onHost) =>
          this.place(work, model, { ...options, signal }, build, onProgress, avoid, onHost),
        onLaunch: () => this.counts.hedgesLaunched++,
        onSecondWon: () => this.counts.hedgesWon++,
      });
    } catch (e) {
      if (isTabpoolError(e) && e.code === 'TIMEOUT') this.counts.deadlineMisses++;
      throw e;
    } finally {
      this.metrics.record(Date.now() - startedMs);
    }
  }

  /** Places a job, retrying on another host when its host is lost, until attempts run out. */
  private async place(
    work: HostWork,
    model: string | null,
    options: RunOptions,
    build: Build,
    onProgress?: (progress: unknown) => void,
    avoid: ReadonlySet<string> = new Set(),
    onHost?: (hostId: string) => void,
  ): Promise<Placed> {
    let lastError: unknown;
    const tried = new Set(avoid);
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      // The queue hands over a host with a slot already reserved, so a burst spreads out
      // before any of it is sent.
      const host = await this.queue.acquire(work, model, options, tried);
      onHost?.(host.id);
      let reserved = true;
      const unreserve = () => {
        if (reserved) host.reserved--;
        reserved = false;
      };
      try {
        const allottedMs = options.deadlineAtMs - Date.now();
        const cold = model !== null && !this.queue.holders(model).has(host.id);
        const sentMs = Date.now();
        const value = await host.breaker.execute(() => {
          unreserve();
          return this.dispatch(host, options, build, onProgress);
        }, allottedMs);
        const key = options.costKey ?? model ?? work;
        this.latency.observe(host.id, key, work, Date.now() - sentMs, cold);
        if (model) {
          this.queue.addResident(model, host.id);
          if (this.standbyCopy && this.queue.holders(model).size === 1) {
            this.warmStandby(work, model, build);
          }
        }
        return { value, host: { id: host.id, kind: host.kind }, attempts: attempt };
      } catch (e) {
        // The host, not the job, failed (gone, or its GPU device lost): another host may
        // finish it. The breaker has counted a lost device as the host's fault.
        if (!(isTabpoolError(e) && RETRY_ELSEWHERE.has(e.code))) throw e;
        lastError = e;
        tried.add(host.id);
      } finally {
        unreserve();
        this.queue.pump();
      }
    }
    throw lastError;
  }

  /** Sends one job to one host and waits for its end: reply, deadline, cancel or host death. */
  private dispatch(
    host: HostEntry,
    { deadlineAtMs, signal }: RunOptions,
    build: Build,
    onProgress?: (progress: unknown) => void,
  ): Promise<unknown> {
    const runId = this.nextRunId++;
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(new AbortedError('The run was cancelled'));
        return;
      }
      /** Ends the run here without a host reply (deadline or cancel). */
      const abandon = (error: Error) => {
        if (!this.pending.delete(runId)) return;
        cleanup();
        // The host may still be working on it: a task (a generation, a download) stops there too.
        host.data?.post({ type: 'task-cancel', runId }, []);
        host.inflight--;
        this.registry.emitChange();
        reject(error);
      };
      const onAbort = () => abandon(new AbortedError(`Run ${runId} was cancelled`));
      const timer = setTimeout(
        () =>
          abandon(
            new TimeoutError(`Run ${runId} passed its deadline on host ${host.kind}`, {
              detail: { phase: 'running' },
            }),
          ),
        Math.max(0, deadlineAtMs - Date.now()),
      );
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(runId, {
        hostId: host.id,
        onProgress,
        resolve: (v) => {
          cleanup();
          resolve(v);
        },
        reject: (e) => {
          cleanup();
          reject(e);
        },
      });
      host.inflight++;
      host.lastDispatchSeq = runId;
      this.registry.emitChange();
      const { message, transfer } = build(runId);
      host.data?.post(message, transfer);
    });
  }

  /**
   * Replays a finished, side-effect-free model job once on a host that lacks the model, at
   * background priority, so that host holds a warm copy. Its result is dropped.
   */
  private warmStandby(work: HostWork, model: string, build: Build): void {
    // Replaying a whole generation or transcription costs as much as the job: not worth it.
    if (work === 'model-generate' || work === 'model-transcribe' || this.warming.has(model)) return;
    const holders = new Set<string>(this.queue.holders(model));
    const spare = this.registry
      .ready()
      .some((h) => !holders.has(h.id) && h.ops.includes(work) && h.breaker.available());
    if (!spare) return;
    this.warming.add(model);
    this.place(
      work,
      model,
      {
        deadlineAtMs: Date.now() + 120_000,
        priority: 'background',
        origin: 'tabpool:standby',
        strictAvoid: true,
      },
      build,
      undefined,
      holders,
    )
      .catch(() => undefined) // a standby that could not warm up is only a missed optimisation
      .finally(() => this.warming.delete(model));
  }
}

/** Host work without side effects: a second copy cannot show. */
const SAFE_TWICE = new Set<HostWork>(['matmul', 'model-run', 'model-embed', 'model-classify']);
/** Errors that say the host failed, not the job: the job is tried on another host. */
const RETRY_ELSEWHERE = new Set<string>(['HOST_LOST', 'GPU_DEVICE_LOST']);
/** A run this much slower than usual (and at least this long) is presumed stalled. */
const STALL_MS = 3_000;

type Build = (runId: number) => { message: CoordinatorToHostData; transfer: Transferable[] };
type Placed = { value: unknown; host: { id: string; kind: HostKind }; attempts: number };

/** Elements in all inputs, to the nearest power of 4: jobs of one class cost about the same. */
function sizeClass(inputs: Record<string, WireTensor>): number {
  let elements = 1;
  for (const t of Object.values(inputs)) elements += t.shape.reduce((a, b) => a * b, 1);
  return Math.round(Math.log(elements) / Math.log(4));
}

/** The stored model id a task's params name, if any (`<repo>@<revision>`). */
function modelOf(params: unknown): string | null {
  const model = (params as { model?: unknown } | null)?.model;
  return typeof model === 'string' ? modelIdOf(model) : null;
}

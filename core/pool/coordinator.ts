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
  NoHostError,
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
import { type HostEntry, HostRegistry, type RegistryOptions } from './host-registry';
import { PoolMetrics } from './pool-metrics';

export interface RunOptions {
  /** Epoch ms by which the run must finish. */
  deadlineAtMs: number;
  /** Cancels the run: it ends with ABORTED and the coordinator forgets it (the host may finish). */
  signal?: AbortSignal;
}

export interface RunOutcome {
  outputs: Record<string, WireTensor>;
  host: { id: string; kind: HostKind };
  attempts: number;
}

export interface CoordinatorOptions extends RegistryOptions {
  /** How many hosts one run may be tried on before its HOST_LOST error reaches the caller. */
  maxAttempts?: number;
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
  /** Which hosts hold each model in memory (they ran a task on it), for placement. */
  private readonly residents = new Map<string, Set<string>>();
  private nextRunId = 1;

  constructor(options: CoordinatorOptions = {}) {
    this.registry = new HostRegistry(options);
    this.maxAttempts = options.maxAttempts ?? 3;
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
      for (const hosts of this.residents.values()) hosts.delete(host.id);
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
    const { value, host, attempts } = await this.submit(op, options, (runId) => {
      // The host gets a copy, transferred: the coordinator keeps the originals to retry
      // elsewhere. One memcpy here is cheaper than structured-cloning the bytes into the message.
      const copy: Record<string, WireTensor> = {};
      for (const [name, t] of Object.entries(inputs)) copy[name] = { ...t, data: t.data.slice(0) };
      const message: RunRequest = { type: 'run', runId, op, inputs: copy };
      return { message, transfer: Object.values(copy).map((t) => t.data) };
    });
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
    const model = modelOf(params);
    const { value, host, attempts } = await this.submit(
      task,
      options,
      (runId) => ({ message: { type: 'task', runId, task, params } as TaskRequest, transfer: [] }),
      options.onProgress,
      model ? this.residents.get(model) : undefined,
    );
    if (model && task !== 'download-model') {
      const hosts = this.residents.get(model) ?? new Set<string>();
      hosts.add(host.id);
      this.residents.set(model, hosts);
    }
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
    if (model && task === 'model-unload') this.residents.delete(model);
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
      return Promise.reject(
        new HostLostError(`Host ${hostId.slice(0, 8)} cannot run ${task} now`),
      );
    }
    return this.dispatch(
      host,
      options,
      (runId) => ({ message: { type: 'task', runId, task, params } as TaskRequest, transfer: [] }),
      options.onProgress,
    );
  }

  /** The models the coordinator has seen this host run (and so hold in memory). */
  residentModels(hostId: string): string[] {
    const out: string[] = [];
    for (const [model, hosts] of this.residents) if (hosts.has(hostId)) out.push(model);
    return out.sort();
  }

  /** Places a job, retrying on another host when its host is lost, until attempts run out. */
  private async submit(
    work: HostWork,
    options: RunOptions,
    build: (runId: number) => { message: CoordinatorToHostData; transfer: Transferable[] },
    onProgress?: (progress: unknown) => void,
    prefer?: ReadonlySet<string>,
  ): Promise<{ value: unknown; host: { id: string; kind: HostKind }; attempts: number }> {
    const startedMs = Date.now();
    try {
      return await this.place(work, options, build, onProgress, prefer);
    } finally {
      this.metrics.record(Date.now() - startedMs);
    }
  }

  private async place(
    work: HostWork,
    options: RunOptions,
    build: (runId: number) => { message: CoordinatorToHostData; transfer: Transferable[] },
    onProgress?: (progress: unknown) => void,
    prefer?: ReadonlySet<string>,
  ): Promise<{ value: unknown; host: { id: string; kind: HostKind }; attempts: number }> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      // waitForHost counts the host as reserved the moment it picks it, so a burst of submits
      // spreads out before any of them is sent.
      const host = await this.waitForHost(work, options, prefer);
      let reserved = true;
      const unreserve = () => {
        if (reserved) host.reserved--;
        reserved = false;
      };
      try {
        const allottedMs = options.deadlineAtMs - Date.now();
        const value = await host.breaker.execute(() => {
          unreserve();
          return this.dispatch(host, options, build, onProgress);
        }, allottedMs);
        return { value, host: { id: host.id, kind: host.kind }, attempts: attempt };
      } catch (e) {
        if (!(isTabpoolError(e) && e.code === 'HOST_LOST')) throw e;
        lastError = e;
      } finally {
        unreserve();
      }
    }
    throw lastError;
  }

  /** Sends one job to one host and waits for its end: reply, deadline, cancel or host death. */
  private dispatch(
    host: HostEntry,
    { deadlineAtMs, signal }: RunOptions,
    build: (runId: number) => { message: CoordinatorToHostData; transfer: Transferable[] },
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
        () => abandon(new TimeoutError(`Run ${runId} passed its deadline on host ${host.kind}`)),
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

  /** Resolves with the best ready host, waiting for one to appear until the deadline. */
  private waitForHost(
    op: string,
    { deadlineAtMs, signal }: RunOptions,
    prefer?: ReadonlySet<string>,
  ): Promise<HostEntry> {
    if (signal?.aborted) return Promise.reject(new AbortedError('The run was cancelled'));
    const now = this.registry.pick(op, prefer);
    if (now) {
      now.reserved++;
      return Promise.resolve(now);
    }
    return new Promise((resolve, reject) => {
      const finish = () => {
        off();
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const off = this.registry.onChange(() => {
        const host = this.registry.pick(op, prefer);
        if (!host) return;
        host.reserved++;
        finish();
        resolve(host);
      });
      const onAbort = () => {
        finish();
        reject(new AbortedError('The run was cancelled while waiting for a host'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(
        () => {
          finish();
          reject(new NoHostError(`No host that can run "${op}" became ready in time`));
        },
        Math.max(0, deadlineAtMs - Date.now()),
      );
    });
  }
}

/** The stored model id a task's params name, if any (`<repo>@<revision>`). */
function modelOf(params: unknown): string | null {
  const model = (params as { model?: unknown } | null)?.model;
  return typeof model === 'string' ? modelIdOf(model) : null;
}

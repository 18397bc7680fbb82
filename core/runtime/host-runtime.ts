/**
 * What runs inside a host (offscreen document, pool tab, Firefox background page): connect to
 * the coordinator, say hello, answer pings, run ops, and reconnect when the coordinator goes
 * away (a restarted service worker drops every port; `runtime.connect` wakes it again).
 */

import { wasmMatmul } from '../../kernels/matmul/wasm-simd';
import type { Channel } from '../messaging/channel';
import { isTabpoolError, KernelFailedError, toWireError } from '../protocol/errors';
import type {
  BackendPreference,
  CoordinatorToHost,
  HostKind,
  HostToCoordinator,
  HostToCoordinatorData,
  RunRequest,
  TaskRequest,
} from '../protocol/host';
import { collectBuffers, type WireTensor } from '../protocol/tensor';
import { createModelTasks } from './model-tasks';
import { type HostOps, OP_NAMES } from './ops';
import { createTaskRunner, TASK_NAMES, type TaskRunner } from './tasks';

/** A host's end of a channel to the coordinator. */
export type CoordinatorChannel = Channel<CoordinatorToHost, HostToCoordinator>;

export interface HostConnection {
  /** Small JSON messages; its close means the coordinator is gone. */
  control: CoordinatorChannel;
  /** Tensors. May be the same object as `control` where one carrier serves both planes. */
  data: CoordinatorChannel;
}

export interface HostRuntimeOptions {
  kind: HostKind;
  hostId?: string;
  /** Opens both planes to the coordinator. Called again after every disconnect. */
  connect: (hostId: string) => Promise<HostConnection>;
  /** The kernels this host runs ops on (`createHostOps`). */
  ops: HostOps;
  /** Re-creates the ops for another backend preference (`configure` from the coordinator). */
  reconfigure?: (preferred: BackendPreference) => Promise<HostOps>;
  /**
   * Runs tasks (downloads, model work). Host pages pass a model Worker's runner; the default
   * runs model tasks here on a CPU HAL.
   */
  tasks?: TaskRunner;
  /** Tells the task runner about a new backend preference (`configure`). */
  reconfigureTasks?: (preferred: BackendPreference) => Promise<void>;
  /** Wait before reconnecting; doubles per failed attempt up to 8×. */
  reconnectDelayMs?: number;
}

export interface HostRuntime {
  readonly hostId: string;
  stats(): { served: number; inflight: number; connections: number };
  stop(): void;
}

/**
 * Starts a host runtime.
 *
 * @example
 * startHostRuntime({ kind: 'tab', connect: (id) => connectToServiceWorker(id) });
 */
export function startHostRuntime(options: HostRuntimeOptions): HostRuntime {
  const hostId = options.hostId ?? crypto.randomUUID();
  const baseDelayMs = options.reconnectDelayMs ?? 250;
  let served = 0;
  let inflight = 0;
  const tasks: TaskRunner =
    options.tasks ??
    createTaskRunner(async () => {
      const { createHal } = await import('../../kernels/hal/hal');
      const { modelFilesFromStorage } = await import('../models/model-files-storage');
      const { hostDb } = await import('./tasks');
      const hal = createHal();
      return createModelTasks({
        hal: () => hal,
        files: (id) => modelFilesFromStorage(hostDb(), id),
      });
    });
  /** Tasks running here, by run id: what `task-cancel` stops. */
  const running = new Map<number, { controller: AbortController; conn: HostConnection }>();
  let connections = 0;
  let stopped = false;
  let current: HostConnection | null = null;
  let failures = 0;

  const serve = (conn: HostConnection) => {
    connections++;
    current = conn;
    failures = 0;
    const onControl = (msg: CoordinatorToHost) => {
      if (msg.type === 'ping') {
        const memoryBytes = heapBytes();
        conn.control.post({
          type: 'pong',
          seq: msg.seq,
          served,
          inflight,
          ...(memoryBytes === null ? {} : { memoryBytes }),
        });
      } else if (msg.type === 'configure') {
        void configure(conn, msg.preferredBackend);
      }
    };
    const onData = (msg: CoordinatorToHost) => {
      if (msg.type === 'task') {
        void runTask(conn, msg);
        return;
      }
      if (msg.type === 'task-cancel') {
        running.get(msg.runId)?.controller.abort();
        return;
      }
      if (msg.type === 'run') void runOp(conn, msg);
    };
    // Each handler ignores the other plane's message types, so this is right whether the two
    // planes are one carrier or two.
    conn.control.onMessage(onControl);
    conn.data.onMessage(onData);
    conn.control.onClose(() => {
      conn.data.close();
      // The coordinator that asked is gone (a worker restart): nobody can take these answers,
      // so stop the work (a long generation would hold this host for nothing).
      for (const r of running.values()) if (r.conn === conn) r.controller.abort();
      if (current === conn) current = null;
      scheduleReconnect();
    });
    conn.control.post({
      type: 'host-hello',
      hostId,
      kind: options.kind,
      ops: [...OP_NAMES, ...TASK_NAMES],
      backend: ops.backend,
      adapter: ops.adapter,
      cpuKernels: wasmMatmul() ? 'wasm-simd' : 'js',
      dataPlane: conn.data === conn.control ? 'control' : 'message-port',
    });
  };

  let ops = options.ops;
  const configure = async (conn: HostConnection, preferred: BackendPreference) => {
    if (preferred === ops.preferred || !options.reconfigure) return;
    ops = await options.reconfigure(preferred);
    await options.reconfigureTasks?.(preferred);
    conn.control.post({ type: 'host-update', backend: ops.backend, adapter: ops.adapter });
  };

  const runOp = async (conn: HostConnection, msg: RunRequest) => {
    inflight++;
    let reply: HostToCoordinatorData;
    let transfer: ArrayBuffer[] = [];
    try {
      const outputs = await runGuarded(() => ops.run(msg.op, msg.inputs));
      transfer = Object.values(outputs).map((t) => t.data);
      reply = { type: 'run-result', runId: msg.runId, outputs };
      served++;
    } catch (e) {
      reply = { type: 'run-error', runId: msg.runId, error: toWireError(e) };
    } finally {
      inflight--;
    }
    conn.data.post(reply, transfer);
  };

  const runTask = async (conn: HostConnection, msg: TaskRequest) => {
    inflight++;
    const controller = new AbortController();
    running.set(msg.runId, { controller, conn });
    try {
      const result = await tasks(msg.task, msg.params, {
        onProgress: (progress: unknown) =>
          conn.data.post({ type: 'task-progress', runId: msg.runId, progress }),
        signal: controller.signal,
      });
      served++;
      conn.data.post({ type: 'task-result', runId: msg.runId, result }, collectBuffers(result));
    } catch (e) {
      conn.data.post({ type: 'run-error', runId: msg.runId, error: toWireError(e) });
    } finally {
      running.delete(msg.runId);
      inflight--;
    }
  };

  const attempt = async () => {
    if (stopped) return;
    try {
      const conn = await options.connect(hostId);
      if (stopped) {
        conn.control.close();
        return;
      }
      serve(conn);
    } catch (e) {
      failures++;
      console.warn(`tabpool host ${hostId}: could not connect (attempt ${failures})`, e);
      scheduleReconnect();
    }
  };

  const scheduleReconnect = () => {
    if (stopped) return;
    const delay = baseDelayMs * 2 ** Math.min(failures, 3);
    setTimeout(attempt, delay);
  };

  void attempt();

  return {
    hostId,
    stats: () => ({ served, inflight, connections }),
    stop() {
      stopped = true;
      current?.control.close();
    },
  };
}

async function runGuarded(
  fn: () => Promise<Record<string, WireTensor>>,
): Promise<Record<string, WireTensor>> {
  try {
    return await fn();
  } catch (e) {
    if (isTabpoolError(e)) throw e;
    throw new KernelFailedError(e instanceof Error ? e.message : String(e), { cause: e });
  }
}

/** The page's JS heap in bytes where the browser tells (Chromium's `performance.memory`). */
function heapBytes(): number | null {
  const memory = (globalThis.performance as { memory?: { usedJSHeapSize?: unknown } } | undefined)
    ?.memory;
  return typeof memory?.usedJSHeapSize === 'number' ? memory.usedJSHeapSize : null;
}

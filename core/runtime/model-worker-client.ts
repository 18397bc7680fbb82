/**
 * The host side of the model Worker: a TaskRunner whose model tasks run in the Worker (with
 * progress and cancellation) and whose downloads run here.
 */
import * as Comlink from 'comlink';
import { errorFromWire } from '../protocol/errors';
import type { BackendPreference, TaskName } from '../protocol/host';
import type { ModelWorkerApi } from './model-worker-api';
import { downloadTask, type TaskRunner } from './tasks';

export interface ModelWorkerClient {
  run: TaskRunner;
  configure(preferred: BackendPreference): Promise<void>;
}

let nextCall = 1;

export function createModelWorkerClient(worker: Worker): ModelWorkerClient {
  const api = Comlink.wrap<ModelWorkerApi>(worker);
  const run: TaskRunner = async (task: TaskName, params, ctx) => {
    if (task === 'download-model') return downloadTask(params as never, ctx);
    const callId = nextCall++;
    const onAbort = () => void api.cancel(callId);
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    let seen = 0;
    let caughtUp: (() => void) | null = null;
    let want = Number.POSITIVE_INFINITY;
    const onProgress = (p: unknown) => {
      ctx.onProgress(p);
      if (++seen >= want) caughtUp?.();
    };
    try {
      // A sharded run's MessagePorts (core/shard) move to the Worker; they cannot be copied.
      const ports = Object.values(params as object).filter((v) => v instanceof MessagePort);
      const sent = ports.length > 0 ? Comlink.transfer(params, ports) : params;
      const reply = await api.call(callId, task, sent, Comlink.proxy(onProgress));
      // Progress rides another channel: deliver every event before the result.
      want = reply.progress;
      if (seen < want) await new Promise<void>((r) => (caughtUp = r));
      if (!reply.ok) throw errorFromWire(reply.error);
      return reply.result;
    } finally {
      ctx.signal?.removeEventListener('abort', onAbort);
    }
  };
  return { run, configure: (preferred) => api.configure(preferred) };
}

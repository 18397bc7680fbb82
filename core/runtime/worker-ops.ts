/**
 * Runs a host's CPU ops in dedicated Workers: each worker gets its own thread, so hosts (which
 * share one renderer main thread) run ops in parallel. Inputs are transferred to the worker and
 * outputs back; a worker that throws loses only its op.
 */
import * as Comlink from 'comlink';
import { errorFromWire } from '../protocol/errors';
import type { RunRequest } from '../protocol/host';
import type { WireTensor } from '../protocol/tensor';
import type { HostOps } from './ops';
import type { OpsWorkerApi } from './ops-worker-api';

interface Slot {
  api: Comlink.Remote<OpsWorkerApi>;
  busy: number;
}

/**
 * Wraps `workerCount` workers as HostOps. `makeWorker` creates one (the bundler needs the
 * `new Worker(new URL(...))` form at the call site).
 *
 * @example
 * const ops = createWorkerOps(2, () => new Worker(new URL('./ops-worker.ts', import.meta.url), { type: 'module' }));
 */
export function createWorkerOps(
  workerCount: number,
  makeWorker: () => Worker,
  preferred: HostOps['preferred'],
  adapter: string | null,
): HostOps {
  const slots: Slot[] = Array.from({ length: Math.max(1, workerCount) }, () => ({
    api: Comlink.wrap<OpsWorkerApi>(makeWorker()),
    busy: 0,
  }));
  return {
    preferred,
    backend: 'cpu',
    adapter,
    async run(op: RunRequest['op'], inputs: Record<string, WireTensor>) {
      const slot = slots.reduce((best, s) => (s.busy < best.busy ? s : best));
      slot.busy++;
      try {
        const buffers = Object.values(inputs).map((t) => t.data);
        const reply = await slot.api.run(op, Comlink.transfer(inputs, buffers));
        if (!reply.ok) throw errorFromWire(reply.error);
        return reply.outputs;
      } finally {
        slot.busy--;
      }
    },
  };
}

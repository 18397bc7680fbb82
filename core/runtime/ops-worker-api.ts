/**
 * What an ops Worker exposes (over comlink): run one op on the CPU kernels. Errors come back as
 * wire data — comlink would drop their `code` — and are rebuilt on the host side.
 */
import * as Comlink from 'comlink';
import { toWireError, type WireError } from '../protocol/errors';
import type { RunRequest } from '../protocol/host';
import type { WireTensor } from '../protocol/tensor';
import { createHostOps } from './ops';

export type WorkerReply =
  | { ok: true; outputs: Record<string, WireTensor> }
  | { ok: false; error: WireError };

export function createOpsWorkerApi() {
  const ops = createHostOps(null, 'cpu');
  return {
    async run(op: RunRequest['op'], inputs: Record<string, WireTensor>): Promise<WorkerReply> {
      try {
        const outputs = await (await ops).run(op, inputs);
        const reply: WorkerReply = { ok: true, outputs };
        return Comlink.transfer(
          reply,
          Object.values(outputs).map((t) => t.data),
        );
      } catch (e) {
        return { ok: false, error: toWireError(e) };
      }
    },
  };
}

export type OpsWorkerApi = ReturnType<typeof createOpsWorkerApi>;

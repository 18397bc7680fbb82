/**
 * The ops of a host page (offscreen document, pool tab, Firefox background page): WebGPU when
 * the preference and the adapter allow; otherwise the CPU kernels in dedicated Workers, so the
 * hosts sharing one renderer main thread still run in parallel.
 */
import type { BackendPreference } from '../protocol/host';
import { createHostOps, type HostOps } from './ops';
import { createWorkerOps } from './worker-ops';

export async function createPageOps(
  gpu: GPU | null | undefined,
  preferred: BackendPreference = 'auto',
): Promise<HostOps> {
  const ops = await createHostOps(gpu, preferred);
  if (ops.backend !== 'cpu' || typeof Worker === 'undefined') return ops;
  const cores = globalThis.navigator?.hardwareConcurrency || 2;
  return createWorkerOps(
    Math.max(1, Math.floor(cores / 2)),
    () => new Worker(new URL('./ops-worker.ts', import.meta.url), { type: 'module' }),
    preferred,
    ops.adapter,
  );
}

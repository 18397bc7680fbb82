/**
 * What a host's model Worker exposes (over comlink): the model tasks, run on a HAL of the
 * Worker's own (WebGPU when allowed and real, else the CPU), so a long CPU forward pass never
 * blocks the host page's heartbeats. Errors come back as wire data and are rebuilt host-side.
 */
import * as Comlink from 'comlink';
import { createHal, type Hal } from '../../kernels/hal/hal';
import { modelFilesFromStorage } from '../models/model-files-storage';
import { toWireError, type WireError } from '../protocol/errors';
import type { BackendPreference, TaskName, TaskParamsByName } from '../protocol/host';
import { collectBuffers } from '../protocol/tensor';
import { createModelTasks, type ModelTasks } from './model-tasks';
import { isSoftwareAdapter } from './ops';
import { createTaskRunner, hostDb } from './tasks';

/**
 * `progress` counts the progress callbacks made: they travel on comlink's own channel for the
 * callback, not in order with the reply, so the client waits until it has seen them all.
 */
export type ModelWorkerReply =
  | { ok: true; result: unknown; progress: number }
  | { ok: false; error: WireError; progress: number };

/** A HAL for `preferred`: `auto` skips software adapters (the CPU kernels beat them). */
export async function halFor(
  gpu: GPU | null | undefined,
  preferred: BackendPreference,
): Promise<Hal> {
  if (!gpu || preferred === 'cpu') return createHal();
  const adapter = await gpu.requestAdapter().catch(() => null);
  if (!adapter || (preferred === 'auto' && isSoftwareAdapter(adapter))) return createHal();
  try {
    return await createHal({ gpu });
  } catch {
    return createHal();
  }
}

export function createModelWorkerApi(gpu: GPU | null | undefined) {
  let preferred: BackendPreference = 'auto';
  let hal: Promise<Hal> | null = null;
  const models: ModelTasks = createModelTasks({
    hal: () => {
      hal ??= halFor(gpu, preferred);
      return hal;
    },
    files: (id) => modelFilesFromStorage(hostDb(), id),
  });
  const run = createTaskRunner(models);
  const running = new Map<number, AbortController>();
  return {
    /** A new backend preference: loaded models are dropped and reload on the new HAL. */
    configure(next: BackendPreference) {
      if (next === preferred) return;
      preferred = next;
      models.clear();
      hal = null;
    },
    async backend(): Promise<'webgpu' | 'cpu'> {
      hal ??= halFor(gpu, preferred);
      return (await hal).gpu ? 'webgpu' : 'cpu';
    },
    async call<K extends TaskName>(
      runId: number,
      task: K,
      params: TaskParamsByName[K],
      onProgress: (progress: unknown) => void,
    ): Promise<ModelWorkerReply> {
      const controller = new AbortController();
      running.set(runId, controller);
      let progress = 0;
      const count = (p: unknown) => {
        progress++;
        onProgress(p);
      };
      try {
        const result = await run(task, params, { onProgress: count, signal: controller.signal });
        return Comlink.transfer({ ok: true, result, progress }, collectBuffers(result));
      } catch (e) {
        return { ok: false, error: toWireError(e), progress };
      } finally {
        running.delete(runId);
      }
    },
    cancel(runId: number) {
      running.get(runId)?.abort();
    },
  };
}

export type ModelWorkerApi = ReturnType<typeof createModelWorkerApi>;

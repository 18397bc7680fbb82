/**
 * The tasks a host runs besides tensor ops: downloads (in hosts, not the service worker: a host
 * lives as long as the pool, the worker may be stopped mid-download) and model work.
 */
import { createQuota, createTabpoolDb, downloadModel, type TabpoolDb } from '../../storage';
import { UnknownOpError } from '../protocol/errors';
import type { TaskName, TaskParamsByName } from '../protocol/host';
import { type ModelSummary, toModelSummary } from '../protocol/models';
import type { ModelTasks } from './model-tasks';

export interface TaskContext {
  onProgress: (progress: unknown) => void;
  /** Fires when the coordinator stops waiting (cancel, deadline). */
  signal?: AbortSignal;
}

export type TaskRunner = <K extends TaskName>(
  task: K,
  params: TaskParamsByName[K],
  ctx: TaskContext,
) => Promise<unknown>;

export const TASK_NAMES: TaskName[] = [
  'download-model',
  'model-run',
  'model-embed',
  'model-classify',
  'model-generate',
  'model-transcribe',
  'model-unload',
  'model-stages',
  'benchmark',
];

let db: TabpoolDb | null = null;
/** One database handle per host, opened on first use. */
export const hostDb = (): TabpoolDb => {
  db ??= createTabpoolDb();
  return db;
};

export async function downloadTask(
  params: TaskParamsByName['download-model'],
  ctx: TaskContext,
): Promise<{ model: ModelSummary }> {
  const store = hostDb();
  const quota = createQuota({
    db: store,
    ...(params.maxStoredBytes ? { maxStoredBytes: params.maxStoredBytes } : {}),
  });
  const row = await downloadModel({
    db: store,
    baseUrl: params.baseUrl,
    repo: params.repo,
    revision: params.revision,
    files: params.files,
    onProgress: ctx.onProgress,
    signal: ctx.signal,
    reserve: (bytes, modelId) => quota.reserve(bytes, modelId),
  });
  return { model: toModelSummary(row) };
}

/**
 * Routes each task to its implementation. `models` may live in this context or in a Worker
 * (see model-worker.ts); downloads always run here.
 */
export function createTaskRunner(models: ModelTasks | (() => Promise<ModelTasks>)): TaskRunner {
  const get = typeof models === 'function' ? models : async () => models;
  return async (task, params, ctx) => {
    switch (task) {
      case 'download-model':
        return downloadTask(params as TaskParamsByName['download-model'], ctx);
      case 'model-run':
        return (await get()).run(params as TaskParamsByName['model-run'], ctx);
      case 'model-embed':
        return (await get()).embed(params as TaskParamsByName['model-embed'], ctx);
      case 'model-classify':
        return (await get()).classify(params as TaskParamsByName['model-classify'], ctx);
      case 'model-generate':
        return (await get()).generate(params as TaskParamsByName['model-generate'], ctx);
      case 'model-transcribe':
        return (await get()).transcribe(params as TaskParamsByName['model-transcribe'], ctx);
      case 'model-unload':
        return (await get()).unload(params as TaskParamsByName['model-unload']);
      case 'model-stages':
        return (await get()).stages(params as TaskParamsByName['model-stages'], ctx);
      case 'benchmark': {
        // Loaded on first use: most hosts never run one.
        const { runBenchmark } = await import('./bench-task');
        return runBenchmark(params as TaskParamsByName['benchmark'], ctx);
      }
      default:
        throw new UnknownOpError(`This host cannot run the task "${String(task)}"`);
    }
  };
}

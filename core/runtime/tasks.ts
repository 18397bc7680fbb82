/**
 * The tasks a host runs besides tensor ops. Downloads run in hosts, not in the service worker:
 * a host lives as long as the pool, the worker may be stopped mid-download.
 */
import { createQuota, createTabpoolDb, downloadModel, type TabpoolDb } from '../../storage';
import type { DownloadModelTask, TaskRequest } from '../protocol/host';
import { type ModelSummary, toModelSummary } from '../protocol/models';

export interface TaskContext {
  onProgress: (progress: unknown) => void;
}

type TaskFn = (params: DownloadModelTask, ctx: TaskContext) => Promise<unknown>;

let db: TabpoolDb | null = null;
/** One database handle per host, opened on first use. */
const hostDb = () => {
  db ??= createTabpoolDb();
  return db;
};

export const TASKS: Record<TaskRequest['task'], TaskFn> = {
  async 'download-model'(params, ctx): Promise<{ model: ModelSummary }> {
    const store = hostDb();
    const quota = createQuota({ db: store });
    const row = await downloadModel({
      db: store,
      baseUrl: params.baseUrl,
      repo: params.repo,
      revision: params.revision,
      files: params.files,
      onProgress: ctx.onProgress,
      reserve: (bytes, modelId) => quota.reserve(bytes, modelId),
    });
    return { model: toModelSummary(row) };
  },
};

export const TASK_NAMES = Object.keys(TASKS) as TaskRequest['task'][];

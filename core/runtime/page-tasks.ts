/**
 * The tasks of a host page: model work in a dedicated Worker (its own thread and HAL, so a
 * long forward pass never delays the host's heartbeats), downloads in the page.
 */
import type { HostRuntimeOptions } from './host-runtime';
import { createModelWorkerClient } from './model-worker-client';

export function createPageTasks(): Pick<HostRuntimeOptions, 'tasks' | 'reconfigureTasks'> {
  if (typeof Worker === 'undefined') return {};
  const client = createModelWorkerClient(
    new Worker(new URL('./model-worker.ts', import.meta.url), { type: 'module' }),
  );
  return { tasks: client.run, reconfigureTasks: client.configure };
}

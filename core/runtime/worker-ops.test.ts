import * as Comlink from 'comlink';
import { describe, expect, it } from 'vitest';
import { float32Tensor } from '../protocol/tensor';
import { createOpsWorkerApi } from './ops-worker-api';
import { createWorkerOps } from './worker-ops';

/**
 * Node has no Web Worker, so each "worker" here is the real ops API exposed with comlink on a real
 * MessagePort in this thread — the same protocol, transfers included.
 */
function portWorker(log: string[], name: string): Worker {
  const { port1, port2 } = new MessageChannel();
  const api = createOpsWorkerApi();
  Comlink.expose(
    {
      run: (...args: Parameters<typeof api.run>) => {
        log.push(name);
        return api.run(...args);
      },
    },
    port2,
  );
  return port1 as unknown as Worker;
}

const job = (x: number) => ({
  a: float32Tensor(Float32Array.of(x, 1), [1, 2]),
  b: float32Tensor(Float32Array.of(2, 3), [2, 1]),
});

describe('createWorkerOps', () => {
  it('runs ops in the workers and spreads concurrent ones across them', async () => {
    const log: string[] = [];
    let n = 0;
    const ops = createWorkerOps(2, () => portWorker(log, `w${n++}`), 'auto', null);
    expect(ops).toMatchObject({ backend: 'cpu', preferred: 'auto' });
    const results = await Promise.all([1, 2, 3, 4].map((x) => ops.run('matmul', job(x))));
    expect(results.map((r) => new Float32Array(r.c?.data as ArrayBuffer)[0])).toEqual([
      5, 7, 9, 11,
    ]);
    expect(log.filter((w) => w === 'w0')).toHaveLength(2);
    expect(log.filter((w) => w === 'w1')).toHaveLength(2);
  });

  it('moves the inputs to the worker instead of copying them', async () => {
    const ops = createWorkerOps(1, () => portWorker([], 'w'), 'cpu', null);
    const inputs = job(1);
    await ops.run('matmul', inputs);
    expect(inputs.a.data.byteLength).toBe(0); // transferred (detached here)
  });

  it('passes a kernel error back', async () => {
    const ops = createWorkerOps(1, () => portWorker([], 'w'), 'cpu', null);
    const bad = {
      a: float32Tensor(new Float32Array(4), [2, 2]),
      b: float32Tensor(new Float32Array(3), [3, 1]),
    };
    await expect(ops.run('matmul', bad)).rejects.toBeDefined();
  });
});

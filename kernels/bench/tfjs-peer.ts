/**
 * TF.js's WebGPU backend (@tensorflow/tfjs-backend-webgpu) as the benchmark's peer: same Dawn
 * instance, same GPUDevice as ours, same shapes, timed the same way (timeBatches: warm-up, then
 * the median of batches, each synchronised with queue.onSubmittedWorkDone after TF.js submits
 * its pending commands).
 *
 * In Node there is no `navigator`: TF.js only needs `navigator.gpu` to exist, so the Dawn
 * instance is put there. The backend is constructed around our device (WebGPUBackend's
 * constructor takes a GPUDevice), so no second device is asked of the adapter.
 */

import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import * as tf from '@tensorflow/tfjs-core';
import { rng, uniform } from '../testing/random';
import { type Timing, timeBatches } from './measure';

export interface TfjsPeer {
  version: string;
  matmul(m: number, k: number, n: number, transB: boolean, budgetMs: number): Promise<Timing>;
  softmax(rows: number, cols: number, budgetMs: number): Promise<Timing>;
}

export async function tfjsPeer(
  gpu: GPU,
  device: GPUDevice,
  adapter: GPUAdapter,
): Promise<TfjsPeer> {
  const g = globalThis as { navigator?: { gpu?: GPU } };
  if (g.navigator === undefined)
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
  else if (!g.navigator.gpu)
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  const info = (adapter as { info?: GPUAdapterInfo }).info;
  const backend = new WebGPUBackend(device, info);
  // TF.js's kernels are registered for the backend name 'webgpu'. Its own factory (registered
  // at import only where navigator.gpu already existed) would ask the adapter for a device.
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => backend);
  if (!(await tf.setBackend('webgpu'))) throw new Error('TF.js: no WebGPU backend');
  await tf.ready();
  const sync = async () => {
    // As TF.js's own readback does: close the open pass, then submit (an empty encoder is fine).
    backend.ensureCommandEncoderReady();
    backend.endComputePassEncoder();
    backend.submitQueue();
    await device.queue.onSubmittedWorkDone();
  };
  const r = rng(7);
  const rand = (shape: number[]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return tf.tensor(uniform(r, n), shape, 'float32');
  };
  return {
    version: tf.version_core,
    async matmul(m, k, n, transB, budgetMs) {
      const a = rand([m, k]);
      const b = rand(transB ? [n, k] : [k, n]);
      try {
        return await timeBatches(() => tf.matMul(a, b, false, transB).dispose(), sync, budgetMs);
      } finally {
        a.dispose();
        b.dispose();
        await sync();
      }
    },
    async softmax(rows, cols, budgetMs) {
      const x = rand([rows, cols]);
      try {
        return await timeBatches(() => tf.softmax(x).dispose(), sync, budgetMs);
      } finally {
        x.dispose();
        await sync();
      }
    },
  };
}

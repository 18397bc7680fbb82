/**
 * The hardware-abstraction layer: holds the backends a host can use (WebGPU when an adapter
 * comes, always the CPU), runs each op on the first backend that has it and supports these
 * inputs, and moves tensors between backends only when an op falls back. Results stay where
 * they were computed; `read` is the one way back to a typed array.
 */
import {
  GpuDeviceLostError,
  KernelFailedError,
  UnsupportedOpError,
} from '../../core/protocol/errors';
import type { Backend, OpInputs, OpName, OpParams } from '../backend/ops';
import { castCpu } from '../cast/cpu';
import { createCpuBackend } from '../cpu/backend';
import type { TypedArray } from '../tensor/dtype';
import { cpuToDense, type Tensor } from '../tensor/tensor';
import { createWebGpuBackend, type WebGpuBackend } from '../webgpu/backend';
import { createGpuContext } from '../webgpu/context';
import { createWebnnBackend } from '../webnn/backend';
import type { ML, MLContextOptions } from '../webnn/types';
import type { Capabilities } from './capabilities';

export interface Hal {
  /** Backends in order of preference; the CPU is always last. */
  readonly backends: readonly Backend[];
  readonly gpu: WebGpuBackend | null;
  readonly capabilities: Capabilities | null;
  /** Which backend ran each op (counts), for logs and the popup. */
  readonly placements: Map<string, number>;
  /**
   * Storage precision for weights: 'f16' where the adapter has `shader-f16` and the caller did
   * not ask for f32; `uploadWeight` follows it (matmuls then read f16, sum in f32).
   */
  readonly precision: 'f32' | 'f16';
  /** Why WebNN was asked for and not used (the browser's error), or null. */
  readonly webnnError: string | null;
  run<K extends OpName>(op: K, inputs: OpInputs<K>, params: OpParams<K>): Promise<Tensor>;
  /** Puts a CPU tensor on the preferred backend. */
  upload(t: Tensor): Tensor;
  /** Like `upload`, stored as f16 when `precision` is 'f16' (f32 tensors only; others as they are). */
  uploadWeight(t: Tensor): Tensor;
  read(t: Tensor): Promise<TypedArray>;
  dispose(t: Tensor): void;
}

export interface HalOptions {
  /** `navigator.gpu` in a browser, Dawn's `create()` in Node; omit for CPU only. */
  gpu?: GPU | null;
  adapterOptions?: GPURequestAdapterOptions;
  /** `navigator.ml`: WebNN runs first where a context can be created; omit for none. */
  webnn?: ML | null;
  webnnOptions?: MLContextOptions;
  /** 'auto' (the default): f16 weights where the adapter has shader-f16; 'f32' never. */
  precision?: 'auto' | 'f32';
}

/**
 * @example
 * const hal = await createHal({ gpu: navigator.gpu });
 * const y = await hal.run('softmax', [hal.upload(x)], {});
 * const values = await hal.read(y);
 */
export async function createHal(options: HalOptions = {}): Promise<Hal> {
  const adapter = options.gpu ? await options.gpu.requestAdapter(options.adapterOptions) : null;
  const gpu = adapter ? createWebGpuBackend(await createGpuContext(adapter)) : null;
  const webnn =
    options.webnn !== undefined
      ? await createWebnnBackend(options.webnn, options.webnnOptions)
      : null;
  const backends: Backend[] = [
    ...(webnn?.backend ? [webnn.backend] : []),
    ...(gpu ? [gpu] : []),
    createCpuBackend(),
  ];
  return halFromBackends(backends, gpu, {
    precision: options.precision === 'f32' || !gpu?.context.caps.shaderF16 ? 'f32' : 'f16',
    webnnError: webnn?.error ?? null,
  });
}

export function halFromBackends(
  backends: Backend[],
  gpu: WebGpuBackend | null = null,
  extra: { precision?: 'f32' | 'f16'; webnnError?: string | null } = {},
): Hal {
  const cpu = backends.find((b) => b.name === 'cpu');
  if (!cpu) throw new TypeError('The CPU backend must be present');
  const byName = new Map(backends.map((b) => [b.name, b]));
  const placements = new Map<string, number>();
  const owner = (t: Tensor): Backend => {
    const b = byName.get(t.storage.backend);
    if (!b) throw new TypeError(`No ${t.storage.backend} backend in this HAL`);
    return b;
  };
  async function moveTo(t: Tensor, target: Backend): Promise<Tensor> {
    const from = owner(t);
    if (from === target) return t;
    const onCpu = from === cpu ? t : await from.read(t);
    return target.upload(onCpu);
  }

  return {
    backends,
    gpu,
    capabilities: gpu?.context.caps ?? null,
    placements,
    precision: extra.precision ?? 'f32',
    webnnError: extra.webnnError ?? null,
    async run(op, inputs, params) {
      const backend = backends.find(
        (b) => b.ops[op] !== undefined && b.supports(op, inputs, params),
      );
      if (!backend)
        throw new UnsupportedOpError(`No backend runs ${op} for these inputs`, { detail: { op } });
      const moved = (await Promise.all(inputs.map((t) => moveTo(t, backend)))) as OpInputs<
        typeof op
      >;
      const fn = backend.ops[op] as (i: OpInputs<typeof op>, p: OpParams<typeof op>) => Tensor;
      placements.set(`${op}@${backend.name}`, (placements.get(`${op}@${backend.name}`) ?? 0) + 1);
      try {
        return fn(moved, params);
      } catch (e) {
        if (e instanceof GpuDeviceLostError || e instanceof UnsupportedOpError) throw e;
        if (e instanceof RangeError || e instanceof TypeError) throw e;
        throw new KernelFailedError(`${op} failed on ${backend.name}`, {
          cause: e,
          detail: { op },
        });
      } finally {
        moved.forEach((t, i) => {
          if (t !== inputs[i]) backend.dispose(t);
        });
      }
    },
    upload: (t) => (backends[0] as Backend).upload(t),
    uploadWeight(t) {
      if (extra.precision !== 'f16' || t.dtype !== 'f32' || !gpu)
        return (backends[0] as Backend).upload(t);
      return gpu.upload(castCpu([t], { dtype: 'f16' }));
    },
    async read(t) {
      const onCpu = await owner(t).read(t);
      return cpuToDense(onCpu);
    },
    dispose: (t) => owner(t).dispose(t),
  };
}

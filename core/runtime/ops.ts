/**
 * The tensor ops a host runtime runs, on the kernels' hardware-abstraction layer: WebGPU where
 * the host has an adapter (offscreen document and tabs in Chrome do), the CPU otherwise, chosen
 * per op. Each op takes validated wire tensors and returns wire tensors with fresh buffers (safe
 * to transfer back).
 */
import { createHal, type Hal } from '../../kernels/hal/hal';
import { cpuTensor } from '../../kernels/tensor/tensor';
import { InvalidParamsError, isTabpoolError } from '../protocol/errors';
import type { BackendPreference, RunRequest } from '../protocol/host';
import { float32Tensor, type WireTensor } from '../protocol/tensor';

type OpName = RunRequest['op'];

export const OP_NAMES: OpName[] = ['matmul'];

export interface HostOps {
  /** What the host was asked for (`configure`). */
  readonly preferred: BackendPreference;
  /** `webgpu` when ops run on an adapter, else `cpu`. */
  readonly backend: 'webgpu' | 'cpu';
  /** The adapter as it describes itself (vendor, architecture), or null on the CPU. */
  readonly adapter: string | null;
  run(op: OpName, inputs: Record<string, WireTensor>): Promise<Record<string, WireTensor>>;
}

function input(inputs: Record<string, WireTensor>, name: string): WireTensor {
  const t = inputs[name];
  if (!t) throw new InvalidParamsError(`Missing input "${name}"`);
  return t;
}

/** A software adapter (SwiftShader, WARP, llvmpipe): correct, but slower than the CPU kernels. */
export function isSoftwareAdapter(adapter: GPUAdapter): boolean {
  const info = adapter.info as Partial<GPUAdapterInfo> | undefined;
  if (info?.isFallbackAdapter) return true;
  const text = `${info?.vendor ?? ''} ${info?.architecture ?? ''} ${info?.description ?? ''}`;
  return /swiftshader|llvmpipe|lavapipe|warp|software/i.test(text);
}

const describeAdapter = (adapter: GPUAdapter): string => {
  const info = adapter.info as Partial<GPUAdapterInfo> | undefined;
  return [info?.vendor, info?.architecture].filter(Boolean).join(' ') || 'unknown adapter';
};

/**
 * Creates the host's ops. `gpu` is `navigator.gpu` in a browser; null or undefined means CPU.
 * With `auto`, a software adapter is not used: the CPU kernels are faster than an emulated GPU.
 * A lost GPU device surfaces as GPU_DEVICE_LOST (the run fails, the host's breaker counts it) and
 * the next run creates a new device.
 *
 * @example
 * const ops = await createHostOps(navigator.gpu);
 * const { c } = await ops.run('matmul', { a, b });
 */
export async function createHostOps(
  gpu: GPU | null | undefined,
  preferred: BackendPreference = 'auto',
): Promise<HostOps> {
  let useGpu: GPU | null = preferred === 'cpu' ? null : (gpu ?? null);
  let skipped: string | null = null;
  if (useGpu && preferred === 'auto') {
    const probe = await useGpu.requestAdapter().catch(() => null);
    if (probe && isSoftwareAdapter(probe)) {
      skipped = `${describeAdapter(probe)} (software, not used)`;
      useGpu = null;
    }
  }
  const open = async (): Promise<Hal> => {
    try {
      return await createHal({ gpu: useGpu });
    } catch (e) {
      console.warn('tabpool: no WebGPU device; running on the CPU', e);
      return createHal({});
    }
  };
  let hal: Promise<Hal> = open();
  const first = await hal;
  const caps = first.capabilities;

  const withHal = async <T>(fn: (h: Hal) => Promise<T>): Promise<T> => {
    const h = await hal;
    try {
      return await fn(h);
    } catch (e) {
      if (isTabpoolError(e) && e.code === 'GPU_DEVICE_LOST') hal = open();
      throw e;
    }
  };

  const ops: Record<
    OpName,
    (inputs: Record<string, WireTensor>) => Promise<Record<string, WireTensor>>
  > = {
    matmul: (inputs) =>
      withHal(async (h) => {
        const a = input(inputs, 'a');
        const b = input(inputs, 'b');
        const [m, k] = a.shape as [number, number];
        const n = b.shape[1] as number;
        const ta = h.upload(cpuTensor(new Float32Array(a.data), [m, k]));
        const tb = h.upload(cpuTensor(new Float32Array(b.data), [k, n]));
        try {
          const out = await h.run('matmul', [ta, tb], {});
          try {
            const c = (await h.read(out)) as Float32Array;
            return { c: float32Tensor(c, [m, n]) };
          } finally {
            h.dispose(out);
          }
        } finally {
          h.dispose(ta);
          h.dispose(tb);
        }
      }),
  };

  return {
    preferred,
    backend: first.gpu ? 'webgpu' : 'cpu',
    adapter: caps
      ? [caps.vendor, caps.architecture].filter(Boolean).join(' ') || 'unknown adapter'
      : skipped,
    run: (op, inputs) => {
      const fn = ops[op];
      if (!fn) throw new InvalidParamsError(`This host cannot run "${String(op)}"`);
      return fn(inputs);
    },
  };
}

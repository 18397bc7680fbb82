/** GPU tensors: allocation, upload, and the checks every WebGPU op runs on its inputs. */
import { BYTES_PER_ELEMENT, type DType } from '../tensor/dtype';
import { contiguousStrides, type Shape, sizeOf } from '../tensor/shape';
import { cpuToDense, type Tensor } from '../tensor/tensor';
import { assertAlive, createStorageBuffer, type GpuContext, STORAGE_USAGE } from './context';

/** A fresh dense GPU tensor (contents undefined until a kernel writes it). */
export function emptyGpu(ctx: GpuContext, dtype: DType, shape: Shape): Tensor {
  const length = sizeOf(shape);
  const buffer = createStorageBuffer(ctx, length * BYTES_PER_ELEMENT[dtype]);
  return {
    dtype,
    shape: [...shape],
    strides: contiguousStrides(shape),
    offset: 0,
    storage: { backend: 'webgpu', buffer, length, owner: ctx },
  };
}

/**
 * Copies a CPU tensor (any strides) into a new dense GPU tensor. The buffer is always fresh and
 * filled while mapped: `queue.writeBuffer` into a pooled buffer would land before work still
 * waiting in the open encoder that reads the buffer's previous contents.
 */
export function uploadToGpu(ctx: GpuContext, t: Tensor): Tensor {
  assertAlive(ctx);
  const data = cpuToDense(t);
  const length = data.length;
  const buffer = ctx.device.createBuffer({
    size: Math.max(4, Math.ceil(data.byteLength / 4) * 4),
    usage: STORAGE_USAGE,
    mappedAtCreation: true,
  });
  new Uint8Array(buffer.getMappedRange()).set(
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  );
  buffer.unmap();
  return {
    dtype: t.dtype,
    shape: [...t.shape],
    strides: contiguousStrides(t.shape),
    offset: 0,
    storage: { backend: 'webgpu', buffer, length, owner: ctx },
  };
}

/** The buffer of a tensor that must belong to this context. */
export function bufferOf(ctx: GpuContext, t: Tensor): GPUBuffer {
  assertAlive(ctx);
  if (t.storage.backend !== 'webgpu' || t.storage.owner !== ctx) {
    throw new TypeError('Tensor is not on this WebGPU device');
  }
  return t.storage.buffer;
}

/** GPU tensors: allocation, upload, and the checks every WebGPU op runs on its inputs. */
import { BYTES_PER_ELEMENT, type DType } from '../tensor/dtype';
import { contiguousStrides, type Shape, sizeOf } from '../tensor/shape';
import { cpuToDense, type GpuStorage, type Tensor } from '../tensor/tensor';
import { assertAlive, createStorageBuffer, type GpuContext } from './context';

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

/** Copies a CPU tensor (any strides) into a new dense GPU tensor. */
export function uploadToGpu(ctx: GpuContext, t: Tensor): Tensor {
  const data = cpuToDense(t);
  const out = emptyGpu(ctx, t.dtype, t.shape);
  if (data.length > 0) {
    ctx.device.queue.writeBuffer(
      (out.storage as GpuStorage).buffer,
      0,
      data.buffer,
      data.byteOffset,
      data.byteLength,
    );
  }
  return out;
}

/** The buffer of a tensor that must belong to this context. */
export function bufferOf(ctx: GpuContext, t: Tensor): GPUBuffer {
  assertAlive(ctx);
  if (t.storage.backend !== 'webgpu' || t.storage.owner !== ctx) {
    throw new TypeError('Tensor is not on this WebGPU device');
  }
  return t.storage.buffer;
}

/**
 * One GPUDevice and everything tied to it: the pipeline cache, the open command encoder
 * (dispatches are batched until a read or `flush`), buffers to free after the next submit,
 * and the device-lost state. Every entry point checks `assertAlive` so a lost device surfaces
 * as GPU_DEVICE_LOST instead of a silent wrong answer.
 */
import { GpuDeviceLostError, KernelFailedError } from '../../core/protocol/errors';
import {
  type AdapterLike,
  type Capabilities,
  detectCapabilities,
  deviceDescriptor,
} from '../hal/capabilities';
import type { KernelProgram } from './program';

export interface GpuContext {
  readonly device: GPUDevice;
  readonly caps: Capabilities;
  readonly pipelines: Map<string, GPUComputePipeline>;
  /** Why the device was lost, once it was. */
  lost: { reason: string; message: string } | null;
  /** The first uncaptured validation/out-of-memory error since the last read. */
  error: string | null;
  encoder: GPUCommandEncoder | null;
  /** Buffers released while the open encoder may still use them: destroyed after submit. */
  readonly releaseAfterSubmit: GPUBuffer[];
  /** Dispatches encoded since the context was made (for tests and benchmarks). */
  dispatches: number;
  /** Released storage buffers by byte size, for reuse: allocating device memory costs ~ms. */
  readonly pool: Map<number, GPUBuffer[]>;
  pooledBytes: number;
}

/** The most bytes of released buffers kept for reuse; the rest are destroyed. */
export const POOL_LIMIT_BYTES = 512 * 1024 * 1024;

/** Requests a device with the adapter's optional features and limits. */
export async function createGpuContext(adapter: GPUAdapter): Promise<GpuContext> {
  const device = await adapter.requestDevice(deviceDescriptor(adapter as unknown as AdapterLike));
  return wrapDevice(device, detectCapabilities(adapter as unknown as AdapterLike));
}

export function wrapDevice(device: GPUDevice, caps: Capabilities): GpuContext {
  const ctx: GpuContext = {
    device,
    caps,
    pipelines: new Map(),
    lost: null,
    error: null,
    encoder: null,
    releaseAfterSubmit: [],
    dispatches: 0,
    pool: new Map(),
    pooledBytes: 0,
  };
  device.lost.then((info) => {
    ctx.lost = { reason: info.reason, message: info.message };
  });
  device.addEventListener('uncapturederror', (event) => {
    ctx.error ??= (event as GPUUncapturedErrorEvent).error.message;
  });
  return ctx;
}

export function assertAlive(ctx: GpuContext): void {
  if (ctx.lost) {
    throw new GpuDeviceLostError(`GPU device lost (${ctx.lost.reason}): ${ctx.lost.message}`, {
      detail: { reason: ctx.lost.reason },
    });
  }
}

export const STORAGE_USAGE = 0x80 | 0x4 | 0x8; // STORAGE | COPY_SRC | COPY_DST

/**
 * A storage buffer of at least `bytes` (rounded up to 4; never 0 bytes), reused from the pool
 * when one of that size was released. A reused buffer holds old data: every program writes
 * all of its output.
 */
export function createStorageBuffer(ctx: GpuContext, bytes: number): GPUBuffer {
  assertAlive(ctx);
  const size = Math.max(4, Math.ceil(bytes / 4) * 4);
  const reused = ctx.pool.get(size)?.pop();
  if (reused) {
    ctx.pooledBytes -= size;
    return reused;
  }
  return ctx.device.createBuffer({ size, usage: STORAGE_USAGE });
}

export function encoderOf(ctx: GpuContext): GPUCommandEncoder {
  ctx.encoder ??= ctx.device.createCommandEncoder();
  return ctx.encoder;
}

function pipelineFor(ctx: GpuContext, program: KernelProgram): GPUComputePipeline {
  let pipeline = ctx.pipelines.get(program.cacheKey);
  if (!pipeline) {
    const module = ctx.device.createShaderModule({ code: program.wgsl, label: program.name });
    pipeline = ctx.device.createComputePipeline({
      layout: 'auto',
      compute: { module, entryPoint: 'main' },
      label: program.cacheKey,
    });
    ctx.pipelines.set(program.cacheKey, pipeline);
  }
  return pipeline;
}

/**
 * Encodes one dispatch: `buffers[i]` is binding i, the program's `meta` the last binding.
 * The WGSL must use every binding (auto layouts drop unused ones).
 */
export function runProgram(
  ctx: GpuContext,
  program: KernelProgram,
  buffers: readonly GPUBuffer[],
): void {
  assertAlive(ctx);
  if (program.dispatch.some((d) => d === 0)) return;
  const pipeline = pipelineFor(ctx, program);
  const meta = ctx.device.createBuffer({
    size: Math.max(4, program.meta.byteLength),
    usage: STORAGE_USAGE,
    mappedAtCreation: true,
  });
  new Uint32Array(meta.getMappedRange()).set(program.meta);
  meta.unmap();
  const entries = [...buffers, meta].map((buffer, binding) => ({ binding, resource: { buffer } }));
  const bindGroup = ctx.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
  const pass = encoderOf(ctx).beginComputePass({ label: program.name });
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(...program.dispatch);
  pass.end();
  ctx.releaseAfterSubmit.push(meta);
  ctx.dispatches++;
}

/** Submits the open encoder, then frees buffers that were waiting for it. */
export function flush(ctx: GpuContext): void {
  assertAlive(ctx);
  if (ctx.encoder) {
    ctx.device.queue.submit([ctx.encoder.finish()]);
    ctx.encoder = null;
  }
  for (const b of ctx.releaseAfterSubmit.splice(0)) b.destroy();
}

/**
 * Returns a storage buffer for reuse (or frees it once the work encoded against it has been
 * submitted). Reuse is safe even inside one encoder: WebGPU orders passes, so a later pass that
 * writes the buffer runs after every earlier pass that read it.
 */
export function release(ctx: GpuContext, buffer: GPUBuffer): void {
  if (ctx.pooledBytes + buffer.size <= POOL_LIMIT_BYTES && buffer.usage === STORAGE_USAGE) {
    const list = ctx.pool.get(buffer.size) ?? [];
    list.push(buffer);
    ctx.pool.set(buffer.size, list);
    ctx.pooledBytes += buffer.size;
  } else if (ctx.encoder) {
    ctx.releaseAfterSubmit.push(buffer);
  } else {
    buffer.destroy();
  }
}

function failIfErrored(ctx: GpuContext): void {
  assertAlive(ctx);
  if (ctx.error) {
    const message = ctx.error;
    ctx.error = null;
    throw new KernelFailedError(`WebGPU error: ${message}`);
  }
}

/** Copies `bytes` from the start of `buffer` back to the CPU (submits pending work first). */
export async function readBuffer(
  ctx: GpuContext,
  buffer: GPUBuffer,
  bytes: number,
): Promise<ArrayBuffer> {
  const size = Math.max(4, Math.ceil(bytes / 4) * 4);
  const staging = ctx.device.createBuffer({ size, usage: 0x1 | 0x8 }); // MAP_READ | COPY_DST
  encoderOf(ctx).copyBufferToBuffer(buffer, 0, staging, 0, size);
  flush(ctx);
  try {
    await staging.mapAsync(0x1); // GPUMapMode.READ
  } catch (cause) {
    staging.destroy();
    // A lost device rejects the map before `device.lost` settles: give it a turn to settle.
    await new Promise((resolve) => setTimeout(resolve, 0));
    assertAlive(ctx);
    throw new KernelFailedError('Reading a GPU buffer failed', { cause });
  }
  const out = staging.getMappedRange().slice(0, bytes);
  staging.unmap();
  staging.destroy();
  failIfErrored(ctx);
  return out;
}

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
  /** The open compute pass: consecutive dispatches share one (each is its own usage scope). */
  pass: GPUComputePassEncoder | null;
  /** Bind group layouts by pipeline (asking the pipeline each time costs a binding call). */
  readonly layouts: WeakMap<GPUComputePipeline, GPUBindGroupLayout>;
  /**
   * Every dispatch's small `meta` words, packed into one buffer per submit: written with one
   * `queue.writeBuffer` just before the submit instead of a mapped buffer per dispatch.
   */
  arena: { buffer: GPUBuffer; staging: Uint8Array<ArrayBuffer>; used: number } | null;
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
    pass: null,
    layouts: new WeakMap(),
    arena: null,
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

/** The open command encoder, for copies: ends the open compute pass first. */
export function encoderOf(ctx: GpuContext): GPUCommandEncoder {
  if (ctx.pass) {
    ctx.pass.end();
    ctx.pass = null;
  }
  ctx.encoder ??= ctx.device.createCommandEncoder();
  return ctx.encoder;
}

function passOf(ctx: GpuContext): GPUComputePassEncoder {
  if (!ctx.pass) {
    ctx.encoder ??= ctx.device.createCommandEncoder();
    ctx.pass = ctx.encoder.beginComputePass();
  }
  return ctx.pass;
}

/** Bytes of meta words one submit can pack; a dispatch whose meta does not fit gets its own buffer. */
export const META_ARENA_BYTES = 1 << 20;

/** Where a dispatch's meta words go: a slice of this submit's arena, or a buffer of its own. */
function metaBinding(ctx: GpuContext, meta: Uint32Array): GPUBufferBinding {
  const bytes = Math.max(4, meta.byteLength);
  const align = ctx.device.limits.minStorageBufferOffsetAlignment;
  ctx.arena ??= {
    buffer: ctx.device.createBuffer({ size: META_ARENA_BYTES, usage: STORAGE_USAGE }),
    staging: new Uint8Array(META_ARENA_BYTES),
    used: 0,
  };
  const arena = ctx.arena;
  const at = Math.ceil(arena.used / align) * align;
  if (at + bytes <= META_ARENA_BYTES) {
    arena.staging.set(new Uint8Array(meta.buffer, meta.byteOffset, meta.byteLength), at);
    arena.used = at + bytes;
    return { buffer: arena.buffer, offset: at, size: bytes };
  }
  const own = ctx.device.createBuffer({
    size: bytes,
    usage: STORAGE_USAGE,
    mappedAtCreation: true,
  });
  new Uint32Array(own.getMappedRange()).set(meta);
  own.unmap();
  ctx.releaseAfterSubmit.push(own);
  return { buffer: own };
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
  let layout = ctx.layouts.get(pipeline);
  if (!layout) {
    layout = pipeline.getBindGroupLayout(0);
    ctx.layouts.set(pipeline, layout);
  }
  const entries = [
    ...buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    { binding: buffers.length, resource: metaBinding(ctx, program.meta) },
  ];
  const bindGroup = ctx.device.createBindGroup({ layout, entries });
  const pass = passOf(ctx);
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(...program.dispatch);
  ctx.dispatches++;
}

/** Submits the open encoder, then frees buffers that were waiting for it. */
export function flush(ctx: GpuContext): void {
  assertAlive(ctx);
  if (ctx.pass) {
    ctx.pass.end();
    ctx.pass = null;
  }
  if (ctx.arena && ctx.arena.used > 0) {
    // Queue-ordered: lands before this submit and after every earlier one, so the arena is
    // reused safely submit after submit.
    ctx.device.queue.writeBuffer(ctx.arena.buffer, 0, ctx.arena.staging, 0, ctx.arena.used);
    ctx.arena.used = 0;
  }
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
    // A lost device rejects the map before `device.lost` settles (a destroyed one, in
    // Chromium, more than a task later): wait for it briefly, so the loss is reported as one.
    await Promise.race([ctx.device.lost, new Promise((resolve) => setTimeout(resolve, 100))]);
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

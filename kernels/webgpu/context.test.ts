import { describe, expect, it } from 'vitest';
import { nodeGpu } from '../testing/node-gpu';
import {
  createGpuContext,
  createStorageBuffer,
  flush,
  POOL_LIMIT_BYTES,
  readBuffer,
  release,
} from './context';

const gpu = await nodeGpu();

/** An adapter gives one device: ask for a new one per context. */
async function freshContext() {
  const adapter = await gpu.gpu?.requestAdapter();
  if (!adapter) throw new Error('no adapter');
  return createGpuContext(adapter);
}

describe.runIf(gpu.adapter !== null)('GPU context', () => {
  it('reuses a released buffer of the same size and keeps the pool under its limit', async () => {
    const ctx = await freshContext();
    const a = createStorageBuffer(ctx, 1000);
    release(ctx, a);
    expect(ctx.pooledBytes).toBe(1000);
    expect(createStorageBuffer(ctx, 1004)).not.toBe(a);
    expect(createStorageBuffer(ctx, 1000)).toBe(a);
    expect(ctx.pooledBytes).toBe(0);
    const big = createStorageBuffer(ctx, 64 * 1024 * 1024);
    ctx.pooledBytes = POOL_LIMIT_BYTES; // pretend the pool is full: the next release destroys
    release(ctx, big);
    expect(ctx.pool.get(big.size)).toBeUndefined();
    ctx.device.destroy();
  });

  it('reports a WebGPU validation error on the next read as KERNEL_FAILED', async () => {
    const ctx = await freshContext();
    ctx.device.createShaderModule({ code: 'this is not WGSL' });
    flush(ctx);
    const b = createStorageBuffer(ctx, 16);
    await expect(readBuffer(ctx, b, 16)).rejects.toMatchObject({ code: 'KERNEL_FAILED' });
    ctx.device.destroy();
  });
});

import { describe, expect, it } from 'vitest';
import { float32Tensor } from '../protocol/tensor';
import { createHostOps, isSoftwareAdapter } from './ops';

const adapter = (info: Partial<GPUAdapterInfo>) => ({ info }) as unknown as GPUAdapter;

describe('host ops', () => {
  it('run matmul on the CPU backend without a GPU', async () => {
    const ops = await createHostOps(null);
    expect(ops).toMatchObject({ backend: 'cpu', adapter: null, preferred: 'auto' });
    const { c } = await ops.run('matmul', {
      a: float32Tensor(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]),
      b: float32Tensor(Float32Array.of(7, 8, 9, 10, 11, 12), [3, 2]),
    });
    expect(c?.shape).toEqual([2, 2]);
    expect([...new Float32Array(c?.data as ArrayBuffer)]).toEqual([58, 64, 139, 154]);
  });

  it('tell software adapters from hardware ones', () => {
    expect(isSoftwareAdapter(adapter({ vendor: 'google', architecture: 'swiftshader' }))).toBe(
      true,
    );
    expect(isSoftwareAdapter(adapter({ vendor: 'mesa', description: 'llvmpipe (LLVM 15)' }))).toBe(
      true,
    );
    expect(isSoftwareAdapter(adapter({ vendor: 'nvidia', isFallbackAdapter: true }))).toBe(true);
    expect(isSoftwareAdapter(adapter({ vendor: 'nvidia', architecture: 'hopper' }))).toBe(false);
  });

  it('skip a software adapter on auto, and say so', async () => {
    const gpu = {
      requestAdapter: async () => adapter({ vendor: 'google', architecture: 'swiftshader' }),
    } as unknown as GPU;
    const ops = await createHostOps(gpu, 'auto');
    expect(ops.backend).toBe('cpu');
    expect(ops.adapter).toBe('google swiftshader (software, not used)');
    expect((await createHostOps(gpu, 'cpu')).adapter).toBeNull();
  });
});

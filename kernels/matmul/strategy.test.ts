import { describe, expect, it } from 'vitest';
import { type Capabilities, detectCapabilities } from '../hal/capabilities';
import { chooseMatmulStrategy } from './strategy';

function caps(storage = 32768, invocations = 256): Capabilities {
  return detectCapabilities({
    features: new Set(),
    limits: {
      maxBufferSize: 2 ** 30,
      maxStorageBufferBindingSize: 2 ** 30,
      maxStorageBuffersPerShaderStage: 8,
      maxComputeWorkgroupStorageSize: storage,
      maxComputeInvocationsPerWorkgroup: invocations,
      maxComputeWorkgroupSizeX: invocations,
      maxComputeWorkgroupSizeY: invocations,
      maxComputeWorkgroupsPerDimension: 65535,
    } as unknown as GPUSupportedLimits,
  });
}
const shape = (m: number, k: number, n: number, transB = false) => ({
  batch: 1,
  m,
  k,
  n,
  transA: false,
  transB,
});

describe('chooseMatmulStrategy', () => {
  it('runs decode steps on the split-K GEMV and tiny products on the simple kernel', () => {
    expect(chooseMatmulStrategy(shape(1, 4096, 4096), caps())).toEqual({ kind: 'gemv' });
    expect(chooseMatmulStrategy(shape(4, 768, 3072, true), caps())).toEqual({ kind: 'gemv' });
    expect(chooseMatmulStrategy(shape(1, 16, 4096), caps())).toEqual({ kind: 'simple' });
    expect(chooseMatmulStrategy(shape(8, 8, 8), caps())).toEqual({ kind: 'simple' });
  });

  it('takes 128×128 tiles for big products and 64×64 for medium ones', () => {
    expect(chooseMatmulStrategy(shape(4096, 4096, 4096), caps())).toMatchObject({
      kind: 'tiled',
      bm: 128,
      bn: 128,
      tm: 8,
      tn: 8,
    });
    expect(chooseMatmulStrategy(shape(128, 768, 768), caps())).toMatchObject({
      kind: 'tiled',
      bm: 64,
      bn: 64,
    });
  });

  it('falls back to smaller tiles when workgroup memory or threads are short', () => {
    expect(chooseMatmulStrategy(shape(4096, 4096, 4096), caps(8192))).toMatchObject({ bm: 64 });
    expect(chooseMatmulStrategy(shape(4096, 4096, 4096), caps(32768, 128))).toEqual({
      kind: 'simple',
    });
  });

  it('exploits aligned dims as the adapter table says', () => {
    expect(chooseMatmulStrategy(shape(4096, 4096, 4096), caps())).toMatchObject({ aligned: 'mnk' });
    expect(chooseMatmulStrategy(shape(4100, 4096, 4096), caps())).toMatchObject({ aligned: 'nk' });
    // NVIDIA (H100/H200): the fully checked program measured faster; 128×128×32 tiles.
    expect(
      chooseMatmulStrategy(shape(4096, 4096, 4096), { ...caps(49152), vendor: 'nvidia' }),
    ).toMatchObject({
      bk: 32,
      aligned: '',
    });
  });

  it('loads vec4 only along axes that are multiples of 4', () => {
    expect(chooseMatmulStrategy(shape(100, 64, 68), caps())).toMatchObject({
      vec4A: true,
      vec4B: true,
    });
    expect(chooseMatmulStrategy(shape(100, 66, 68), caps())).toMatchObject({
      vec4A: false,
      vec4B: true,
    });
    // With B stored [N, K], B's contiguous axis is K.
    expect(chooseMatmulStrategy(shape(100, 66, 68, true), caps())).toMatchObject({ vec4B: false });
  });
});

/**
 * The f16 / subgroup-matrix strategy and program structure. Capabilities here are plain data
 * (what an H100 under Dawn reports, and what SwiftShader reports): the programs themselves can
 * only compile where the adapter has the features — conformance runs them on the GPU machine.
 */
import { describe, expect, it } from 'vitest';
import { type Capabilities, detectCapabilities } from '../hal/capabilities';
import type { MatmulConfig } from './common';
import { chooseMatmulStrategy, subgroupMatrixStrategy } from './strategy';
import { pickF16Config, subgroupMatrixProgram, subgroupMatrixTile } from './subgroup-matrix';

const H100_CONFIGS = [
  { componentType: 'f16', resultComponentType: 'f16', M: 16, N: 16, K: 16 },
  { componentType: 'f16', resultComponentType: 'f32', M: 16, N: 16, K: 16 },
  { componentType: 'f16', resultComponentType: 'f32', M: 16, N: 8, K: 16 },
  { componentType: 'i8', resultComponentType: 'i32', M: 16, N: 16, K: 32 },
];

function caps(opts: {
  matrix: boolean;
  f16: boolean;
  sgMin?: number;
  storage?: number;
}): Capabilities {
  const features = new Set<string>(['subgroups']);
  if (opts.f16) features.add('shader-f16');
  if (opts.matrix) features.add('chromium-experimental-subgroup-matrix');
  return detectCapabilities({
    features,
    limits: {
      maxBufferSize: 2 ** 30,
      maxStorageBufferBindingSize: 2 ** 30,
      maxStorageBuffersPerShaderStage: 8,
      maxComputeWorkgroupStorageSize: opts.storage ?? 49152,
      maxComputeInvocationsPerWorkgroup: 1024,
      maxComputeWorkgroupSizeX: 1024,
      maxComputeWorkgroupSizeY: 1024,
      maxComputeWorkgroupsPerDimension: 65535,
    } as unknown as GPUSupportedLimits,
    info: {
      vendor: 'nvidia',
      subgroupMinSize: opts.sgMin ?? 32,
      subgroupMaxSize: 32,
      subgroupMatrixConfigs: opts.matrix ? H100_CONFIGS : [],
    },
  });
}
const f16Shape = (m: number, k: number, n: number, transB = false) => ({
  batch: 1,
  m,
  k,
  n,
  transA: false,
  transB,
  aType: 'f16' as const,
  bType: 'f16' as const,
});

describe('subgroup-matrix strategy', () => {
  it('picks the largest f16 → f32 config and ignores others', () => {
    expect(pickF16Config(H100_CONFIGS)).toMatchObject({
      M: 16,
      N: 16,
      K: 16,
      resultComponentType: 'f32',
    });
    expect(pickF16Config(H100_CONFIGS.filter((c) => c.componentType === 'i8'))).toBeNull();
  });

  it('runs f16 products on tensor cores when the adapter has them', () => {
    const s = chooseMatmulStrategy(f16Shape(4096, 4096, 4096), caps({ matrix: true, f16: true }));
    expect(s).toMatchObject({ kind: 'subgroup-matrix', cm: 16, cn: 16, ck: 16, aligned: 'mnk' });
    // A Linear weight in f16 beside f32 activations takes the tensor cores too.
    const mixed = { ...f16Shape(300, 768, 768, true), aType: 'f32' as const };
    expect(chooseMatmulStrategy(mixed, caps({ matrix: true, f16: true }))).toMatchObject({
      kind: 'subgroup-matrix',
      aligned: 'nk',
    });
  });

  it('falls back to the tiled program without the feature, without f16, or with a varying subgroup size', () => {
    for (const c of [
      caps({ matrix: false, f16: true }),
      caps({ matrix: true, f16: false }),
      caps({ matrix: true, f16: true, sgMin: 16 }),
    ]) {
      expect(chooseMatmulStrategy(f16Shape(4096, 4096, 4096), c).kind).toBe('tiled');
    }
    // f32 operands never take it; decode steps stay on the GEMV.
    const both = caps({ matrix: true, f16: true });
    expect(
      chooseMatmulStrategy({ ...f16Shape(512, 512, 512), aType: 'f32', bType: 'f32' }, both).kind,
    ).toBe('tiled');
    expect(chooseMatmulStrategy(f16Shape(1, 4096, 4096), both).kind).toBe('gemv');
  });

  it('takes single-buffered tiles (faster on the H100) and gives up when they do not fit', () => {
    const shape = f16Shape(4096, 4096, 4096);
    const big = caps({ matrix: true, f16: true });
    const small = caps({ matrix: true, f16: true, storage: 32768 });
    expect(subgroupMatrixStrategy(shape, big)).toMatchObject({
      buffers: 1,
      sr: 2,
      sc: 2,
      tm: 4,
      tn: 4,
    });
    expect(subgroupMatrixStrategy(shape, small)?.buffers).toBe(1);
    expect(subgroupMatrixStrategy(shape, big, [2, 2, 4, 4, 32], 2)?.buffers).toBe(2);
    expect(subgroupMatrixStrategy(shape, small, [2, 2, 4, 4, 32], 2)).toBeNull();
    expect(
      subgroupMatrixStrategy(shape, caps({ matrix: true, f16: true, storage: 16384 })),
    ).toBeNull();
  });
});

describe('subgroup-matrix program', () => {
  const config = (over: Partial<MatmulConfig> = {}): MatmulConfig => ({
    ...f16Shape(4096, 4096, 4096),
    aBatchStride: 0,
    bBatchStride: 0,
    bias: false,
    activation: 'none',
    ...over,
  });
  const strategy = (c: MatmulConfig) => {
    const s = subgroupMatrixStrategy(c, caps({ matrix: true, f16: true }));
    if (!s) throw new Error('expected a subgroup-matrix strategy');
    return s;
  };

  it('stores aligned plain tiles straight from the matrices and stages tiles in workgroup memory', () => {
    const c = config();
    const p = subgroupMatrixProgram(c, strategy(c));
    const t = subgroupMatrixTile(strategy(c), c);
    expect(p.wgsl).toMatch(
      /^\s*enable f16;\s*enable subgroups;\s*enable chromium_experimental_subgroup_matrix;/,
    );
    expect(p.wgsl).toContain('subgroupMatrixMultiplyAccumulate');
    expect(p.wgsl).toContain('subgroupMatrixStore(&out,');
    expect(p.wgsl).not.toContain('subgroupMatrixStore(&Cs,');
    expect(p.wgsl).toContain(`var<workgroup> As: array<f16, ${t.sizeA}>;`);
    expect(p.wgsl).not.toContain('var<workgroup> Cs'); // no scratch when nothing uses it
    expect(p.workgroupSize).toEqual([128, 1, 1]);
    expect(p.dispatch).toEqual([4096 / t.bn, 4096 / t.bm, 1]);
    // Matrix offsets come from subgroup_id and loop counters only (they must be uniform).
    for (const call of p.wgsl.match(/subgroupMatrix(Load|Store)[^;]*;/g) ?? [])
      expect(call).not.toMatch(/\blid\b|\blane\b/);
  });

  it('goes through the scratch epilogue for edges, bias and activations', () => {
    const edge = config({ m: 100, n: 130, k: 72 });
    const p = subgroupMatrixProgram(edge, strategy(edge));
    expect(p.wgsl).toContain('if (row0 + 64u <= m && col0 + 64u <= n)');
    expect(p.wgsl).toContain('subgroupMatrixStore(&Cs,');
    const act = config({ bias: true, activation: 'gelu' });
    const q = subgroupMatrixProgram(act, strategy(act));
    expect(q.wgsl).not.toContain('subgroupMatrixStore(&out,');
    expect(q.wgsl).toContain('gelu_erf');
    expect(q.cacheKey).not.toBe(subgroupMatrixProgram(config(), strategy(config())).cacheKey);
  });

  it('loads 8 halves at a time with `wide` where the contiguous axis allows', () => {
    const c = config({ transB: true, n: 4100 });
    const p = subgroupMatrixProgram(c, { ...strategy(c), wide: true });
    expect(p.wgsl).toContain('var<storage, read> a: array<vec4<u32>>;');
    expect(p.wgsl).toContain('var<storage, read> b: array<vec4<u32>>;'); // B [N, K]: K = 4096
    expect(p.wgsl).toContain('bitcast<vec2<f16>>');
    const odd = config({ k: 4100 });
    const q = subgroupMatrixProgram(odd, { ...strategy(odd), wide: true });
    expect(q.wgsl).toContain('var<storage, read> a: array<vec4<f16>>;'); // K % 8 ≠ 0
  });

  it('reads transposed operands column-major from their staged tiles', () => {
    const c = config({ transA: true, transB: true });
    const p = subgroupMatrixProgram(c, strategy(c));
    expect(p.wgsl).toMatch(
      /subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>>\(&As, [^;]*, true,/,
    );
    expect(p.wgsl).toMatch(
      /subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>>\(&Bs, [^;]*, true,/,
    );
  });
});

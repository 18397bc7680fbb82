/**
 * Every variant of the tiled program that the strategy table or the H100 sweep may pick
 * (tile sizes, K step, single or double-buffered shared tiles, unrolled or looped k, aligned or
 * edge-checked dims, transposes, bias + activation, a shared B across the batch) against the
 * CPU reference, on Dawn in Node (SwiftShader here and in CI).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CPU_OPS } from '../cpu/backend';
import { cpuTensor, type Tensor } from '../tensor/tensor';
import { compare } from '../testing/compare';
import { nodeGpu } from '../testing/node-gpu';
import { rng, uniform } from '../testing/random';
import { createWebGpuBackend, type WebGpuBackend } from '../webgpu/backend';
import { createGpuContext, runProgram } from '../webgpu/context';
import { bufferOf, emptyGpu } from '../webgpu/tensor';
import type { MatmulConfig } from './common';
import { alignedDims, type MatmulStrategy, tileSharedBytes } from './strategy';
import { tiledMatmulProgram } from './tiled';

const gpu = await nodeGpu();
type Tiled = Extract<MatmulStrategy, { kind: 'tiled' }>;

const TILES: [number, number, number, number, number, 1 | 2, boolean][] = [
  [128, 128, 16, 8, 8, 1, true],
  [128, 128, 32, 8, 8, 1, true],
  [128, 128, 16, 8, 8, 2, true],
  [128, 128, 8, 8, 8, 2, true],
  [128, 128, 16, 8, 8, 1, false],
  [128, 64, 16, 8, 4, 2, true],
  [64, 64, 16, 4, 4, 1, true],
  [64, 64, 32, 4, 4, 2, false],
];
// [batch, m, k, n, transA, transB, bias, activation, B shared across the batch]. Every variant
// runs the first shape (all dims multiples of 128 and 16: the check-free program) and one of
// the others in turn (each pipeline compiles for seconds on SwiftShader, so not all of them).
const SHAPES: [
  number,
  number,
  number,
  number,
  boolean,
  boolean,
  boolean,
  'none' | 'gelu',
  boolean,
][] = [
  [2, 128, 32, 128, false, true, true, 'gelu', true],
  [1, 128, 40, 128, false, false, false, 'none', false],
  [1, 131, 36, 133, false, true, true, 'none', false],
  [1, 66, 20, 65, true, true, false, 'none', false],
  [1, 130, 52, 70, true, false, true, 'gelu', false],
];
describe.runIf(gpu.gpu !== null)('tiled matmul variants vs the CPU reference', () => {
  let backend: WebGpuBackend;
  beforeAll(async () => {
    if (!gpu.adapter) throw new Error('unreachable');
    backend = createWebGpuBackend(await createGpuContext(gpu.adapter));
  });
  afterAll(() => backend?.context.device.destroy());

  for (const [variant, [bm, bn, bk, tm, tn, buffers, unroll]] of TILES.entries()) {
    const shapes = [SHAPES[0], SHAPES[1 + (variant % (SHAPES.length - 1))]] as typeof SHAPES;
    it(`${bm}x${bn}x${bk} ${tm}x${tn} buffers ${buffers}${unroll ? '' : ' looped'}`, async () => {
      const ctx = backend.context;
      if (tileSharedBytes({ bm, bn, bk, buffers }) > ctx.caps.limits.maxComputeWorkgroupStorageSize)
        return;
      const r = rng(bm + bn + bk + buffers);
      for (const [batch, m, k, n, transA, transB, bias, activation, shareB] of shapes) {
        const aShape = [batch, ...(transA ? [k, m] : [m, k])];
        const bShape = [...(shareB ? [] : [batch]), ...(transB ? [n, k] : [k, n])];
        const mk = (shape: number[]) =>
          cpuTensor(
            uniform(
              r,
              shape.reduce((x, y) => x * y, 1),
            ),
            shape,
          );
        const inputs: Tensor[] = [mk(aShape), mk(bShape), ...(bias ? [mk([n])] : [])];
        const params = { transA, transB, activation };
        const want = CPU_OPS.matmul(inputs as [Tensor, Tensor], params);
        const c: MatmulConfig = {
          batch,
          m,
          k,
          n,
          transA,
          transB,
          aBatchStride: m * k,
          bBatchStride: shareB ? 0 : k * n,
          bias,
          activation,
        };
        const s: Tiled = {
          kind: 'tiled',
          bm,
          bn,
          bk,
          tm,
          tn,
          vec4A: (transA ? m : k) % 4 === 0,
          vec4B: (transB ? k : n) % 4 === 0,
          aligned: alignedDims(c, bm, bn, bk),
          buffers,
          unroll,
        };
        const up = inputs.map((t) => backend.upload(t));
        const out = emptyGpu(ctx, 'f32', [batch, m, n]);
        runProgram(
          ctx,
          tiledMatmulProgram(c, s),
          [...up, out].map((t) => bufferOf(ctx, t)),
        );
        const got = await backend.read(out);
        for (const t of [...up, out]) backend.dispose(t);
        if (got.storage.backend !== 'cpu' || want.storage.backend !== 'cpu')
          throw new Error('read must return CPU tensors');
        const cmp = compare(got.storage.data, want.storage.data, {
          abs: 2e-6 + 1e-7 * k,
          rel: 1e-5,
        });
        expect(cmp.mismatch, `${JSON.stringify(c)} aligned ${s.aligned}`).toBeNull();
        expect(cmp.worstRatio, `${JSON.stringify(c)} aligned ${s.aligned}`).toBeLessThanOrEqual(1);
      }
    }, 120_000);
  }
});

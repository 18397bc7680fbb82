import { describe, expect, it } from 'vitest';
import { attentionProgram } from '../attention/webgpu';
import { binaryProgram } from '../binary/webgpu';
import { matmulProgram } from '../matmul/webgpu';
import { softmaxProgram } from '../softmax/webgpu';
import { cpuTensor, transpose } from '../tensor/tensor';
import { unaryProgram } from '../unary/webgpu';
import { dispatchFor, f32Bits, type KernelProgram, pipelineCacheKey } from './program';

describe('pipelineCacheKey', () => {
  it('names the program and every parameter, in sorted order', () => {
    expect(pipelineCacheKey('softmax', { wg: 256 })).toBe('softmax|wg=256');
    expect(pipelineCacheKey('m', { b: 1, a: true })).toBe(pipelineCacheKey('m', { a: true, b: 1 }));
    expect(pipelineCacheKey('m', { a: true })).not.toBe(pipelineCacheKey('m', { a: false }));
    expect(pipelineCacheKey('m', {})).toBe('m');
  });

  it('refuses parts that would make two keys collide', () => {
    expect(() => pipelineCacheKey('m', { a: 'x|b=1' })).toThrow(RangeError);
    expect(() => pipelineCacheKey('m', { 'a=b': 1 })).toThrow(RangeError);
  });
});

describe('program descriptors', () => {
  // Same key must mean same WGSL (else the cache serves a wrong pipeline); different WGSL must
  // mean a different key. Sizes that live in `meta` must not change either.
  function programs(): KernelProgram[] {
    const out: KernelProgram[] = [];
    const x = cpuTensor(new Float32Array(12), [3, 4]);
    for (const fn of ['gelu', 'silu', 'exp'] as const) {
      out.push(unaryProgram(x, fn, 65535), unaryProgram(transpose(x), fn, 65535));
      out.push(unaryProgram(cpuTensor(new Float32Array(5), [5]), fn, 65535));
    }
    out.push(binaryProgram(x, cpuTensor(new Float32Array(4), [4]), 'add', 65535));
    out.push(binaryProgram(x, x, 'mul', 65535), binaryProgram(x, x, 'add', 65535));
    for (const cols of [3, 40, 1000]) out.push(softmaxProgram(7, cols, 65535));
    for (const [m, n, k] of [
      [1, 8, 8],
      [64, 64, 64],
      [65, 67, 33],
      [600, 600, 64],
    ] as const) {
      for (const transB of [false, true]) {
        for (const bias of [false, true]) {
          const c = {
            batch: 1,
            m,
            k,
            n,
            transA: false,
            transB,
            aBatchStride: 0,
            bBatchStride: 0,
            bias,
            activation: 'gelu' as const,
          };
          out.push(matmulProgram(c, { kind: 'simple' }), matmulProgram(c, { kind: 'gemv' }));
          out.push(
            matmulProgram(c, {
              kind: 'tiled',
              bm: 64,
              bn: 64,
              bk: 16,
              tm: 4,
              tn: 4,
              vec4A: k % 4 === 0,
              vec4B: n % 4 === 0,
            }),
          );
        }
      }
    }
    const dims = { batch: 1, heads: 4, kvHeads: 2, seqQ: 9, seqKv: 9, headDim: 32 };
    for (const causal of [false, true]) {
      out.push(attentionProgram(dims, { bq: 16, bkv: 32 }, causal, 0.1, false));
      out.push(
        attentionProgram({ ...dims, seqQ: 20, seqKv: 50 }, { bq: 16, bkv: 32 }, causal, 0.5, true),
      );
    }
    return out;
  }

  it('key ⇔ WGSL across program variants', () => {
    const byKey = new Map<string, string>();
    const byWgsl = new Map<string, string>();
    for (const p of programs()) {
      expect(byKey.get(p.cacheKey) ?? p.wgsl).toBe(p.wgsl);
      expect(byWgsl.get(p.wgsl) ?? p.cacheKey).toBe(p.cacheKey);
      byKey.set(p.cacheKey, p.wgsl);
      byWgsl.set(p.wgsl, p.cacheKey);
      expect(p.cacheKey.startsWith(p.name.split('-')[0] as string)).toBe(true);
    }
    expect(byKey.size).toBeGreaterThan(20);
  });
});

describe('dispatchFor', () => {
  it('uses x alone while it fits and folds into y beyond the limit', () => {
    expect(dispatchFor(1000, 256, 65535)).toEqual([4, 1, 1]);
    expect(dispatchFor(0, 256, 65535)).toEqual([1, 1, 1]);
    const [x, y] = dispatchFor(70000 * 256, 256, 65535);
    expect(x).toBeLessThanOrEqual(65535);
    expect(x * y).toBeGreaterThanOrEqual(70000);
  });
});

it('f32Bits gives the IEEE-754 pattern', () => {
  expect(f32Bits(1)).toBe(0x3f800000);
  expect(f32Bits(-2)).toBe(0xc0000000);
});

/**
 * The quantized KV cache: int8 and int4 rows against the f32 cache over a prompt and 48 decode
 * steps (Llama-7B head shape: 8 KV heads × 128), on the CPU backend (the WebGPU row kernels
 * match it exactly: kernels/quant/cases.ts). Budgets: per-row error within half a code step of
 * the row's scale; cosine ≥ 0.9999 (int8) / 0.99 (int4); memory ≤ 26% (int8) / 14% (int4) of
 * f32's. Prints the bytes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createHal } from '../../kernels/hal/hal';
import { errorStats, normal } from '../../kernels/quant/stats';
import { cpuTensor, cpuToDense } from '../../kernels/tensor/tensor';
import { rng } from '../../kernels/testing/random';
import { scoped } from './graph';
import { KvCache } from './kv-cache';

const [heads, dim, prompt, steps] = [8, 128, 16, 48];

describe('quantized KV cache vs f32', async () => {
  const hal = await createHal();
  const lines: string[] = [];
  afterAll(() =>
    console.info(
      `KV cache, 1 layer, ${heads} heads × ${dim}, ${prompt + steps} positions:\n${lines.join('\n')}`,
    ),
  );

  it.each([
    [8, 0.9999, 0.26],
    [4, 0.99, 0.14],
  ] as const)('int%i: cosine ≥ %f, bytes ≤ %f of f32', async (bits, minCos, maxShare) => {
    const r = rng(5);
    const exact = new KvCache(hal, 1);
    const quant = new KvCache(hal, 1, bits);
    let worstCos = 1;
    let worstAbs = 0;
    let worstRatio = 0;
    for (let step = 0; step <= steps; step++) {
      const seq = step === 0 ? prompt : 1;
      const shape = [1, heads, seq, dim];
      const k = cpuTensor(normal(r, heads * seq * dim), shape);
      const v = cpuTensor(normal(r, heads * seq * dim), shape);
      const [wantK, wantV] = await scoped(hal, async (s) => exact.append(s, 0, k, v));
      const [gotK, gotV] = await scoped(hal, async (s) => quant.append(s, 0, k, v));
      for (const [got, want] of [
        [gotK, wantK],
        [gotV, wantV],
      ] as const) {
        const g = cpuToDense(got) as Float32Array;
        const w = cpuToDense(want) as Float32Array;
        const st = errorStats(g, w);
        worstCos = Math.min(worstCos, st.cosine);
        worstAbs = Math.max(worstAbs, st.maxAbs);
        // Every row: error ≤ half a step of its own scale (absmax / (2^(bits−1) − 1)).
        for (let row = 0; row < w.length / dim; row++) {
          let amax = 0;
          for (let i = 0; i < dim; i++) amax = Math.max(amax, Math.abs(w[row * dim + i] as number));
          const half = (0.5 * amax) / ((1 << (bits - 1)) - 1);
          for (let i = 0; i < dim; i++) {
            const err = Math.abs((g[row * dim + i] as number) - (w[row * dim + i] as number));
            worstRatio = Math.max(worstRatio, err / (half * 1.0001 + 1e-7));
          }
        }
      }
    }
    const share = quant.bytes / exact.bytes;
    lines.push(
      `int${bits}: ${quant.bytes} bytes vs f32 ${exact.bytes} bytes = ${(share * 100).toFixed(1)}% (saves ${((1 - share) * 100).toFixed(1)}%); cosine ≥ ${worstCos.toFixed(6)}, max |err| ${worstAbs.toExponential(2)}`,
    );
    expect(worstRatio).toBeLessThanOrEqual(1);
    expect(worstCos).toBeGreaterThanOrEqual(minCos);
    expect(share).toBeLessThanOrEqual(maxShare);
    exact.dispose();
    quant.dispose();
  });
});

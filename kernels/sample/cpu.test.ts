import { describe, expect, it } from 'vitest';
import { argmaxCpu } from '../argmax/cpu';
import { concatCpu } from '../concat/cpu';
import { gatherCpu } from '../gather/cpu';
import { cpuTensor, cpuToDense } from '../tensor/tensor';
import { rng } from '../testing/random';
import { sampleCpu } from './cpu';

const logits = Float32Array.from([1, 3, 2, 0]);

describe('sampleCpu', () => {
  it('is greedy at temperature 0 and with top-k 1', () => {
    expect(sampleCpu(logits, { temperature: 0, random: rng(1) })).toBe(1);
    expect(sampleCpu(logits, { temperature: 1, topK: 1, random: rng(1) })).toBe(1);
  });

  it('top-k 2 only draws the two most likely tokens, in their softmax ratio', () => {
    const random = rng(3);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) {
      const id = sampleCpu(logits, { temperature: 1, topK: 2, random });
      counts[id] = (counts[id] ?? 0) + 1;
    }
    expect(counts[0]).toBe(0);
    expect(counts[3]).toBe(0);
    // p(1) / p(2) = e: 0.731 of the draws.
    expect((counts[1] as number) / 4000).toBeGreaterThan(0.7);
    expect((counts[1] as number) / 4000).toBeLessThan(0.76);
  });

  it('top-p keeps the smallest set reaching p', () => {
    const random = rng(4);
    const seen = new Set<number>();
    // p(1) = 0.644, p(1) + p(2) = 0.881: top-p 0.8 keeps {1, 2}.
    for (let i = 0; i < 500; i++)
      seen.add(sampleCpu(logits, { temperature: 1, topP: 0.8, random }));
    expect([...seen].sort()).toEqual([1, 2]);
  });
});

describe('argmax, gather, concat (CPU reference)', () => {
  it('argmax takes the first maximum per row', () => {
    const y = argmaxCpu([cpuTensor(Float32Array.from([1, 5, 5, 9, 2, 3]), [2, 3])]);
    expect(y.dtype).toBe('i32');
    expect([...cpuToDense(y)]).toEqual([1, 0]);
  });

  it('gather reads table rows and rejects out-of-range ids', () => {
    const table = cpuTensor(Float32Array.from([0, 1, 10, 11, 20, 21]), [3, 2]);
    expect([...cpuToDense(gatherCpu([table, cpuTensor(Int32Array.from([2, 0]), [2])]))]).toEqual([
      20, 21, 0, 1,
    ]);
    expect(() => gatherCpu([table, cpuTensor(Int32Array.from([3]), [1])])).toThrow(RangeError);
  });

  it('concat joins along an inner axis', () => {
    const a = cpuTensor(Float32Array.from([1, 2, 3, 4]), [2, 2]);
    const b = cpuTensor(Float32Array.from([5, 6]), [2, 1]);
    expect([...cpuToDense(concatCpu([a, b], { axis: 1 }))]).toEqual([1, 2, 5, 3, 4, 6]);
    expect(() =>
      concatCpu([a, cpuTensor(Float32Array.from([5, 6, 7]), [3, 1])], { axis: 1 }),
    ).toThrow(RangeError);
  });
});

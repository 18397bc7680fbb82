import { describe, expect, it } from 'vitest';
import { cpuTensor, cpuToDense } from '../tensor/tensor';
import { rng, uniform } from '../testing/random';
import { attentionCpu } from './cpu';

const r = rng(11);
const rand = (shape: number[]) =>
  cpuTensor(
    uniform(
      r,
      shape.reduce((a, b) => a * b, 1),
    ),
    shape,
  );
const dense = (x: ReturnType<typeof rand>) => [...cpuToDense(x)];

describe('attention CPU reference', () => {
  it('one key: the output is that value row', () => {
    const q = rand([1, 1, 1, 4]);
    const k = rand([1, 1, 1, 4]);
    const v = cpuTensor(Float32Array.from([1, 2, 3, 4]), [1, 1, 1, 4]);
    expect(dense(attentionCpu([q, k, v], { causal: false }))).toEqual([1, 2, 3, 4]);
  });

  it('causal: the first query sees only the first key', () => {
    const q = rand([1, 1, 3, 4]);
    const k = rand([1, 1, 3, 4]);
    const v = rand([1, 1, 3, 4]);
    const y = dense(attentionCpu([q, k, v], { causal: true }));
    expect(y.slice(0, 4)).toEqual(dense(v).slice(0, 4));
  });

  it('with a KV cache, the last query sees every key (same as non-causal)', () => {
    const q = rand([1, 2, 1, 8]);
    const k = rand([1, 2, 5, 8]);
    const v = rand([1, 2, 5, 8]);
    expect(dense(attentionCpu([q, k, v], { causal: true }))).toEqual(
      dense(attentionCpu([q, k, v], { causal: false })),
    );
  });

  it('GQA equals repeating each KV head for its query heads', () => {
    const q = rand([1, 4, 3, 8]);
    const k = rand([1, 2, 3, 8]);
    const v = rand([1, 2, 3, 8]);
    const repeat = (x: ReturnType<typeof rand>) => {
      const d = dense(x);
      const head = 3 * 8;
      return cpuTensor(
        Float32Array.from([0, 0, 1, 1].flatMap((h) => d.slice(h * head, (h + 1) * head))),
        [1, 4, 3, 8],
      );
    };
    const got = dense(attentionCpu([q, k, v], { causal: true }));
    const want = dense(attentionCpu([q, repeat(k), repeat(v)], { causal: true }));
    got.forEach((g, i) => {
      expect(g).toBeCloseTo(want[i] as number, 6);
    });
  });

  it('a padding length equals truncating the keys', () => {
    const q = rand([1, 1, 2, 8]);
    const k = rand([1, 1, 6, 8]);
    const v = rand([1, 1, 6, 8]);
    const lengths = cpuTensor(Int32Array.from([4]), [1]);
    const cut = (x: ReturnType<typeof rand>) =>
      cpuTensor(Float32Array.from(dense(x).slice(0, 32)), [1, 1, 4, 8]);
    expect(dense(attentionCpu([q, k, v, lengths], { causal: false }))).toEqual(
      dense(attentionCpu([q, cut(k), cut(v)], { causal: false })),
    );
  });

  it('rejects head counts that do not group', () => {
    expect(() =>
      attentionCpu([rand([1, 3, 1, 4]), rand([1, 2, 1, 4]), rand([1, 2, 1, 4])], { causal: false }),
    ).toThrow(RangeError);
  });
});

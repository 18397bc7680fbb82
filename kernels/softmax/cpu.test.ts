import { describe, expect, it } from 'vitest';
import { layerNormCpu } from '../layernorm/cpu';
import { rmsNormCpu } from '../rmsnorm/cpu';
import { cpuTensor, cpuToDense } from '../tensor/tensor';
import { softmaxCpu } from './cpu';

const t = (values: number[], shape: number[]) => cpuTensor(Float32Array.from(values), shape);
const dense = (x: ReturnType<typeof t>) => [...cpuToDense(x)];

describe('row reductions (CPU reference)', () => {
  it('softmax: known row, rows sum to 1, huge logits do not overflow', () => {
    const y = dense(softmaxCpu([t([1, 2, 3, 1000, 1000, -1000], [2, 3])]));
    expect(y[0]).toBeCloseTo(0.09003057, 7);
    expect(y[2]).toBeCloseTo(0.66524096, 7);
    expect(y.slice(3)).toEqual([0.5, 0.5, 0]);
  });

  it('layerNorm: zero mean, unit variance, then gamma and beta', () => {
    const y = dense(
      layerNormCpu([t([1, 2, 3, 4], [1, 4]), t([1, 1, 2, 2], [4]), t([0, 0, 0, 1], [4])], {
        eps: 0,
      }),
    );
    const s = Math.sqrt(1.25);
    const want = [-1.5 / s, -0.5 / s, (2 * 0.5) / s, (2 * 1.5) / s + 1];
    for (let i = 0; i < 4; i++) expect(y[i]).toBeCloseTo(want[i] as number, 6);
  });

  it('rmsNorm: divides by the root mean square', () => {
    const y = dense(rmsNormCpu([t([3, 4], [1, 2]), t([1, 2], [2])], { eps: 0 }));
    const rms = Math.sqrt(12.5);
    expect(y[0]).toBeCloseTo(3 / rms, 6);
    expect(y[1]).toBeCloseTo(8 / rms, 6);
  });

  it('norms reject gamma of the wrong size', () => {
    expect(() => rmsNormCpu([t([1, 2], [1, 2]), t([1], [1])], { eps: 0 })).toThrow(RangeError);
  });
});

import { describe, expect, it } from 'vitest';
import { matmulOpCpu } from '../matmul/op-cpu';
import { cpuTensor, cpuToDense } from '../tensor/tensor';
import { rng, uniform } from '../testing/random';
import { conv1dCpu, conv2dCpu } from './cpu';

const r = rng(5);

describe('conv CPU reference', () => {
  it('conv1d with padding: a known 3-tap filter', () => {
    const x = cpuTensor(Float32Array.from([1, 2, 3]), [1, 1, 3]);
    const w = cpuTensor(Float32Array.from([1, 10, 100]), [1, 1, 3]);
    expect([...cpuToDense(conv1dCpu([x, w], { stride: [1], padding: [1] }))]).toEqual([
      210, 321, 32,
    ]);
  });

  it('patch embedding (stride = kernel) equals a matmul of flattened patches', () => {
    const x = cpuTensor(uniform(r, 2 * 4 * 4), [1, 2, 4, 4]);
    const w = cpuTensor(uniform(r, 3 * 2 * 2 * 2), [3, 2, 2, 2]);
    const y = cpuToDense(conv2dCpu([x, w], { stride: [2, 2], padding: [0, 0] }));
    const xd = cpuToDense(x);
    const patches = new Float32Array(4 * 8);
    for (let p = 0; p < 4; p++)
      for (let c = 0; c < 2; c++)
        for (let ky = 0; ky < 2; ky++)
          for (let kx = 0; kx < 2; kx++) {
            const py = Math.floor(p / 2) * 2 + ky;
            const px = (p % 2) * 2 + kx;
            patches[p * 8 + c * 4 + ky * 2 + kx] = xd[c * 16 + py * 4 + px] as number;
          }
    const want = cpuToDense(
      matmulOpCpu([cpuTensor(patches, [4, 8]), cpuTensor(cpuToDense(w).slice(), [3, 8])], {
        transB: true,
      }),
    );
    // y is [1, 3, 2, 2] (channel-major), want is [4 patches, 3 channels].
    for (let co = 0; co < 3; co++)
      for (let p = 0; p < 4; p++) expect(y[co * 4 + p]).toBeCloseTo(want[p * 3 + co] as number, 5);
  });

  it('rejects mismatched channels', () => {
    expect(() =>
      conv2dCpu(
        [
          cpuTensor(new Float32Array(8), [1, 2, 2, 2]),
          cpuTensor(new Float32Array(3), [1, 3, 1, 1]),
        ],
        { stride: [1, 1], padding: [0, 0] },
      ),
    ).toThrow(RangeError);
  });
});

import { describe, expect, it } from 'vitest';
import { cpuTensor, cpuToDense } from '../tensor/tensor';
import { rotaryCpu } from './cpu';

describe('rotary CPU reference', () => {
  const x = cpuTensor(Float32Array.from([1, 2, 3, 4]), [1, 4]);

  it('position 0 is the identity', () => {
    expect([...cpuToDense(rotaryCpu([x], { positionOffset: 0, theta: 10000 }))]).toEqual([
      1, 2, 3, 4,
    ]);
  });

  it('rotates pair (i, i + d/2) by pos · theta^(-2i/d)', () => {
    const y = cpuToDense(rotaryCpu([x], { positionOffset: 1, theta: 10000 }));
    // Pair 0 is (x0, x2) at angle 1; pair 1 is (x1, x3) at angle 10000^(-1/2) = 0.01.
    expect(y[0]).toBeCloseTo(1 * Math.cos(1) - 3 * Math.sin(1), 6);
    expect(y[2]).toBeCloseTo(3 * Math.cos(1) + 1 * Math.sin(1), 6);
    expect(y[1]).toBeCloseTo(2 * Math.cos(0.01) - 4 * Math.sin(0.01), 6);
  });

  it('interleaved pairs are (2i, 2i+1); partial rotary leaves the tail', () => {
    const y = cpuToDense(
      rotaryCpu([x], { positionOffset: 1, theta: 10000, interleaved: true, rotaryDim: 2 }),
    );
    expect(y[0]).toBeCloseTo(Math.cos(1) - 2 * Math.sin(1), 6);
    expect(y[1]).toBeCloseTo(2 * Math.cos(1) + Math.sin(1), 6);
    expect([y[2], y[3]]).toEqual([3, 4]);
  });
});

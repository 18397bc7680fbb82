import { describe, expect, it } from 'vitest';
import { cpuTensor } from '../tensor/tensor';
import { applyUnary, erf, unaryCpu } from './cpu';

describe('unary CPU reference', () => {
  it('erf matches known values within 1.5e-7', () => {
    const known: [number, number][] = [
      [0, 0],
      [0.5, 0.5204998778],
      [1, 0.8427007929],
      [-2, -0.995322265],
      [3, 0.9999779095],
    ];
    for (const [x, want] of known) expect(Math.abs(erf(x) - want)).toBeLessThan(1.5e-7);
  });

  it('GELU (erf and tanh), SiLU and friends hit published values', () => {
    expect(applyUnary('gelu', 1)).toBeCloseTo(0.8413447, 6);
    expect(applyUnary('gelu', -1)).toBeCloseTo(-0.1586553, 6);
    expect(applyUnary('gelu-tanh', 1)).toBeCloseTo(0.841192, 6);
    expect(applyUnary('silu', 1)).toBeCloseTo(0.7310586, 6);
    expect(applyUnary('relu', -3)).toBe(0);
    expect(applyUnary('sigmoid', 0)).toBe(0.5);
  });

  it('maps a view elementwise and keeps the shape', () => {
    const y = unaryCpu([cpuTensor(Float32Array.from([-1, 0, 2]), [3, 1])], { fn: 'neg' });
    expect(y.shape).toEqual([3, 1]);
    expect(y.storage.backend === 'cpu' && [...y.storage.data]).toEqual([1, -0, -2]);
  });
});

import { describe, expect, it } from 'vitest';
import { broadcastShapes, contiguousStrides, isContiguous } from './shape';
import {
  broadcastTo,
  cpuTensor,
  cpuToDense,
  isDense,
  permute,
  reshape,
  slice,
  transpose,
} from './tensor';

const iota = (n: number) => Float32Array.from({ length: n }, (_, i) => i);

describe('shape helpers', () => {
  it('computes row-major strides and recognises them', () => {
    expect(contiguousStrides([2, 3, 4])).toEqual([12, 4, 1]);
    expect(isContiguous([2, 3, 4], [12, 4, 1])).toBe(true);
    expect(isContiguous([2, 3], [1, 2])).toBe(false);
    // A size-1 axis may carry any stride.
    expect(isContiguous([2, 1, 3], [3, 99, 1])).toBe(true);
  });

  it('broadcasts like NumPy and rejects incompatible shapes', () => {
    expect(broadcastShapes([5, 1, 3], [1, 6, 1])).toEqual([5, 6, 3]);
    expect(broadcastShapes([4], [2, 3, 4])).toEqual([2, 3, 4]);
    expect(broadcastShapes([], [2])).toEqual([2]);
    expect(() => broadcastShapes([3], [4])).toThrow(RangeError);
  });
});

describe('tensor views', () => {
  const x = cpuTensor(iota(6), [2, 3]);

  it('transposes without copying and materialises on request', () => {
    const t = transpose(x);
    expect(t.storage).toBe(x.storage);
    expect(t.shape).toEqual([3, 2]);
    expect(isDense(t)).toBe(false);
    expect([...cpuToDense(t)]).toEqual([0, 3, 1, 4, 2, 5]);
  });

  it('slices along an axis by offset and keeps strides', () => {
    const s = slice(x, 1, 1, 3);
    expect(s.offset).toBe(1);
    expect([...cpuToDense(s)]).toEqual([1, 2, 4, 5]);
    expect([...cpuToDense(slice(x, 0, 1, 2))]).toEqual([3, 4, 5]);
    expect(() => slice(x, 1, 2, 4)).toThrow(RangeError);
  });

  it('permutes axes of a rank-3 tensor', () => {
    const y = cpuTensor(iota(24), [2, 3, 4]);
    const p = permute(y, [2, 0, 1]);
    expect(p.shape).toEqual([4, 2, 3]);
    expect(cpuToDense(p)[1]).toBe(4); // p[0, 0, 1] = y[0, 1, 0]
    expect(() => permute(y, [0, 0, 1])).toThrow(RangeError);
  });

  it('reshapes contiguous tensors as views and refuses strided ones', () => {
    const r = reshape(x, [3, -1]);
    expect(r?.shape).toEqual([3, 2]);
    expect(r?.storage).toBe(x.storage);
    expect(reshape(transpose(x), [6])).toBeNull();
    expect(() => reshape(x, [4, -1])).toThrow(RangeError);
  });

  it('broadcasts with zero strides', () => {
    const row = cpuTensor(Float32Array.from([1, 2, 3]), [3]);
    const b = broadcastTo(row, [2, 3]);
    expect(b.strides).toEqual([0, 1]);
    expect([...cpuToDense(b)]).toEqual([1, 2, 3, 1, 2, 3]);
    expect(() => broadcastTo(row, [2, 4])).toThrow(RangeError);
  });

  it('rejects data that does not fill the shape', () => {
    expect(() => cpuTensor(iota(5), [2, 3])).toThrow(RangeError);
  });
});

/** CPU reference for elementwise binary ops with NumPy broadcasting. */
import type { BinaryFn, OpInputs, OpParams } from '../backend/ops';
import { broadcastShapes } from '../tensor/shape';
import { broadcastTo, cpuTensor, cpuToDense, type Tensor } from '../tensor/tensor';

export function applyBinary(fn: BinaryFn, a: number, b: number): number {
  switch (fn) {
    case 'add':
      return a + b;
    case 'sub':
      return a - b;
    case 'mul':
      return a * b;
    case 'div':
      return a / b;
    case 'max':
      return Math.max(a, b);
    case 'min':
      return Math.min(a, b);
  }
}

export function binaryCpu([a, b]: OpInputs<'binary'>, { fn }: OpParams<'binary'>): Tensor {
  if (a.dtype !== 'f32' || b.dtype !== 'f32') throw new TypeError('binary needs f32');
  const shape = broadcastShapes(a.shape, b.shape);
  const x = cpuToDense(broadcastTo(a, shape));
  const y = cpuToDense(broadcastTo(b, shape));
  const out = new Float32Array(x.length);
  for (let i = 0; i < out.length; i++) out[i] = applyBinary(fn, x[i] as number, y[i] as number);
  return cpuTensor(out, shape);
}

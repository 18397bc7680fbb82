/** CPU reference: softmax over the last axis, max-subtracted so large logits do not overflow. */
import type { OpInputs } from '../backend/ops';
import { cpuTensor, cpuToDense, type Tensor } from '../tensor/tensor';

export function softmaxRows(src: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < cols; c++) max = Math.max(max, src[base + c] as number);
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += Math.exp((src[base + c] as number) - max);
    for (let c = 0; c < cols; c++) out[base + c] = Math.exp((src[base + c] as number) - max) / sum;
  }
  return out;
}

export function softmaxCpu([x]: OpInputs<'softmax'>): Tensor {
  const cols = x.shape[x.shape.length - 1] ?? 1;
  const src = cpuToDense(x);
  return cpuTensor(softmaxRows(src, src.length / cols, cols), x.shape);
}

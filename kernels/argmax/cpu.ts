/** CPU reference: index of the largest value along the last axis (first one on ties), i32. */
import type { OpInputs } from '../backend/ops';
import { cpuTensor, cpuToDense, type Tensor } from '../tensor/tensor';

export function argmaxCpu([x]: OpInputs<'argmax'>): Tensor {
  const cols = x.shape[x.shape.length - 1] ?? 1;
  const src = cpuToDense(x);
  const rows = src.length / cols;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++)
      if ((src[r * cols + c] as number) > (src[r * cols + best] as number)) best = c;
    out[r] = best;
  }
  return cpuTensor(out, x.shape.slice(0, -1));
}

/** CPU reference: RMSNorm over the last axis (Llama family): x / rms(x) · gamma. */
import type { OpInputs, OpParams } from '../backend/ops';
import { cpuTensor, cpuToDense, type Tensor } from '../tensor/tensor';

export function rmsNormCpu([x, gamma]: OpInputs<'rmsNorm'>, { eps }: OpParams<'rmsNorm'>): Tensor {
  const cols = x.shape[x.shape.length - 1] ?? 1;
  const src = cpuToDense(x);
  const g = cpuToDense(gamma);
  if (g.length !== cols) throw new RangeError('gamma must match last axis');
  const out = new Float32Array(src.length);
  for (let base = 0; base < src.length; base += cols) {
    let sq = 0;
    for (let c = 0; c < cols; c++) sq += (src[base + c] as number) ** 2;
    const inv = 1 / Math.sqrt(sq / cols + eps);
    for (let c = 0; c < cols; c++)
      out[base + c] = (src[base + c] as number) * inv * (g[c] as number);
  }
  return cpuTensor(out, x.shape);
}

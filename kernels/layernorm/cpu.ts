/** CPU reference: LayerNorm over the last axis (BERT, ViT, CLIP, Whisper, GPT-2). */
import type { OpInputs, OpParams } from '../backend/ops';
import { cpuTensor, cpuToDense, type Tensor } from '../tensor/tensor';

export function layerNormCpu(
  [x, gamma, beta]: OpInputs<'layerNorm'>,
  { eps }: OpParams<'layerNorm'>,
): Tensor {
  const cols = x.shape[x.shape.length - 1] ?? 1;
  const src = cpuToDense(x);
  const g = cpuToDense(gamma);
  const b = cpuToDense(beta);
  if (g.length !== cols || b.length !== cols)
    throw new RangeError('gamma/beta must match last axis');
  const out = new Float32Array(src.length);
  for (let base = 0; base < src.length; base += cols) {
    let mean = 0;
    for (let c = 0; c < cols; c++) mean += src[base + c] as number;
    mean /= cols;
    let variance = 0;
    for (let c = 0; c < cols; c++) variance += ((src[base + c] as number) - mean) ** 2;
    const inv = 1 / Math.sqrt(variance / cols + eps);
    for (let c = 0; c < cols; c++) {
      out[base + c] =
        ((src[base + c] as number) - mean) * inv * (g[c] as number) + (b[c] as number);
    }
  }
  return cpuTensor(out, x.shape);
}

/**
 * CPU reference: rotary position embeddings on x [..., S, D] (heads anywhere before S).
 * Position of row s is positionOffset + s; pair i rotates by pos · theta^(-2i / rotaryDim).
 */
import type { OpInputs, OpParams, RotaryParams } from '../backend/ops';
import { cpuTensor, cpuToDense, type Tensor } from '../tensor/tensor';

/** Checks params against x's shape; returns [seq, headDim, rotaryDim]. */
export function rotaryDims(x: Tensor, p: RotaryParams): [number, number, number] {
  const rank = x.shape.length;
  if (rank < 2) throw new RangeError('rotary needs [..., S, D]');
  const seq = x.shape[rank - 2] as number;
  const dim = x.shape[rank - 1] as number;
  const rot = p.rotaryDim ?? dim;
  if (rot % 2 !== 0 || rot > dim || rot <= 0)
    throw new RangeError(`Bad rotaryDim ${rot} for ${dim}`);
  return [seq, dim, rot];
}

export function rotaryCpu([x]: OpInputs<'rotary'>, p: OpParams<'rotary'>): Tensor {
  const [seq, dim, rot] = rotaryDims(x, p);
  const src = cpuToDense(x);
  const out = Float32Array.from(src);
  const half = rot / 2;
  for (let row = 0; row < src.length / dim; row++) {
    const pos = p.positionOffset + (row % seq);
    const base = row * dim;
    for (let i = 0; i < half; i++) {
      const angle = pos * p.theta ** ((-2 * i) / rot);
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      const i1 = p.interleaved ? base + 2 * i : base + i;
      const i2 = p.interleaved ? i1 + 1 : i1 + half;
      const x1 = src[i1] as number;
      const x2 = src[i2] as number;
      out[i1] = x1 * c - x2 * s;
      out[i2] = x2 * c + x1 * s;
    }
  }
  return cpuTensor(out, x.shape);
}

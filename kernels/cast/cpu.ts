/** CPU reference for `cast`: f32 ↔ f16 (f16 held as bits; see tensor/f16.ts). */
import type { OpInputs, OpParams } from '../backend/ops';
import { f16ToF32Array, f32ToF16Array } from '../tensor/f16';
import { cpuTensor, cpuToDense, type Tensor } from '../tensor/tensor';

export function castCpu([x]: OpInputs<'cast'>, { dtype }: OpParams<'cast'>): Tensor {
  if (x.dtype !== 'f32' && x.dtype !== 'f16')
    throw new TypeError(`cast needs f32 or f16, not ${x.dtype}`);
  const data = cpuToDense(x);
  if (x.dtype === dtype) return cpuTensor(data.slice(), x.shape);
  return cpuTensor(
    dtype === 'f16' ? f32ToF16Array(data) : f16ToF32Array(data as Uint16Array),
    x.shape,
  );
}

/** An f16 CPU tensor as f32 (exact); other tensors unchanged. */
export function widenF16(t: Tensor): Tensor {
  return t.dtype === 'f16' ? castCpu([t], { dtype: 'f32' }) : t;
}

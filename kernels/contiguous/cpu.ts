/** CPU reference: materialise any view (transpose, permute, slice, broadcast) densely. */
import type { OpInputs } from '../backend/ops';
import { cpuTensor, cpuToDense, type Tensor } from '../tensor/tensor';

export function contiguousCpu([x]: OpInputs<'contiguous'>): Tensor {
  return cpuTensor(cpuToDense(x).slice(), x.shape);
}

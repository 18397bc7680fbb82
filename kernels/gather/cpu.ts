/** CPU reference: embedding gather. table [V, D], ids i32 [...] → [..., D]. */
import type { OpInputs } from '../backend/ops';
import { cpuTensor, cpuToDense, type Tensor } from '../tensor/tensor';

export function gatherCpu([table, ids]: OpInputs<'gather'>): Tensor {
  if (ids.dtype !== 'i32' || table.shape.length !== 2) {
    throw new TypeError('gather needs a [V, D] table and i32 ids');
  }
  const [vocab, dim] = table.shape as [number, number];
  const t = cpuToDense(table);
  const idx = cpuToDense(ids);
  const out = new Float32Array(idx.length * dim);
  for (let i = 0; i < idx.length; i++) {
    const id = idx[i] as number;
    if (id < 0 || id >= vocab) throw new RangeError(`Token id ${id} is outside [0, ${vocab})`);
    out.set(t.subarray(id * dim, (id + 1) * dim), i * dim);
  }
  return cpuTensor(out, [...ids.shape, dim]);
}

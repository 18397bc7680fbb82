/** CPU reference: concatenation along one axis (KV-cache append, multi-part inputs). */
import type { OpInputs, OpParams } from '../backend/ops';
import { allocate } from '../tensor/dtype';
import { normalizeAxis, sizeOf } from '../tensor/shape';
import { cpuTensor, cpuToDense, type Tensor } from '../tensor/tensor';

/** The output shape of a concat; throws when the inputs disagree off the axis. */
export function concatShape(inputs: readonly Tensor[], axis: number): number[] {
  const first = inputs[0];
  if (!first) throw new RangeError('concat needs at least one input');
  const a = normalizeAxis(axis, first.shape.length);
  const shape = [...first.shape];
  shape[a] = 0;
  for (const t of inputs) {
    if (t.dtype !== first.dtype || t.shape.length !== shape.length) {
      throw new RangeError('concat inputs differ in dtype or rank');
    }
    t.shape.forEach((d, i) => {
      if (i !== a && d !== shape[i]) throw new RangeError(`concat inputs differ on axis ${i}`);
    });
    shape[a] = (shape[a] as number) + (t.shape[a] as number);
  }
  return shape;
}

export function concatCpu(inputs: OpInputs<'concat'>, { axis }: OpParams<'concat'>): Tensor {
  const shape = concatShape(inputs, axis);
  const a = normalizeAxis(axis, shape.length);
  const outer = sizeOf(shape.slice(0, a));
  const inner = sizeOf(shape.slice(a + 1));
  const out = allocate((inputs[0] as Tensor).dtype, sizeOf(shape));
  const rowOut = (shape[a] as number) * inner;
  let at = 0;
  for (const t of inputs) {
    const src = cpuToDense(t);
    const row = (t.shape[a] as number) * inner;
    for (let o = 0; o < outer; o++) out.set(src.subarray(o * row, (o + 1) * row), o * rowOut + at);
    at += row;
  }
  return cpuTensor(out, shape);
}

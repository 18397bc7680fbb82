/** WebGPU concat: one strided copy per input into its slice of the output. */
import type { OpInputs, OpParams } from '../backend/ops';
import { copyInto } from '../contiguous/webgpu';
import { normalizeAxis } from '../tensor/shape';
import { slice, type Tensor } from '../tensor/tensor';
import type { GpuContext } from '../webgpu/context';
import { bufferOf, emptyGpu } from '../webgpu/tensor';
import { concatShape } from './cpu';

export function concatGpu(
  ctx: GpuContext,
  inputs: OpInputs<'concat'>,
  { axis }: OpParams<'concat'>,
): Tensor {
  const shape = concatShape(inputs, axis);
  const a = normalizeAxis(axis, shape.length);
  const out = emptyGpu(ctx, (inputs[0] as Tensor).dtype, shape);
  const outBuffer = bufferOf(ctx, out);
  let at = 0;
  for (const x of inputs) {
    const size = x.shape[a] as number;
    if (size > 0) copyInto(ctx, x, outBuffer, slice(out, a, at, at + size));
    at += size;
  }
  return out;
}

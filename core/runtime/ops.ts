/**
 * The ops a host runtime can run, keyed by name. Each takes validated wire tensors and returns
 * wire tensors whose buffers are fresh (safe to transfer back).
 */
import { matmulCpu } from '../../kernels/matmul/cpu';
import { InvalidParamsError } from '../protocol/errors';
import type { RunRequest } from '../protocol/host';
import { float32Tensor, type WireTensor } from '../protocol/tensor';

type OpName = RunRequest['op'];
type OpFn = (inputs: Record<string, WireTensor>) => Record<string, WireTensor>;

function input(inputs: Record<string, WireTensor>, name: string): WireTensor {
  const t = inputs[name];
  if (!t) throw new InvalidParamsError(`Missing input "${name}"`);
  return t;
}

export const OPS: Record<OpName, OpFn> = {
  matmul(inputs) {
    const a = input(inputs, 'a');
    const b = input(inputs, 'b');
    const [m, k] = a.shape as [number, number];
    const n = b.shape[1] as number;
    const c = matmulCpu(new Float32Array(a.data), new Float32Array(b.data), m, k, n);
    return { c: float32Tensor(c, [m, n]) };
  },
};

export const OP_NAMES = Object.keys(OPS) as OpName[];

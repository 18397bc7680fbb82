/**
 * CPU reference for the matmul op: batched, broadcast batch axes, transposes, bias and a fused
 * activation, on top of the plain 2-D `matmulCpu`.
 */
import type { OpInputs, OpParams } from '../backend/ops';
import { broadcastShapes, sizeOf } from '../tensor/shape';
import { broadcastTo, cpuTensor, cpuToDense, type Tensor, transpose } from '../tensor/tensor';
import { applyUnary } from '../unary/cpu';
import { matmulCpu } from './cpu';

export interface MatmulDims {
  batchShape: number[];
  m: number;
  k: number;
  n: number;
}

/** Checks shapes and returns the batch shape and M, K, N (after transposes). */
export function matmulDims(inputs: OpInputs<'matmul'>, p: OpParams<'matmul'>): MatmulDims {
  const [a, b, bias] = inputs;
  if (a.shape.length < 2 || b.shape.length < 2) throw new RangeError('matmul needs rank ≥ 2');
  const float = (d: string) => d === 'f32' || d === 'f16';
  if (!float(a.dtype) || !float(b.dtype)) throw new TypeError('matmul needs f32 or f16 operands');
  const [a0, a1] = a.shape.slice(-2) as [number, number];
  const [b0, b1] = b.shape.slice(-2) as [number, number];
  const [m, k] = p.transA ? [a1, a0] : [a0, a1];
  const [kb, n] = p.transB ? [b1, b0] : [b0, b1];
  if (k !== kb) {
    throw new RangeError(
      `matmul inner sizes differ: [${a.shape.join(', ')}] · [${b.shape.join(', ')}]`,
    );
  }
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== n))
    throw new RangeError('bias must be [N]');
  const batchShape = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  return { batchShape, m, k, n };
}

export function matmulOpCpu(inputs: OpInputs<'matmul'>, p: OpParams<'matmul'>): Tensor {
  const [a, b, bias] = inputs;
  const { batchShape, m, k, n } = matmulDims(inputs, p);
  const av = p.transA ? transpose(a) : a;
  const bv = p.transB ? transpose(b) : b;
  const ad = cpuToDense(broadcastTo(av, [...batchShape, m, k]));
  const bd = cpuToDense(broadcastTo(bv, [...batchShape, k, n]));
  const biasData = bias ? cpuToDense(bias) : null;
  const batches = sizeOf(batchShape);
  const out = new Float32Array(batches * m * n);
  for (let i = 0; i < batches; i++) {
    const c = matmulCpu(
      ad.subarray(i * m * k, (i + 1) * m * k) as Float32Array,
      bd.subarray(i * k * n, (i + 1) * k * n) as Float32Array,
      m,
      k,
      n,
    );
    out.set(c, i * m * n);
  }
  const act = p.activation ?? 'none';
  if (biasData || act !== 'none') {
    for (let i = 0; i < out.length; i++) {
      out[i] = applyUnary(act, (out[i] as number) + (biasData ? (biasData[i % n] as number) : 0));
    }
  }
  return cpuTensor(out, [...batchShape, m, n]);
}

/**
 * CPU reference for `qmatmul`: y = act(x · dequant(W)ᵀ + bias) with W [N, K] block-quantized.
 * Per block it computes s·Σ u·x + m·Σ x, the same split the WGSL kernels use.
 */
import type { OpInputs, OpParams } from '../backend/ops';
import { cpuTensor, cpuToDense, type Tensor } from '../tensor/tensor';
import { applyUnary } from '../unary/cpu';
import { blockParams, getCode, paramsPerBlock, type QuantizedMatrix } from './format';

/** Checks qmatmul's inputs against its params; returns the rows of x (all leading axes). */
export function qmatmulDims(inputs: OpInputs<'qmatmul'>, p: OpParams<'qmatmul'>): number {
  const [x, packed, params, bias] = inputs;
  const { format: f, n, k } = p;
  if (x.dtype !== 'f32' || x.shape.length < 1 || x.shape[x.shape.length - 1] !== k)
    throw new RangeError(`qmatmul needs f32 x [..., ${k}]`);
  if (k % f.groupSize !== 0) throw new RangeError(`K = ${k} is not a multiple of ${f.groupSize}`);
  const words = (n * k * f.bits) / 32;
  if (packed.dtype !== 'i32' || packed.shape.reduce((a, b) => a * b, 1) !== words)
    throw new RangeError(`qmatmul packed weights must be ${words} i32 words`);
  const values = n * (k / f.groupSize) * paramsPerBlock(f);
  const want = f.scale === 'f32' ? values : Math.ceil(values / 2);
  const dtype = f.scale === 'f32' ? 'f32' : 'i32';
  if (params.dtype !== dtype || params.shape.reduce((a, b) => a * b, 1) !== want)
    throw new RangeError(`qmatmul block params must be ${want} ${dtype}`);
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== n))
    throw new RangeError('bias must be [N]');
  return x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
}

export function qmatmulCpu(inputs: OpInputs<'qmatmul'>, p: OpParams<'qmatmul'>): Tensor {
  const rows = qmatmulDims(inputs, p);
  const [x, packed, params, bias] = inputs;
  const { format: f, n, k } = p;
  const q: QuantizedMatrix = {
    format: f,
    n,
    k,
    packed: cpuToDense(packed) as Int32Array,
    params: cpuToDense(params) as Float32Array | Int32Array,
  };
  const xd = cpuToDense(x) as Float32Array;
  const biasData = bias ? cpuToDense(bias) : null;
  const g = f.groupSize;
  const blocks = k / g;
  // Σx per block of each row of x, shared by every output column.
  const xSums = new Float64Array(rows * blocks);
  for (let r = 0; r < rows; r++)
    for (let b = 0; b < blocks; b++) {
      let s = 0;
      for (let i = 0; i < g; i++) s += xd[r * k + b * g + i] as number;
      xSums[r * blocks + b] = s;
    }
  const codes = new Float32Array(k);
  const out = new Float32Array(rows * n);
  const act = p.activation ?? 'none';
  for (let col = 0; col < n; col++) {
    for (let c = 0; c < k; c++) codes[c] = getCode(q.packed, k, f, col, c);
    for (let b = 0; b < blocks; b++) {
      const [s, m] = blockParams(q, col * blocks + b);
      for (let r = 0; r < rows; r++) {
        let dot = 0;
        const xo = r * k + b * g;
        for (let i = 0; i < g; i++) dot += (codes[b * g + i] as number) * (xd[xo + i] as number);
        out[r * n + col] =
          (out[r * n + col] as number) + s * dot + m * (xSums[r * blocks + b] as number);
      }
    }
  }
  if (biasData || act !== 'none') {
    for (let i = 0; i < out.length; i++)
      out[i] = applyUnary(act, (out[i] as number) + (biasData ? (biasData[i % n] as number) : 0));
  }
  return cpuTensor(out, [...x.shape.slice(0, -1), n]);
}

/**
 * Our ops as WebNN graphs: each op becomes one small MLGraph with inputs `x0`, `x1`, … and one
 * output `y`, built from MLGraphBuilder operations. Ops with no exact WebNN form here (rotary,
 * convolutions, attention with per-batch key lengths) are not mapped: the backend says it does
 * not support them and the HAL runs them elsewhere.
 *
 * Decompositions (all in the input's float type):
 *   gelu-tanh  0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
 *   quick-gelu x·sigmoid(1.702·x);  silu  x·sigmoid(x)
 *   rmsNorm    x·γ / sqrt(mean(x², last axis) + ε)
 *   attention  softmax(q·kᵀ·scale + causal mask)·v, query heads grouped per KV head by a
 *              reshape (GQA), the mask a constant built from the shapes.
 */
import type { Activation, OpName, OpParams, UnaryFn } from '../backend/ops';
import type { DType } from '../tensor/dtype';
import type { MLGraphBuilderLike, MLOperand, MLOperandDataType } from './types';

export const ML_TYPE: Record<DType, MLOperandDataType> = {
  f32: 'float32',
  f16: 'float16',
  i32: 'int32',
};

export interface OperandSpec {
  dtype: DType;
  shape: readonly number[];
}

/** Thrown while mapping when an op or a parameter has no WebNN form here. */
export class NotMappedError extends Error {}

export const MAPPED_OPS: ReadonlySet<OpName> = new Set<OpName>([
  'matmul',
  'softmax',
  'layerNorm',
  'rmsNorm',
  'unary',
  'binary',
  'gather',
  'attention',
  'contiguous',
  'concat',
  'argmax',
  'cast',
]);

/** A scalar constant broadcast against f32 operands (f16 inputs are widened on entry). */
function scalar(b: MLGraphBuilderLike, dtype: DType, value: number): MLOperand {
  if (dtype !== 'f32') throw new NotMappedError(`no ${dtype} scalar constants: not mapped`);
  return b.constant({ dataType: 'float32', shape: [] }, Float32Array.of(value));
}

function activation(
  b: MLGraphBuilderLike,
  fn: Activation | UnaryFn,
  x: MLOperand,
  dtype: DType,
): MLOperand {
  switch (fn) {
    case 'none':
    case 'identity':
      return x;
    case 'relu':
      return b.relu(x);
    case 'gelu':
      return b.gelu(x);
    case 'sigmoid':
      return b.sigmoid(x);
    case 'tanh':
      return b.tanh(x);
    case 'exp':
      return b.exp(x);
    case 'neg':
      return b.neg(x);
    case 'silu':
      return b.mul(x, b.sigmoid(x));
    case 'quick-gelu':
      return b.mul(x, b.sigmoid(b.mul(x, scalar(b, dtype, 1.702))));
    case 'gelu-tanh': {
      const cube = b.mul(b.mul(x, x), x);
      const inner = b.mul(
        b.add(x, b.mul(cube, scalar(b, dtype, 0.044715))),
        scalar(b, dtype, Math.sqrt(2 / Math.PI)),
      );
      return b.mul(b.mul(x, scalar(b, dtype, 0.5)), b.add(scalar(b, dtype, 1), b.tanh(inner)));
    }
    default:
      throw new NotMappedError(`activation ${String(fn)} is not mapped`);
  }
}

/** Swaps the last two axes. */
function transposeLast(b: MLGraphBuilderLike, x: MLOperand): MLOperand {
  const rank = x.shape.length;
  const permutation = [...Array(rank).keys()];
  permutation[rank - 2] = rank - 1;
  permutation[rank - 1] = rank - 2;
  return b.transpose(x, { permutation });
}

/** The attention mask for causal queries: 0 where query i (at Skv - Sq + i) sees key j, else -1e30. */
function causalMask(rows: number, seqQ: number, seqKv: number): Float32Array {
  const mask = new Float32Array(rows * seqKv);
  for (let r = 0; r < rows; r++) {
    const pos = seqKv - seqQ + (r % seqQ);
    for (let j = pos + 1; j < seqKv; j++) mask[r * seqKv + j] = -1e30;
  }
  return mask;
}

/**
 * Builds op `op` on `b` over inputs `x0…`; returns the output operand. Throws NotMappedError
 * when the op or its parameters have no mapping.
 */
export function mapOp<K extends OpName>(
  b: MLGraphBuilderLike,
  op: K,
  specs: readonly OperandSpec[],
  params: OpParams<K>,
): MLOperand {
  if (!MAPPED_OPS.has(op)) throw new NotMappedError(`${op} is not mapped to WebNN`);
  // f16 inputs are widened at the graph's entry (but for `cast`): our ops compute f16 operands
  // in f32 and return f32, as the CPU reference does; WebNN's float16 ops would round each step.
  const x = specs.map((s, i) => {
    const input = b.input(`x${i}`, { dataType: ML_TYPE[s.dtype], shape: [...s.shape] });
    return s.dtype === 'f16' && op !== 'cast' ? b.cast(input, 'float32') : input;
  });
  const first = x[0] as MLOperand;
  const dtype: DType =
    first.dataType === 'float16' ? 'f16' : first.dataType === 'int32' ? 'i32' : 'f32';
  const last = first.shape.length - 1;
  switch (op) {
    case 'matmul': {
      const p = params as OpParams<'matmul'>;
      const [a, w, bias] = x as [MLOperand, MLOperand, MLOperand | undefined];
      let y = b.matmul(p.transA ? transposeLast(b, a) : a, p.transB ? transposeLast(b, w) : w);
      if (bias) y = b.add(y, bias);
      return activation(b, p.activation ?? 'none', y, dtype);
    }
    case 'softmax':
      return b.softmax(first, last);
    case 'layerNorm': {
      const p = params as OpParams<'layerNorm'>;
      return b.layerNormalization(first, {
        scale: x[1],
        bias: x[2],
        axes: [last],
        epsilon: p.eps,
      });
    }
    case 'rmsNorm': {
      const p = params as OpParams<'rmsNorm'>;
      const meanSquare = b.reduceMean(b.mul(first, first), { axes: [last], keepDimensions: true });
      const rms = b.sqrt(b.add(meanSquare, scalar(b, dtype, p.eps)));
      return b.mul(b.div(first, rms), x[1] as MLOperand);
    }
    // Elementwise ops on f16 inputs only return f16, as on the other backends.
    case 'unary': {
      const y = activation(b, (params as OpParams<'unary'>).fn, first, dtype);
      return specs[0]?.dtype === 'f16' ? b.cast(y, 'float16') : y;
    }
    case 'binary': {
      const fn = (params as OpParams<'binary'>).fn;
      const [l, r] = x as [MLOperand, MLOperand];
      const y = b[fn](l, r);
      return specs.every((s) => s.dtype === 'f16') ? b.cast(y, 'float16') : y;
    }
    case 'gather':
      return b.gather(first, x[1] as MLOperand, { axis: 0 });
    case 'contiguous':
      return b.identity(first);
    case 'concat':
      return b.concat(x, (params as OpParams<'concat'>).axis);
    case 'argmax':
      return b.argMax(first, last, { keepDimensions: false, outputDataType: 'int32' });
    case 'cast':
      return b.cast(first, ML_TYPE[(params as OpParams<'cast'>).dtype]);
    case 'attention': {
      const p = params as OpParams<'attention'>;
      if (x.length !== 3) throw new NotMappedError('attention with key lengths is not mapped');
      const [q, k, v] = x as [MLOperand, MLOperand, MLOperand];
      const [batch, heads, seqQ, dim] = q.shape as [number, number, number, number];
      const [, kvHeads, seqKv] = k.shape as [number, number, number, number];
      const group = heads / kvHeads;
      // Query heads h·group … h·group + group - 1 read KV head h: fold them into the rows.
      const rows = group * seqQ;
      const qg = b.reshape(q, [batch, kvHeads, rows, dim]);
      let scores = b.mul(
        b.matmul(qg, transposeLast(b, k)),
        scalar(b, dtype, p.scale ?? 1 / Math.sqrt(dim)),
      );
      if (p.causal) {
        const mask = b.constant(
          { dataType: 'float32', shape: [rows, seqKv] },
          causalMask(rows, seqQ, seqKv),
        );
        scores = b.add(scores, mask);
      }
      const out = b.matmul(b.softmax(scores, 3), v);
      return b.reshape(out, [batch, heads, seqQ, dim]);
    }
    default:
      throw new NotMappedError(`${op} is not mapped to WebNN`);
  }
}

/** The graph-cache key: op, its params, and every input's dtype and shape. */
export function graphKey(op: OpName, specs: readonly OperandSpec[], params: unknown): string {
  const ins = specs.map((s) => `${s.dtype}[${s.shape.join(',')}]`).join(' ');
  return `${op} ${JSON.stringify(params)} ${ins}`;
}

/**
 * A CPU reading of the WebNN spec's operations, for tests on machines whose browser cannot
 * create a WebNN context (this one): `SpecReferenceBuilder` checks each call's arguments and
 * computes output shapes by the spec's rules (bidirectional broadcasting, matmul batch
 * broadcasting, gather/argMax/reduce shapes) and evaluates graphs in f64; `referenceContext`
 * (reference-context.ts) runs them behind the MLContext tensor calls. It is NOT WebNN: it tells whether our op
 * mapping asks the spec's ops for the right thing, not how a browser's WebNN behaves.
 */
import { f16ToF32Array, f32ToF16Array } from '../tensor/f16';
import { applyUnary } from '../unary/cpu';
import type {
  MLGraph,
  MLGraphBuilderLike,
  MLOperand,
  MLOperandDataType,
  MLOperandDescriptor,
} from './types';

export type Values = Float64Array;
export type Env = Map<string, Values>;

export class RefOperand implements MLOperand {
  constructor(
    readonly dataType: MLOperandDataType,
    readonly shape: readonly number[],
    readonly evaluate: (env: Env) => Values,
  ) {}
}

export const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const fail = (msg: string): never => {
  throw new TypeError(msg);
};
const strides = (s: readonly number[]) => {
  const out = new Array<number>(s.length).fill(1);
  for (let i = s.length - 2; i >= 0; i--) out[i] = (out[i + 1] as number) * (s[i + 1] as number);
  return out;
};

/** The spec's bidirectional broadcast of two shapes (TypeError when incompatible). */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, i) => {
    const x = a[i - rank + a.length] ?? 1;
    const y = b[i - rank + b.length] ?? 1;
    if (x !== y && x !== 1 && y !== 1) fail(`shapes [${a}] and [${b}] do not broadcast`);
    return Math.max(x, y);
  });
}

/** For each flat index of `out`, the flat index of `from` broadcast to it. */
function broadcastMap(from: readonly number[], out: readonly number[]): Int32Array {
  const map = new Int32Array(size(out));
  const fs = strides(from);
  const lead = out.length - from.length;
  const os = strides(out);
  for (let i = 0; i < map.length; i++) {
    let at = 0;
    for (let d = 0; d < from.length; d++) {
      const coord = Math.floor(i / (os[d + lead] as number)) % (out[d + lead] as number);
      if ((from[d] as number) !== 1) at += coord * (fs[d] as number);
    }
    map[i] = at;
  }
  return map;
}

const round = (type: MLOperandDataType, v: Values): Values => {
  if (type === 'float32') return Float64Array.from(Float32Array.from(v));
  if (type === 'float16') return Float64Array.from(f16ToF32Array(f32ToF16Array(v)));
  if (type === 'int32') return v.map((x) => Math.trunc(x) | 0);
  return v;
};

export class SpecReferenceBuilder implements MLGraphBuilderLike {
  private readonly names = new Set<string>();

  private elementwise(x: MLOperand, f: (v: number) => number): MLOperand {
    const a = x as RefOperand;
    if (a.dataType !== 'float32' && a.dataType !== 'float16') fail('needs a float operand');
    return new RefOperand(a.dataType, a.shape, (env) => round(a.dataType, a.evaluate(env).map(f)));
  }

  private binary(x: MLOperand, y: MLOperand, f: (a: number, b: number) => number): MLOperand {
    const a = x as RefOperand;
    const b = y as RefOperand;
    if (a.dataType !== b.dataType) fail(`data types differ: ${a.dataType}, ${b.dataType}`);
    const shape = broadcastShape(a.shape, b.shape);
    const ma = broadcastMap(a.shape, shape);
    const mb = broadcastMap(b.shape, shape);
    return new RefOperand(a.dataType, shape, (env) => {
      const va = a.evaluate(env);
      const vb = b.evaluate(env);
      const out = new Float64Array(size(shape));
      for (let i = 0; i < out.length; i++)
        out[i] = f(va[ma[i] as number] as number, vb[mb[i] as number] as number);
      return round(a.dataType, out);
    });
  }

  input(name: string, d: MLOperandDescriptor): MLOperand {
    if (this.names.has(name)) fail(`input ${name} declared twice`);
    this.names.add(name);
    return new RefOperand(
      d.dataType,
      d.shape,
      (env) => env.get(name) ?? fail(`no value for ${name}`),
    );
  }
  constant(d: MLOperandDescriptor, buffer: ArrayBufferView): MLOperand {
    const values = Float64Array.from(buffer as unknown as ArrayLike<number>);
    if (values.length !== size(d.shape)) fail('constant buffer does not match its shape');
    return new RefOperand(d.dataType, d.shape, () => values);
  }
  matmul(x: MLOperand, y: MLOperand): MLOperand {
    const a = x as RefOperand;
    const b = y as RefOperand;
    if (a.shape.length < 2 || b.shape.length < 2) fail('matmul needs rank ≥ 2');
    if (a.dataType !== b.dataType) fail('matmul data types differ');
    const [m, k] = a.shape.slice(-2) as [number, number];
    const [kb, n] = b.shape.slice(-2) as [number, number];
    if (k !== kb) fail(`matmul inner sizes ${k} ≠ ${kb}`);
    const batch = broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    const ba = broadcastMap(a.shape.slice(0, -2), batch);
    const bb = broadcastMap(b.shape.slice(0, -2), batch);
    const shape = [...batch, m, n];
    return new RefOperand(a.dataType, shape, (env) => {
      const va = a.evaluate(env);
      const vb = b.evaluate(env);
      const out = new Float64Array(size(shape));
      for (let t = 0; t < size(batch); t++)
        for (let i = 0; i < m; i++)
          for (let j = 0; j < n; j++) {
            let acc = 0;
            for (let p = 0; p < k; p++)
              acc +=
                (va[(ba[t] as number) * m * k + i * k + p] as number) *
                (vb[(bb[t] as number) * k * n + p * n + j] as number);
            out[(t * m + i) * n + j] = acc;
          }
      return round(a.dataType, out);
    });
  }
  add = (a: MLOperand, b: MLOperand) => this.binary(a, b, (x, y) => x + y);
  sub = (a: MLOperand, b: MLOperand) => this.binary(a, b, (x, y) => x - y);
  mul = (a: MLOperand, b: MLOperand) => this.binary(a, b, (x, y) => x * y);
  div = (a: MLOperand, b: MLOperand) => this.binary(a, b, (x, y) => x / y);
  max = (a: MLOperand, b: MLOperand) => this.binary(a, b, Math.max);
  min = (a: MLOperand, b: MLOperand) => this.binary(a, b, Math.min);
  relu = (x: MLOperand) => this.elementwise(x, (v) => Math.max(v, 0));
  gelu = (x: MLOperand) => this.elementwise(x, (v) => applyUnary('gelu', v));
  sigmoid = (x: MLOperand) => this.elementwise(x, (v) => 1 / (1 + Math.exp(-v)));
  tanh = (x: MLOperand) => this.elementwise(x, Math.tanh);
  exp = (x: MLOperand) => this.elementwise(x, Math.exp);
  neg = (x: MLOperand) => this.elementwise(x, (v) => -v);
  sqrt = (x: MLOperand) => this.elementwise(x, Math.sqrt);
  identity(x: MLOperand): MLOperand {
    const a = x as RefOperand;
    return new RefOperand(a.dataType, a.shape, a.evaluate);
  }
  /** Shared by softmax, reduceMean, layerNormalization, argMax: rows along one inner axis. */
  private alongAxis(a: RefOperand, axis: number) {
    if (!Number.isInteger(axis) || axis < 0 || axis >= a.shape.length)
      fail(`axis ${axis} out of range`);
    const len = a.shape[axis] as number;
    const inner = size(a.shape.slice(axis + 1));
    const outer = size(a.shape.slice(0, axis));
    return {
      len,
      inner,
      outer,
      at: (o: number, i: number, j: number) => (o * len + j) * inner + i,
    };
  }
  softmax(x: MLOperand, axis: number): MLOperand {
    const a = x as RefOperand;
    const { len, inner, outer, at } = this.alongAxis(a, axis);
    return new RefOperand(a.dataType, a.shape, (env) => {
      const v = a.evaluate(env);
      const out = new Float64Array(v.length);
      for (let o = 0; o < outer; o++)
        for (let i = 0; i < inner; i++) {
          let top = Number.NEGATIVE_INFINITY;
          for (let j = 0; j < len; j++) top = Math.max(top, v[at(o, i, j)] as number);
          let sum = 0;
          for (let j = 0; j < len; j++) sum += Math.exp((v[at(o, i, j)] as number) - top);
          for (let j = 0; j < len; j++)
            out[at(o, i, j)] = Math.exp((v[at(o, i, j)] as number) - top) / sum;
        }
      return round(a.dataType, out);
    });
  }
  reduceMean(x: MLOperand, o: { axes?: number[]; keepDimensions?: boolean }): MLOperand {
    const a = x as RefOperand;
    const axes = o.axes ?? [...a.shape.keys()];
    if (axes.length !== 1) fail('this reference reduces one axis');
    const { len, inner, outer, at } = this.alongAxis(a, axes[0] as number);
    const kept = a.shape.map((d, i) => (i === axes[0] ? 1 : d));
    const shape = o.keepDimensions ? kept : kept.filter((_, i) => i !== axes[0]);
    return new RefOperand(a.dataType, shape, (env) => {
      const v = a.evaluate(env);
      const out = new Float64Array(outer * inner);
      for (let q = 0; q < outer; q++)
        for (let i = 0; i < inner; i++) {
          let sum = 0;
          for (let j = 0; j < len; j++) sum += v[at(q, i, j)] as number;
          out[q * inner + i] = sum / len;
        }
      return round(a.dataType, out);
    });
  }
  layerNormalization(
    x: MLOperand,
    o: { scale?: MLOperand; bias?: MLOperand; axes?: number[]; epsilon?: number },
  ): MLOperand {
    const a = x as RefOperand;
    const axes = o.axes ?? [...a.shape.keys()].slice(1);
    if (axes.length !== 1 || axes[0] !== a.shape.length - 1)
      fail('this reference normalizes the last axis');
    const len = a.shape[a.shape.length - 1] as number;
    for (const p of [o.scale, o.bias] as (RefOperand | undefined)[])
      if (p && (p.shape.length !== 1 || p.shape[0] !== len)) fail('scale/bias must match the axes');
    const eps = o.epsilon ?? 1e-5;
    return new RefOperand(a.dataType, a.shape, (env) => {
      const v = a.evaluate(env);
      const g = (o.scale as RefOperand | undefined)?.evaluate(env);
      const b = (o.bias as RefOperand | undefined)?.evaluate(env);
      const out = new Float64Array(v.length);
      for (let r = 0; r < v.length / len; r++) {
        let mean = 0;
        for (let j = 0; j < len; j++) mean += v[r * len + j] as number;
        mean /= len;
        let vari = 0;
        for (let j = 0; j < len; j++) vari += ((v[r * len + j] as number) - mean) ** 2;
        const inv = 1 / Math.sqrt(vari / len + eps);
        for (let j = 0; j < len; j++)
          out[r * len + j] =
            ((v[r * len + j] as number) - mean) * inv * (g ? (g[j] as number) : 1) +
            (b ? (b[j] as number) : 0);
      }
      return round(a.dataType, out);
    });
  }
  reshape(x: MLOperand, newShape: number[]): MLOperand {
    const a = x as RefOperand;
    if (size(newShape) !== size(a.shape)) fail(`cannot reshape [${a.shape}] to [${newShape}]`);
    return new RefOperand(a.dataType, newShape, a.evaluate);
  }
  transpose(x: MLOperand, o: { permutation?: number[] }): MLOperand {
    const a = x as RefOperand;
    const perm = o.permutation ?? [...a.shape.keys()].reverse();
    if ([...perm].sort().join() !== [...a.shape.keys()].join()) fail('not a permutation');
    const shape = perm.map((p) => a.shape[p] as number);
    const inStrides = strides(a.shape);
    const outStrides = strides(shape);
    return new RefOperand(a.dataType, shape, (env) => {
      const v = a.evaluate(env);
      const out = new Float64Array(v.length);
      for (let i = 0; i < out.length; i++) {
        let at = 0;
        for (let d = 0; d < shape.length; d++)
          at +=
            (Math.floor(i / (outStrides[d] as number)) % (shape[d] as number)) *
            (inStrides[perm[d] as number] as number);
        out[i] = v[at] as number;
      }
      return out;
    });
  }
  gather(x: MLOperand, indices: MLOperand, o: { axis?: number }): MLOperand {
    const a = x as RefOperand;
    const ids = indices as RefOperand;
    if (!['int32', 'uint32', 'int64'].includes(ids.dataType))
      fail('gather indices must be integers');
    const axis = o.axis ?? 0;
    if (axis !== 0) fail('this reference gathers along axis 0');
    const row = size(a.shape.slice(1));
    const shape = [...ids.shape, ...a.shape.slice(1)];
    return new RefOperand(a.dataType, shape, (env) => {
      const v = a.evaluate(env);
      const idx = ids.evaluate(env);
      const out = new Float64Array(size(shape));
      idx.forEach((id, i) => {
        if (id < 0 || id >= (a.shape[0] as number)) fail(`index ${id} out of range`);
        out.set(v.subarray(id * row, (id + 1) * row), i * row);
      });
      return out;
    });
  }
  concat(inputs: MLOperand[], axis: number): MLOperand {
    const ins = inputs as RefOperand[];
    const first = ins[0] ?? fail('concat needs inputs');
    const shape = [...first.shape];
    shape[axis] = ins.reduce((s, t) => s + (t.shape[axis] as number), 0);
    for (const t of ins)
      if (
        t.shape.length !== first.shape.length ||
        t.shape.some((d, i) => i !== axis && d !== first.shape[i])
      )
        fail('concat shapes differ off the axis');
    const outer = size(shape.slice(0, axis));
    const inner = size(shape.slice(axis + 1));
    return new RefOperand(first.dataType, shape, (env) => {
      const out = new Float64Array(size(shape));
      let offset = 0;
      for (const t of ins) {
        const v = t.evaluate(env);
        const w = (t.shape[axis] as number) * inner;
        for (let o = 0; o < outer; o++)
          out.set(v.subarray(o * w, (o + 1) * w), o * (shape[axis] as number) * inner + offset);
        offset += w;
      }
      return out;
    });
  }
  argMax(
    x: MLOperand,
    axis: number,
    o: { keepDimensions?: boolean; outputDataType?: MLOperandDataType },
  ): MLOperand {
    const a = x as RefOperand;
    const { len, inner, outer, at } = this.alongAxis(a, axis);
    const shape = o.keepDimensions
      ? a.shape.map((d, i) => (i === axis ? 1 : d))
      : a.shape.filter((_, i) => i !== axis);
    return new RefOperand(o.outputDataType ?? 'int32', shape, (env) => {
      const v = a.evaluate(env);
      const out = new Float64Array(outer * inner);
      for (let q = 0; q < outer; q++)
        for (let i = 0; i < inner; i++) {
          let best = 0;
          for (let j = 1; j < len; j++)
            if ((v[at(q, i, j)] as number) > (v[at(q, i, best)] as number)) best = j;
          out[q * inner + i] = best;
        }
      return out;
    });
  }
  cast(x: MLOperand, dataType: MLOperandDataType): MLOperand {
    const a = x as RefOperand;
    return new RefOperand(dataType, a.shape, (env) => round(dataType, a.evaluate(env)));
  }
  async build(outputs: Record<string, MLOperand>): Promise<MLGraph> {
    if (Object.keys(outputs).length === 0) fail('build needs an output');
    return { outputs };
  }
}

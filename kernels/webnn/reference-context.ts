/**
 * The MLContext tensor calls (createTensor, writeTensor, dispatch, readTensor) over graphs
 * built by SpecReferenceBuilder (reference.ts), for tests of the WebNN backend where no
 * browser context exists. Not WebNN: see reference.ts.
 */
import { f16ToF32Array, f32ToF16Array } from '../tensor/f16';
import { type Env, type RefOperand, size, type Values } from './reference';
import type { MLContext, MLGraph, MLOperandDataType, MLOperandDescriptor, MLTensor } from './types';

/** Feeds (f16 as bits) → values; values → the output's typed array (f16 as bits). */
const toValues = (type: MLOperandDataType, data: ArrayBufferView): Values =>
  type === 'float16'
    ? Float64Array.from(f16ToF32Array(data as Uint16Array))
    : Float64Array.from(data as unknown as ArrayLike<number>);
const fromValues = (type: MLOperandDataType, v: Values): ArrayBuffer =>
  (type === 'float16'
    ? f32ToF16Array(v)
    : type === 'int32'
      ? Int32Array.from(v)
      : Float32Array.from(v)
  ).buffer as ArrayBuffer;

/** Evaluates a graph built by SpecReferenceBuilder on named inputs. */
export function evaluateGraph(
  graph: MLGraph,
  feeds: Record<string, { type: MLOperandDataType; data: ArrayBufferView }>,
): Record<string, ArrayBuffer> {
  const env: Env = new Map(Object.entries(feeds).map(([k, f]) => [k, toValues(f.type, f.data)]));
  const outputs = (graph as { outputs: Record<string, RefOperand> }).outputs;
  return Object.fromEntries(
    Object.entries(outputs).map(([k, o]) => [k, fromValues(o.dataType, o.evaluate(env))]),
  );
}

/** The MLContext tensor calls over the reference graphs (see the file comment: not WebNN). */
export function referenceContext(): MLContext & { destroyed: number } {
  const data = new WeakMap<MLTensor, ArrayBufferView>();
  const ctx = {
    destroyed: 0,
    async createTensor(
      d: MLOperandDescriptor & { readable?: boolean; writable?: boolean },
    ): Promise<MLTensor> {
      const t: MLTensor = {
        dataType: d.dataType,
        shape: [...d.shape],
        destroy: () => void ctx.destroyed++,
      };
      data.set(t, new Uint8Array(size(d.shape) * (d.dataType === 'float16' ? 2 : 4)));
      return t;
    },
    writeTensor(t: MLTensor, source: ArrayBufferView | ArrayBuffer) {
      const bytes =
        source instanceof ArrayBuffer
          ? new Uint8Array(source)
          : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
      data.set(t, bytes.slice());
    },
    dispatch(graph: MLGraph, inputs: Record<string, MLTensor>, outputs: Record<string, MLTensor>) {
      const view = (t: MLTensor) => {
        const b = data.get(t) as Uint8Array;
        const buf = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
        return t.dataType === 'float16'
          ? new Uint16Array(buf)
          : t.dataType === 'int32'
            ? new Int32Array(buf)
            : new Float32Array(buf);
      };
      const feeds = Object.fromEntries(
        Object.entries(inputs).map(([k, t]) => [k, { type: t.dataType, data: view(t) }]),
      );
      const results = evaluateGraph(graph, feeds);
      for (const [k, t] of Object.entries(outputs))
        data.set(t, new Uint8Array(results[k] as ArrayBuffer));
    },
    async readTensor(t: MLTensor): Promise<ArrayBuffer> {
      const b = data.get(t) as Uint8Array;
      return b.slice().buffer;
    },
  };
  return ctx;
}

/**
 * The WebNN backend: each op runs as a small compiled MLGraph (ops.ts) on an MLContext, with
 * tensors kept as MLTensors between ops.
 *
 * WebNN's `createTensor` and `build` are asynchronous while our ops return at once, so an op
 * returns a tensor whose storage is the promise of its MLTensor: the promise waits for the
 * inputs' tensors and the (cached) graph, creates the output tensor and dispatches. Work is
 * thus queued in dependency order; `read` awaits the promise and `readTensor`s the result, and
 * an op's failure surfaces there (as KERNEL_FAILED). Graphs are cached by op, params, dtypes
 * and shapes: a model's repeated layers compile once.
 */
import { KernelFailedError } from '../../core/protocol/errors';
import type { Backend, BackendOps, OpName, OpParams } from '../backend/ops';
import type { DType } from '../tensor/dtype';
import { contiguousStrides, type Shape, sizeOf } from '../tensor/shape';
import { cpuTensor, cpuToDense, isDense, type Tensor } from '../tensor/tensor';
import { graphKey, MAPPED_OPS, ML_TYPE, mapOp, NotMappedError, type OperandSpec } from './ops';
import type {
  ML,
  MLContext,
  MLContextOptions,
  MLGraph,
  MLGraphBuilderLike,
  MLOperandDataType,
  MLTensor,
} from './types';

/** Makes the builder for a context: `new MLGraphBuilder(context)` in a browser. */
export type BuilderFactory = (context: MLContext) => MLGraphBuilderLike;

export interface WebnnBackend extends Backend {
  readonly context: MLContext;
  /** Compiled graphs by key (graphKey), with their output's type and shape. */
  readonly graphs: Map<string, GraphEntry>;
  /** Graph builds so far (a cache hit does not count). */
  readonly stats: { builds: number; dispatches: number };
}

export type WebnnResult =
  | { backend: WebnnBackend; error?: undefined }
  | { backend: null; error: string };

/**
 * Creates a context on `ml` (`navigator.ml`) and the backend over it; when the browser has no
 * WebNN or `createContext` fails (as Chromium does without a WebNN-capable device), returns
 * the browser's reason instead, and the HAL goes on without WebNN.
 */
export async function createWebnnBackend(
  ml: ML | null | undefined,
  options: MLContextOptions = {},
  builder: BuilderFactory = browserBuilder,
): Promise<WebnnResult> {
  if (!ml) return { backend: null, error: 'this browser has no navigator.ml' };
  let context: MLContext;
  try {
    context = await ml.createContext(options);
  } catch (e) {
    return {
      backend: null,
      error: `createContext failed: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`,
    };
  }
  return { backend: webnnBackendOn(context, builder) };
}

function browserBuilder(context: MLContext): MLGraphBuilderLike {
  const ctor = (globalThis as { MLGraphBuilder?: new (c: MLContext) => MLGraphBuilderLike })
    .MLGraphBuilder;
  if (!ctor) throw new TypeError('MLGraphBuilder is not defined in this global scope');
  return new ctor(context);
}

export interface GraphEntry {
  graph: Promise<MLGraph>;
  dataType: MLOperandDataType;
  shape: readonly number[];
}

type Storage = { backend: 'webnn'; tensor: Promise<MLTensor>; length: number; owner: object };

export function webnnBackendOn(
  context: MLContext,
  makeBuilder: BuilderFactory = browserBuilder,
): WebnnBackend {
  const graphs = new Map<string, GraphEntry>();
  const stats = { builds: 0, dispatches: 0 };
  const owner = {};

  const wrap = (dtype: DType, shape: Shape, tensor: Promise<MLTensor>): Tensor => {
    // A rejected output is reported by `read`; keep it from being an unhandled rejection too.
    tensor.catch(() => undefined);
    const storage: Storage = { backend: 'webnn', tensor, length: sizeOf(shape), owner };
    return { dtype, shape: [...shape], strides: contiguousStrides(shape), offset: 0, storage };
  };
  const tensorOf = (t: Tensor): Promise<MLTensor> => {
    if (t.storage.backend !== 'webnn' || t.storage.owner !== owner)
      throw new TypeError('Tensor is not on this WebNN context');
    return t.storage.tensor;
  };

  /** The cached graph for these inputs, mapped (synchronously: errors throw here) on a miss. */
  function entryFor(op: OpName, inputs: readonly Tensor[], params: unknown): GraphEntry {
    const specs: OperandSpec[] = inputs.map((t) => ({ dtype: t.dtype, shape: t.shape }));
    const key = graphKey(op, specs, params);
    let entry = graphs.get(key);
    if (!entry) {
      const b = makeBuilder(context);
      const y = mapOp(b, op, specs, params as OpParams<typeof op>);
      stats.builds++;
      const graph = b.build({ y });
      graph.catch(() => graphs.delete(key)); // a failed build is tried again next time
      entry = { graph, dataType: y.dataType, shape: [...y.shape] };
      graphs.set(key, entry);
    }
    return entry;
  }

  function run(op: OpName, inputs: Tensor[], params: unknown): Tensor {
    const entry = entryFor(op, inputs, params);
    const dtype: DType =
      entry.dataType === 'int32' ? 'i32' : entry.dataType === 'float16' ? 'f16' : 'f32';
    const ready = Promise.all(inputs.map(tensorOf));
    const out = (async () => {
      const [g, ins] = await Promise.all([entry.graph, ready]);
      const result = await context.createTensor({
        dataType: entry.dataType,
        shape: [...entry.shape],
        readable: true,
        writable: false,
      });
      context.dispatch(g, Object.fromEntries(ins.map((t, i) => [`x${i}`, t])), { y: result });
      stats.dispatches++;
      return result;
    })();
    return wrap(dtype, entry.shape, out);
  }

  const ops: BackendOps = {};
  for (const op of MAPPED_OPS) {
    (ops as Record<string, unknown>)[op] = (inputs: Tensor[], params: unknown) =>
      run(op, inputs, params);
  }

  return {
    name: 'webnn',
    context,
    graphs,
    stats,
    ops,
    supports(op, inputs, params) {
      if (!MAPPED_OPS.has(op) || !inputs.every(isDense)) return false;
      try {
        entryFor(op, inputs, params);
        return true;
      } catch (e) {
        // Not mapped, or shapes WebNN (or our mapping) rejects: another backend runs it.
        if (e instanceof NotMappedError || e instanceof TypeError || e instanceof RangeError)
          return false;
        throw e;
      }
    },
    upload(t) {
      const data = cpuToDense(t);
      const tensor = context
        .createTensor({
          dataType: ML_TYPE[t.dtype],
          shape: [...t.shape],
          readable: true,
          writable: true,
        })
        .then((mt) => {
          context.writeTensor(mt, data);
          return mt;
        });
      return wrap(t.dtype, t.shape, tensor);
    },
    async read(t) {
      let bytes: ArrayBuffer;
      try {
        bytes = await context.readTensor(await tensorOf(t));
      } catch (cause) {
        throw new KernelFailedError('A WebNN op or read failed', { cause });
      }
      const n = sizeOf(t.shape);
      const data =
        t.dtype === 'f32'
          ? new Float32Array(bytes, 0, n)
          : t.dtype === 'f16'
            ? new Uint16Array(bytes, 0, n)
            : new Int32Array(bytes, 0, n);
      return cpuTensor(data.slice(), t.shape);
    },
    dispose(t) {
      tensorOf(t).then(
        (mt) => mt.destroy(),
        () => undefined,
      );
    },
  };
}

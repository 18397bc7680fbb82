/**
 * The WebGPU backend: every op with a WGSL program. Ops only encode work; tensors stay in GPU
 * buffers between ops and come back only through `read`. Kernels that index flat memory get
 * dense inputs: a strided view is copied first (and the copy freed after the next submit).
 */
import { argmaxGpu } from '../argmax/webgpu';
import { attentionGpu, MAX_HEAD_DIM } from '../attention/webgpu';
import type { Backend, BackendOps, OpInputs, OpName, OpParams } from '../backend/ops';
import { binaryGpu } from '../binary/webgpu';
import { castGpu } from '../cast/webgpu';
import { concatGpu } from '../concat/webgpu';
import { contiguousGpu } from '../contiguous/webgpu';
import { conv1dGpu, conv2dGpu } from '../conv/webgpu';
import { gatherGpu } from '../gather/webgpu';
import { layerNormGpu } from '../layernorm/webgpu';
import { matmulDims } from '../matmul/op-cpu';
import type { MatmulShape, MatmulStrategy } from '../matmul/strategy';
import { batchStride, matmulGpu } from '../matmul/webgpu';
import { dequantizeRowsGpu, qmatmulGpu, quantizeRowsGpu } from '../quant/webgpu';
import { rmsNormGpu } from '../rmsnorm/webgpu';
import { rotaryGpu } from '../rotary/webgpu';
import { softmaxGpu } from '../softmax/webgpu';
import { BYTES_PER_ELEMENT } from '../tensor/dtype';
import { sizeOf } from '../tensor/shape';
import { broadcastTo, cpuTensor, isDense, numel, type Tensor } from '../tensor/tensor';
import { unaryGpu } from '../unary/webgpu';
import { assertAlive, type GpuContext, readBuffer, release } from './context';
import { bufferOf, uploadToGpu } from './tensor';

export interface WebGpuBackend extends Backend {
  readonly context: GpuContext;
  /** Matmul programs chosen so far on this adapter, by shape: for logs and benchmarks. */
  readonly matmulChoices: Map<string, MatmulStrategy>;
}

/** Ops whose every input may be any view; the others get dense inputs. */
const TAKES_VIEWS = new Set<OpName>(['unary', 'binary', 'contiguous', 'concat']);

export function createWebGpuBackend(ctx: GpuContext): WebGpuBackend {
  const matmulChoices = new Map<string, MatmulStrategy>();
  const temps: Tensor[] = [];

  const dense = (t: Tensor): Tensor => {
    if (isDense(t)) return t;
    const copy = contiguousGpu(ctx, [t]);
    temps.push(copy);
    return copy;
  };
  const freeTemps = () => {
    for (const t of temps.splice(0)) release(ctx, bufferOf(ctx, t));
  };
  /** Wraps an op: dense inputs where needed, temporaries freed once encoded. */
  function wrap<K extends OpName>(op: K, fn: (inputs: OpInputs<K>, params: OpParams<K>) => Tensor) {
    return (inputs: OpInputs<K>, params: OpParams<K>): Tensor => {
      assertAlive(ctx);
      try {
        const ready = (TAKES_VIEWS.has(op) ? inputs : inputs.map(dense)) as OpInputs<K>;
        return fn(ready, params);
      } finally {
        freeTemps();
      }
    };
  }

  const ops: BackendOps = {
    matmul: wrap('matmul', (inputs, p) => {
      const { batchShape, m, k, n } = matmulDims(inputs, p);
      const [a, b, bias] = inputs;
      // A batch axis that broadcasts partly (e.g. [2, 1] against [2, 3]) needs a real copy.
      const widen = (t: Tensor, rows: number, cols: number) => {
        if (batchStride(t, batchShape) !== null) return t;
        const copy = contiguousGpu(ctx, [broadcastTo(t, [...batchShape, rows, cols])]);
        temps.push(copy);
        return copy;
      };
      const [ar, ac] = p.transA ? [k, m] : [m, k];
      const [br, bc] = p.transB ? [n, k] : [k, n];
      const ins = [
        widen(a, ar, ac),
        widen(b, br, bc),
        ...(bias ? [bias] : []),
      ] as OpInputs<'matmul'>;
      return matmulGpu(ctx, ins, p, (s: MatmulShape, strategy) => {
        matmulChoices.set(
          `${s.batch}x${s.m}x${s.k}x${s.n}${s.transA ? 'tA' : ''}${s.transB ? 'tB' : ''}`,
          strategy,
        );
      });
    }),
    softmax: wrap('softmax', (inputs) => softmaxGpu(ctx, inputs)),
    layerNorm: wrap('layerNorm', (inputs, p) => layerNormGpu(ctx, inputs, p)),
    rmsNorm: wrap('rmsNorm', (inputs, p) => rmsNormGpu(ctx, inputs, p)),
    unary: wrap('unary', (inputs, p) => unaryGpu(ctx, inputs, p)),
    binary: wrap('binary', (inputs, p) => binaryGpu(ctx, inputs, p)),
    gather: wrap('gather', (inputs) => gatherGpu(ctx, inputs)),
    rotary: wrap('rotary', (inputs, p) => rotaryGpu(ctx, inputs, p)),
    attention: wrap('attention', (inputs, p) => attentionGpu(ctx, inputs, p)),
    conv1d: wrap('conv1d', (inputs, p) => conv1dGpu(ctx, inputs, p)),
    conv2d: wrap('conv2d', (inputs, p) => conv2dGpu(ctx, inputs, p)),
    contiguous: wrap('contiguous', (inputs) => contiguousGpu(ctx, inputs)),
    concat: wrap('concat', (inputs, p) => concatGpu(ctx, inputs, p)),
    argmax: wrap('argmax', (inputs) => argmaxGpu(ctx, inputs)),
    qmatmul: wrap('qmatmul', (inputs, p) => qmatmulGpu(ctx, inputs, p)),
    quantizeRows: wrap('quantizeRows', (inputs, p) => quantizeRowsGpu(ctx, inputs, p)),
    dequantizeRows: wrap('dequantizeRows', (inputs, p) => dequantizeRowsGpu(ctx, inputs, p)),
    cast: wrap('cast', (inputs, p) => castGpu(ctx, inputs, p)),
  };

  const maxBinding = ctx.caps.limits.maxStorageBufferBindingSize;
  const fitsBinding = (t: Tensor) => numel(t) * BYTES_PER_ELEMENT[t.dtype] <= maxBinding;

  return {
    name: 'webgpu',
    context: ctx,
    matmulChoices,
    ops,
    supports(op, inputs, params) {
      if (ctx.lost || !inputs.every(fitsBinding)) return false;
      const f32 = (t: Tensor | undefined) => t === undefined || t.dtype === 'f32';
      // f16 runs only where the adapter has shader-f16, and only dense: the view copies
      // (contiguous, concat) move 4-byte elements.
      const f16 = (t: Tensor | undefined) =>
        t !== undefined && t.dtype === 'f16' && ctx.caps.shaderF16 && isDense(t);
      const float = (t: Tensor | undefined) => f32(t) || f16(t);
      switch (op) {
        case 'gather':
          return f32(inputs[0]) && inputs[1]?.dtype === 'i32';
        case 'attention': {
          const [q, k, v, lengths] = inputs as OpInputs<'attention'>;
          const headDim = q.shape[3] ?? 0;
          const causalOk =
            !(params as OpParams<'attention'>).causal || (q.shape[2] ?? 0) <= (k.shape[2] ?? 0);
          return (
            [q, k, v].every(f32) &&
            (!lengths || lengths.dtype === 'i32') &&
            headDim <= MAX_HEAD_DIM &&
            causalOk
          );
        }
        case 'matmul': {
          const batch = sizeOf(
            (inputs[0] as Tensor).shape.length > (inputs[1] as Tensor).shape.length
              ? (inputs[0] as Tensor).shape.slice(0, -2)
              : (inputs[1] as Tensor).shape.slice(0, -2),
          );
          const [a, b, bias] = inputs as OpInputs<'matmul'>;
          // An f16 operand that broadcasts partly would need a (4-byte) copy first.
          const { batchShape } = matmulDims(
            inputs as OpInputs<'matmul'>,
            params as OpParams<'matmul'>,
          );
          const copyFree = (t: Tensor) => t.dtype !== 'f16' || batchStride(t, batchShape) !== null;
          return (
            copyFree(a) &&
            copyFree(b) &&
            float(a) &&
            float(b) &&
            f32(bias) &&
            batch <= ctx.caps.limits.maxComputeWorkgroupsPerDimension
          );
        }
        case 'cast':
          return ctx.caps.shaderF16 && float(inputs[0]);
        // f16 elementwise (any view: the program indexes elements, not bytes), computed in f32;
        // not exp, whose f16 result overflows past 11.
        case 'unary': {
          const x = inputs[0] as Tensor;
          const fn = (params as OpParams<'unary'>).fn;
          return f32(x) || (x.dtype === 'f16' && ctx.caps.shaderF16 && fn !== 'exp');
        }
        case 'binary': {
          const [a, b] = inputs as OpInputs<'binary'>;
          return (
            (f32(a) && f32(b)) || (a.dtype === 'f16' && b.dtype === 'f16' && ctx.caps.shaderF16)
          );
        }
        case 'qmatmul': {
          const [x, packed, qp, bias] = inputs as OpInputs<'qmatmul'>;
          return f32(x) && packed.dtype === 'i32' && (qp.dtype === 'i32' || f32(qp)) && f32(bias);
        }
        case 'dequantizeRows':
          return inputs[0]?.dtype === 'i32';
        case 'contiguous':
        case 'concat':
          return inputs.every((t) => t.dtype !== 'f16');
        default:
          return inputs.every(f32);
      }
    },
    upload: (t) => uploadToGpu(ctx, t),
    async read(t) {
      const d = isDense(t) ? t : contiguousGpu(ctx, [t]);
      try {
        const bytes = await readBuffer(
          ctx,
          bufferOf(ctx, d),
          numel(t) * BYTES_PER_ELEMENT[t.dtype],
        );
        return cpuTensor(
          t.dtype === 'f32'
            ? new Float32Array(bytes)
            : t.dtype === 'f16'
              ? new Uint16Array(bytes)
              : new Int32Array(bytes),
          t.shape,
        );
      } finally {
        if (d !== t) release(ctx, bufferOf(ctx, d));
      }
    },
    dispose(t) {
      if (t.storage.backend === 'webgpu' && t.storage.owner === ctx && !ctx.lost)
        release(ctx, t.storage.buffer);
    },
  };
}

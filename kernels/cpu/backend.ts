/**
 * The CPU backend: every op, on typed arrays. It is the reference and the last fallback.
 * f16 inputs are widened to f32 (exactly) before any op but `cast`: the CPU computes in f32.
 * Unary and binary ops on f16 inputs only round their result back to f16 (as on the GPU).
 */
import { argmaxCpu } from '../argmax/cpu';
import { attentionCpu } from '../attention/cpu';
import type { Backend, BackendOps } from '../backend/ops';
import { binaryCpu } from '../binary/cpu';
import { castCpu, widenF16 } from '../cast/cpu';
import { concatCpu } from '../concat/cpu';
import { contiguousCpu } from '../contiguous/cpu';
import { conv1dCpu, conv2dCpu } from '../conv/cpu';
import { gatherCpu } from '../gather/cpu';
import { layerNormCpu } from '../layernorm/cpu';
import { matmulOpCpu } from '../matmul/op-cpu';
import { qmatmulCpu } from '../quant/cpu';
import { dequantizeRowsCpu, quantizeRowsCpu } from '../quant/rows';
import { rmsNormCpu } from '../rmsnorm/cpu';
import { rotaryCpu } from '../rotary/cpu';
import { softmaxCpu } from '../softmax/cpu';
import { cpuTensor, cpuToDense, type Tensor } from '../tensor/tensor';
import { unaryCpu } from '../unary/cpu';

/** Elementwise ops on f16 inputs only return f16 (computed in f32, rounded once). */
function narrowingIfAllF16<F extends (inputs: never, params: never) => Tensor>(fn: F): F {
  const run = widening(fn) as unknown as (inputs: Tensor[], params: unknown) => Tensor;
  return ((inputs: Tensor[], params: unknown) => {
    const y = run(inputs, params);
    return inputs.every((t) => t.dtype === 'f16') ? castCpu([y], { dtype: 'f16' }) : y;
  }) as unknown as F;
}

/** Runs `fn` on f32 copies of any f16 inputs. */
function widening<F extends (inputs: never, params: never) => Tensor>(fn: F): F {
  const run = fn as unknown as (inputs: Tensor[], params: unknown) => Tensor;
  return ((inputs: Tensor[], params: unknown) => run(inputs.map(widenF16), params)) as unknown as F;
}

export const CPU_OPS: Required<BackendOps> = {
  matmul: widening(matmulOpCpu),
  softmax: widening(softmaxCpu),
  layerNorm: widening(layerNormCpu),
  rmsNorm: widening(rmsNormCpu),
  unary: narrowingIfAllF16(unaryCpu),
  binary: narrowingIfAllF16(binaryCpu),
  gather: widening(gatherCpu),
  rotary: widening(rotaryCpu),
  attention: widening(attentionCpu),
  conv1d: widening(conv1dCpu),
  conv2d: widening(conv2dCpu),
  contiguous: contiguousCpu,
  concat: widening(concatCpu),
  argmax: widening(argmaxCpu),
  qmatmul: qmatmulCpu,
  quantizeRows: quantizeRowsCpu,
  dequantizeRows: dequantizeRowsCpu,
  cast: castCpu,
};

function assertCpu(t: Tensor): void {
  if (t.storage.backend !== 'cpu') throw new TypeError('Tensor is not on the CPU backend');
}

export function createCpuBackend(): Backend {
  return {
    name: 'cpu',
    ops: CPU_OPS,
    supports: () => true,
    upload: (t) => {
      assertCpu(t);
      return t;
    },
    read: async (t) => {
      assertCpu(t);
      return cpuTensor(cpuToDense(t).slice(), t.shape);
    },
    // Typed arrays are garbage-collected; nothing to free.
    dispose: () => undefined,
  };
}

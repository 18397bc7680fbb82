/** The CPU backend: every op, on typed arrays. It is the reference and the last fallback. */
import { argmaxCpu } from '../argmax/cpu';
import { attentionCpu } from '../attention/cpu';
import type { Backend, BackendOps } from '../backend/ops';
import { binaryCpu } from '../binary/cpu';
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

export const CPU_OPS: Required<BackendOps> = {
  matmul: matmulOpCpu,
  softmax: softmaxCpu,
  layerNorm: layerNormCpu,
  rmsNorm: rmsNormCpu,
  unary: unaryCpu,
  binary: binaryCpu,
  gather: gatherCpu,
  rotary: rotaryCpu,
  attention: attentionCpu,
  conv1d: conv1dCpu,
  conv2d: conv2dCpu,
  contiguous: contiguousCpu,
  concat: concatCpu,
  argmax: argmaxCpu,
  qmatmul: qmatmulCpu,
  quantizeRows: quantizeRowsCpu,
  dequantizeRows: dequantizeRowsCpu,
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

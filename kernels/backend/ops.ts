/**
 * The op contract: every op's inputs and params, one entry per op. A backend implements any
 * subset (`BackendOps`); the HAL runs an op on the preferred backend that has it and falls back
 * per op to the CPU reference, which implements all of them.
 */
import type { QuantFormat } from '../quant/format';
import type { RowBits } from '../quant/rows';
import type { BackendName, Tensor } from '../tensor/tensor';

/**
 * Pointwise functions a matmul can fuse into its epilogue and the unary op can apply;
 * `quick-gelu` is CLIP's x·sigmoid(1.702x).
 */
export type Activation = 'none' | 'relu' | 'gelu' | 'gelu-tanh' | 'quick-gelu' | 'silu';
export type UnaryFn = Exclude<Activation, 'none'> | 'identity' | 'tanh' | 'exp' | 'neg' | 'sigmoid';
export type BinaryFn = 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min';

export interface MatmulParams {
  /** A is stored [..., K, M] and read as its transpose. */
  transA?: boolean;
  /** B is stored [..., N, K] (the usual Linear weight layout) and read as its transpose. */
  transB?: boolean;
  activation?: Activation;
}

/** Block-quantized W [N, K] (kernels/quant/format.ts): x [..., K] → [..., N]. */
export interface QMatmulParams {
  format: QuantFormat;
  n: number;
  k: number;
  activation?: Activation;
}

export interface AttentionParams {
  /** Query i (of Sq, at absolute position kvLen - Sq + i) sees keys 0..its position only. */
  causal: boolean;
  /** Defaults to 1/sqrt(headDim). */
  scale?: number;
}

export interface RotaryParams {
  /** Absolute position of sequence index 0 (the KV-cache length before this step). */
  positionOffset: number;
  /** Frequency base: 10000 for GPT-NeoX/Llama 2, 500000 for Llama 3, 1000000 for Qwen2. */
  theta: number;
  /** Leading part of head dim that rotates (GPT-NeoX partial rotary); defaults to all of it. */
  rotaryDim?: number;
  /** Pairs are (2i, 2i+1) (GPT-J) rather than (i, i + d/2) (NeoX, Llama). */
  interleaved?: boolean;
}

export interface ConvParams {
  stride: number[];
  padding: number[];
}

/** Inputs and params of each op. Shapes are documented on each op's CPU reference. */
export interface OpSpecs {
  matmul: {
    inputs: [a: Tensor, b: Tensor] | [a: Tensor, b: Tensor, bias: Tensor];
    params: MatmulParams;
  };
  softmax: { inputs: [x: Tensor]; params: Record<string, never> };
  layerNorm: { inputs: [x: Tensor, gamma: Tensor, beta: Tensor]; params: { eps: number } };
  rmsNorm: { inputs: [x: Tensor, gamma: Tensor]; params: { eps: number } };
  unary: { inputs: [x: Tensor]; params: { fn: UnaryFn } };
  binary: { inputs: [a: Tensor, b: Tensor]; params: { fn: BinaryFn } };
  gather: { inputs: [table: Tensor, ids: Tensor]; params: Record<string, never> };
  rotary: { inputs: [x: Tensor]; params: RotaryParams };
  attention: {
    inputs:
      | [q: Tensor, k: Tensor, v: Tensor]
      | [q: Tensor, k: Tensor, v: Tensor, kvLengths: Tensor];
    params: AttentionParams;
  };
  conv1d: {
    inputs: [x: Tensor, w: Tensor] | [x: Tensor, w: Tensor, bias: Tensor];
    params: ConvParams;
  };
  conv2d: {
    inputs: [x: Tensor, w: Tensor] | [x: Tensor, w: Tensor, bias: Tensor];
    params: ConvParams;
  };
  contiguous: { inputs: [x: Tensor]; params: Record<string, never> };
  concat: { inputs: Tensor[]; params: { axis: number } };
  argmax: { inputs: [x: Tensor]; params: Record<string, never> };
  /** x · dequant(W)ᵀ (+ bias): packed codes i32, block params f32 or f16 pairs in i32. */
  qmatmul: {
    inputs:
      | [x: Tensor, packed: Tensor, params: Tensor]
      | [x: Tensor, packed: Tensor, params: Tensor, bias: Tensor];
    params: QMatmulParams;
  };
  /** KV-cache rows f32 [..., D] → i32 [..., 1 + D·bits/32] (kernels/quant/rows.ts). */
  quantizeRows: { inputs: [x: Tensor]; params: { bits: RowBits } };
  dequantizeRows: { inputs: [q: Tensor]; params: { bits: RowBits; cols: number } };
  /** Element-type conversion between f32 and f16 (round to nearest even). */
  cast: { inputs: [x: Tensor]; params: { dtype: 'f32' | 'f16' } };
}

export type OpName = keyof OpSpecs;
export type OpInputs<K extends OpName> = OpSpecs[K]['inputs'];
export type OpParams<K extends OpName> = OpSpecs[K]['params'];
export type OpFn<K extends OpName> = (inputs: OpInputs<K>, params: OpParams<K>) => Tensor;
export type BackendOps = { [K in OpName]?: OpFn<K> };

export const OP_NAMES: readonly OpName[] = [
  'matmul',
  'softmax',
  'layerNorm',
  'rmsNorm',
  'unary',
  'binary',
  'gather',
  'rotary',
  'attention',
  'conv1d',
  'conv2d',
  'contiguous',
  'concat',
  'argmax',
  'qmatmul',
  'quantizeRows',
  'dequantizeRows',
  'cast',
];

/** What every backend implements. Ops run synchronously (GPU work is only encoded). */
export interface Backend {
  readonly name: BackendName;
  readonly ops: BackendOps;
  /** False when this backend cannot run these particular inputs (dtype, size, limits). */
  supports<K extends OpName>(op: K, inputs: OpInputs<K>, params: OpParams<K>): boolean;
  /** Copies a CPU tensor onto this backend. */
  upload(t: Tensor): Tensor;
  /** Copies a tensor of this backend into a dense CPU tensor; the only way back to the host. */
  read(t: Tensor): Promise<Tensor>;
  /** Frees the tensor's storage (every view of it). */
  dispose(t: Tensor): void;
}

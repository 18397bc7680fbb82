/**
 * The part of the W3C WebNN API (https://www.w3.org/TR/webnn/, Candidate Recommendation) that
 * tabpool uses, as TypeScript types: TypeScript's DOM library has none yet. Names and argument
 * orders follow the current IDL: `softmax(input, axis)` and `argMax(input, axis, options)` take
 * the axis as an argument, tensors come from `MLContext.createTensor` and move with
 * `writeTensor`/`dispatch`/`readTensor`.
 */

export type MLOperandDataType =
  | 'float32'
  | 'float16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'int8'
  | 'uint8';

export interface MLOperandDescriptor {
  dataType: MLOperandDataType;
  shape: number[];
}

export interface MLOperand {
  readonly dataType: MLOperandDataType;
  readonly shape: readonly number[];
}

export interface MLTensorDescriptor extends MLOperandDescriptor {
  readable?: boolean;
  writable?: boolean;
}

export interface MLTensor {
  readonly dataType: MLOperandDataType;
  readonly shape: readonly number[];
  destroy(): void;
}

export type MLGraph = object;

export interface MLContextOptions {
  powerPreference?: 'default' | 'high-performance' | 'low-power';
  /** Chromium's (older drafts') device choice; the current draft prefers `accelerated`. */
  deviceType?: 'cpu' | 'gpu' | 'npu';
}

export interface MLContext {
  createTensor(descriptor: MLTensorDescriptor): Promise<MLTensor>;
  writeTensor(tensor: MLTensor, source: ArrayBufferView | ArrayBuffer): void;
  dispatch(
    graph: MLGraph,
    inputs: Record<string, MLTensor>,
    outputs: Record<string, MLTensor>,
  ): void;
  readTensor(tensor: MLTensor): Promise<ArrayBuffer>;
  destroy?(): void;
}

export interface ML {
  createContext(options?: MLContextOptions): Promise<MLContext>;
}

/** The MLGraphBuilder methods the op mapping calls (ops.ts); `build` compiles the graph. */
export interface MLGraphBuilderLike {
  input(name: string, descriptor: MLOperandDescriptor): MLOperand;
  constant(descriptor: MLOperandDescriptor, buffer: ArrayBufferView): MLOperand;
  matmul(a: MLOperand, b: MLOperand): MLOperand;
  add(a: MLOperand, b: MLOperand): MLOperand;
  sub(a: MLOperand, b: MLOperand): MLOperand;
  mul(a: MLOperand, b: MLOperand): MLOperand;
  div(a: MLOperand, b: MLOperand): MLOperand;
  max(a: MLOperand, b: MLOperand): MLOperand;
  min(a: MLOperand, b: MLOperand): MLOperand;
  relu(x: MLOperand): MLOperand;
  gelu(x: MLOperand): MLOperand;
  sigmoid(x: MLOperand): MLOperand;
  tanh(x: MLOperand): MLOperand;
  exp(x: MLOperand): MLOperand;
  neg(x: MLOperand): MLOperand;
  sqrt(x: MLOperand): MLOperand;
  identity(x: MLOperand): MLOperand;
  softmax(x: MLOperand, axis: number): MLOperand;
  layerNormalization(
    x: MLOperand,
    options: { scale?: MLOperand; bias?: MLOperand; axes?: number[]; epsilon?: number },
  ): MLOperand;
  reduceMean(x: MLOperand, options: { axes?: number[]; keepDimensions?: boolean }): MLOperand;
  reshape(x: MLOperand, newShape: number[]): MLOperand;
  transpose(x: MLOperand, options: { permutation?: number[] }): MLOperand;
  gather(x: MLOperand, indices: MLOperand, options: { axis?: number }): MLOperand;
  concat(inputs: MLOperand[], axis: number): MLOperand;
  argMax(
    x: MLOperand,
    axis: number,
    options: { keepDimensions?: boolean; outputDataType?: MLOperandDataType },
  ): MLOperand;
  cast(x: MLOperand, dataType: MLOperandDataType): MLOperand;
  build(outputs: Record<string, MLOperand>): Promise<MLGraph>;
}

/**
 * Element types a tensor may hold. Each has a row here, a storage array type, and a `supports`
 * rule in the backends that can run it. f16 is held as IEEE half bit patterns in a Uint16Array
 * on the CPU (tensor/f16.ts converts); the CPU reference computes f16 inputs in f32, and the
 * WebGPU backend runs f16 only where the adapter has `shader-f16`.
 */
export type DType = 'f32' | 'i32' | 'f16';

export type TypedArrayFor<D extends DType> = D extends 'f32'
  ? Float32Array
  : D extends 'f16'
    ? Uint16Array
    : Int32Array;
export type TypedArray = Float32Array | Int32Array | Uint16Array;

export const BYTES_PER_ELEMENT: Record<DType, number> = { f32: 4, i32: 4, f16: 2 };

/** A fresh zeroed array of `length` elements of `dtype`. */
export function allocate(dtype: DType, length: number): TypedArray {
  if (dtype === 'f16') return new Uint16Array(length);
  return dtype === 'f32' ? new Float32Array(length) : new Int32Array(length);
}

/** The dtype of a typed array; throws for array types tensors cannot hold. */
export function dtypeOf(data: TypedArray): DType {
  if (data instanceof Float32Array) return 'f32';
  if (data instanceof Int32Array) return 'i32';
  if (data instanceof Uint16Array) return 'f16';
  throw new TypeError('Unsupported typed array');
}

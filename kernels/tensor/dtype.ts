/**
 * Element types a tensor may hold. f16 and the quantized formats come later: each adds a row
 * here, a storage array type, and a `supports` rule in the backends that can run it.
 */
export type DType = 'f32' | 'i32';

export type TypedArrayFor<D extends DType> = D extends 'f32' ? Float32Array : Int32Array;
export type TypedArray = Float32Array | Int32Array;

export const BYTES_PER_ELEMENT: Record<DType, number> = { f32: 4, i32: 4 };

/** A fresh zeroed array of `length` elements of `dtype`. */
export function allocate(dtype: DType, length: number): TypedArray {
  return dtype === 'f32' ? new Float32Array(length) : new Int32Array(length);
}

/** The dtype of a typed array; throws for array types tensors cannot hold. */
export function dtypeOf(data: TypedArray): DType {
  if (data instanceof Float32Array) return 'f32';
  if (data instanceof Int32Array) return 'i32';
  throw new TypeError('Unsupported typed array');
}

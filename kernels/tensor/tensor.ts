/**
 * The tensor every backend shares: a dtype, a shape, element strides and an offset into a
 * storage that lives on one backend (a typed array on the CPU, a GPUBuffer on a device).
 *
 * Views (reshape of a contiguous tensor, permute, transpose, slice, broadcast) only change
 * shape/strides/offset and share the storage: no copy until a kernel needs contiguous input,
 * where the backend's `contiguous` op materialises it.
 */

import type { MLTensor } from '../webnn/types';
import { allocate, type DType, dtypeOf, type TypedArray } from './dtype';
import {
  broadcastStrides,
  contiguousStrides,
  isContiguous,
  normalizeAxis,
  type Shape,
  sizeOf,
} from './shape';

export interface CpuStorage {
  readonly backend: 'cpu';
  readonly data: TypedArray;
}

export interface GpuStorage {
  readonly backend: 'webgpu';
  readonly buffer: GPUBuffer;
  /** Elements the buffer holds (its byte size may be padded). */
  readonly length: number;
  /** The GPU context that created the buffer: tensors never cross devices silently. */
  readonly owner: object;
}

/**
 * A WebNN tensor. WebNN creates tensors asynchronously while our ops return synchronously, so
 * the storage holds the promise of the MLTensor that the op's dispatch writes (kernels/webnn).
 */
export interface WebnnStorage {
  readonly backend: 'webnn';
  readonly tensor: Promise<MLTensor>;
  readonly length: number;
  /** The MLContext's backend that created it. */
  readonly owner: object;
}

export type Storage = CpuStorage | GpuStorage | WebnnStorage;

export interface Tensor {
  readonly dtype: DType;
  readonly shape: Shape;
  /** Element strides, one per axis; 0 on a broadcast axis. */
  readonly strides: readonly number[];
  /** Element offset of index [0, …, 0] in the storage. */
  readonly offset: number;
  readonly storage: Storage;
}

export type BackendName = Storage['backend'];

/**
 * A contiguous CPU tensor over `data` (not copied).
 *
 * @example
 * const x = cpuTensor(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
 */
export function cpuTensor(data: TypedArray, shape: Shape): Tensor {
  if (data.length !== sizeOf(shape)) {
    throw new RangeError(`${data.length} elements do not fill shape [${shape.join(', ')}]`);
  }
  return {
    dtype: dtypeOf(data),
    shape: [...shape],
    strides: contiguousStrides(shape),
    offset: 0,
    storage: { backend: 'cpu', data },
  };
}

export function zerosCpu(dtype: DType, shape: Shape): Tensor {
  return cpuTensor(allocate(dtype, sizeOf(shape)), shape);
}

export const numel = (t: Tensor): number => sizeOf(t.shape);

/** Contiguous from offset 0: what kernels that index flat memory need. */
export const isDense = (t: Tensor): boolean => t.offset === 0 && isContiguous(t.shape, t.strides);

function view(t: Tensor, shape: Shape, strides: readonly number[], offset: number): Tensor {
  return { dtype: t.dtype, shape: [...shape], strides: [...strides], offset, storage: t.storage };
}

/**
 * Same elements, new shape; one axis may be -1. Only contiguous tensors can be reshaped as a
 * view: call the backend's `contiguous` first otherwise (returns null to say so).
 */
export function reshape(t: Tensor, shape: Shape): Tensor | null {
  const known = shape.filter((d) => d !== -1);
  const inferred = shape.length - known.length;
  if (inferred > 1) throw new RangeError('At most one axis may be -1');
  const total = numel(t);
  const rest = sizeOf(known);
  const full = shape.map((d) => (d === -1 ? total / rest : d));
  if (sizeOf(full) !== total || full.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new RangeError(`Cannot reshape [${t.shape.join(', ')}] to [${shape.join(', ')}]`);
  }
  if (!isContiguous(t.shape, t.strides)) return null;
  return view(t, full, contiguousStrides(full), t.offset);
}

/** Reorders axes: `permute(x, [0, 2, 1, 3])` swaps axes 1 and 2. */
export function permute(t: Tensor, axes: readonly number[]): Tensor {
  const rank = t.shape.length;
  if (axes.length !== rank || new Set(axes.map((a) => normalizeAxis(a, rank))).size !== rank) {
    throw new RangeError(`[${axes.join(', ')}] is not a permutation of ${rank} axes`);
  }
  const norm = axes.map((a) => normalizeAxis(a, rank));
  return view(
    t,
    norm.map((a) => t.shape[a] as number),
    norm.map((a) => t.strides[a] as number),
    t.offset,
  );
}

/** Swaps two axes (default: the last two). */
export function transpose(t: Tensor, a = -2, b = -1): Tensor {
  const rank = t.shape.length;
  const axes = [...Array(rank).keys()];
  const i = normalizeAxis(a, rank);
  const j = normalizeAxis(b, rank);
  axes[i] = j;
  axes[j] = i;
  return permute(t, axes);
}

/** Elements `start` (inclusive) to `end` (exclusive) along `axis`, as a view. */
export function slice(t: Tensor, axis: number, start: number, end: number): Tensor {
  const a = normalizeAxis(axis, t.shape.length);
  const size = t.shape[a] as number;
  if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end)) {
    throw new RangeError(`Bad slice ${start}:${end}`);
  }
  if (end > size) throw new RangeError(`Slice end ${end} is past axis size ${size}`);
  const shape = [...t.shape];
  shape[a] = end - start;
  return view(t, shape, t.strides, t.offset + start * (t.strides[a] as number));
}

/** Reads `t` as the larger `shape` (NumPy broadcasting) with stride-0 axes; no copy. */
export function broadcastTo(t: Tensor, shape: Shape): Tensor {
  const strides = broadcastStrides(t.shape, t.strides, shape);
  const lead = shape.length - t.shape.length;
  t.shape.forEach((d, i) => {
    if (d !== 1 && d !== shape[lead + i]) {
      throw new RangeError(`Cannot broadcast [${t.shape.join(', ')}] to [${shape.join(', ')}]`);
    }
  });
  return view(t, shape, strides, t.offset);
}

/** Copies a CPU tensor (any strides) into a fresh dense typed array in row-major order. */
export function cpuToDense(t: Tensor): TypedArray {
  if (t.storage.backend !== 'cpu') throw new TypeError('cpuToDense needs a CPU tensor');
  const src = t.storage.data;
  const n = numel(t);
  if (isDense(t)) return src.length === n ? src : src.subarray(0, n);
  const out = allocate(t.dtype, n);
  const rank = t.shape.length;
  const index = new Array<number>(rank).fill(0);
  let at = t.offset;
  for (let i = 0; i < n; i++) {
    out[i] = src[at] as number;
    for (let ax = rank - 1; ax >= 0; ax--) {
      const next = (index[ax] as number) + 1;
      if (next < (t.shape[ax] as number)) {
        index[ax] = next;
        at += t.strides[ax] as number;
        break;
      }
      index[ax] = 0;
      at -= (next - 1) * (t.strides[ax] as number);
    }
  }
  return out;
}

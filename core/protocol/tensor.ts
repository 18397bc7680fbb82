import * as v from 'valibot';
import { InvalidParamsError, PayloadTooLargeError } from './errors';

/**
 * A tensor on the wire: a dtype, a shape and the raw little-endian bytes as an ArrayBuffer.
 * Bytes, not JSON numbers: ArrayBuffers survive `postMessage` and structured-clone runtime
 * messaging, and can be transferred without a copy where the channel allows.
 */
export interface WireTensor {
  /** `int32` carries token ids and masks; every tensor op takes `float32`. */
  dtype: 'float32' | 'int32';
  shape: number[];
  data: ArrayBuffer;
}

export const BYTES_PER_ELEMENT = { float32: 4, int32: 4 } as const;

/** The largest tensor a page may send or receive: checked before any allocation. */
export const MAX_TENSOR_BYTES = 64 * 1024 * 1024;
/** The most dimensions a wire tensor may have. */
export const MAX_RANK = 8;

/** `instanceof ArrayBuffer` fails across realms (page → content script); the brand does not. */
export const isArrayBuffer = (x: unknown): x is ArrayBuffer =>
  Object.prototype.toString.call(x) === '[object ArrayBuffer]';

export const WireTensorSchema = v.object({
  dtype: v.picklist(['float32', 'int32']),
  shape: v.pipe(
    v.array(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(2 ** 31 - 1))),
    v.minLength(1),
    v.maxLength(MAX_RANK),
  ),
  data: v.custom<ArrayBuffer>(isArrayBuffer, 'data must be an ArrayBuffer'),
});

/**
 * Checks that a validated tensor's byte length matches its shape and fits the limit.
 * The element count is computed in floating point first so a hostile shape cannot overflow.
 */
export function checkTensorBytes(name: string, t: WireTensor): void {
  const elements = t.shape.reduce((n, d) => n * d, 1);
  const bytes = elements * BYTES_PER_ELEMENT[t.dtype];
  if (bytes > MAX_TENSOR_BYTES || t.data.byteLength > MAX_TENSOR_BYTES) {
    throw new PayloadTooLargeError(`Tensor "${name}" is larger than ${MAX_TENSOR_BYTES} bytes`, {
      detail: { tensor: name, bytes: Math.max(bytes, t.data.byteLength), limit: MAX_TENSOR_BYTES },
    });
  }
  if (t.data.byteLength !== bytes) {
    throw new InvalidParamsError(
      `Tensor "${name}" has ${t.data.byteLength} bytes but shape [${t.shape.join(', ')}] needs ${bytes}`,
      { detail: { tensor: name, bytes: t.data.byteLength, expected: bytes } },
    );
  }
}

/**
 * Builds a wire tensor from a Float32Array. The view's bytes are copied only when the view does
 * not cover its whole buffer, so a fresh array's buffer can be transferred as it is.
 */
export function float32Tensor(values: Float32Array, shape: number[]): WireTensor {
  const whole = values.byteOffset === 0 && values.byteLength === values.buffer.byteLength;
  const data = whole ? (values.buffer as ArrayBuffer) : values.slice().buffer;
  return { dtype: 'float32', shape: [...shape], data };
}

/** An int32 wire tensor (token ids, masks); copies only a partial view, like `float32Tensor`. */
export function int32Tensor(values: Int32Array, shape: number[]): WireTensor {
  const whole = values.byteOffset === 0 && values.byteLength === values.buffer.byteLength;
  const data = whole ? (values.buffer as ArrayBuffer) : values.slice().buffer;
  return { dtype: 'int32', shape: [...shape], data };
}

/**
 * The ArrayBuffers reachable from `value` within `depth` levels, each once — what a message's
 * transfer list should hold (tensor data sits 2–3 levels down: `result.c.data`).
 */
export function collectBuffers(value: unknown, depth = 4): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const visit = (v: unknown, level: number) => {
    if (isArrayBuffer(v)) out.add(v);
    else if (level > 0 && typeof v === 'object' && v !== null) {
      for (const child of Object.values(v)) visit(child, level - 1);
    }
  };
  visit(value, depth);
  return [...out];
}

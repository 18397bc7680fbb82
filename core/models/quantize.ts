/**
 * Weight quantization at load: which Linear weights become block-quantized (kernels/quant) and in
 * which format. Embeddings, norms and biases always stay f32; only matmul weights are packed, and
 * `linear` (blocks.ts) runs `qmatmul` on them.
 */

import {
  fitsFormat,
  parseQuantFormat,
  type QuantFormat,
  type QuantizedMatrix,
  quantizeMatrix,
} from '../../kernels/quant/format';
import type { Tensor } from '../../kernels/tensor/tensor';
import { InvalidParamsError } from '../protocol/errors';

/** A format: `int8`, `int4:g64`, … (see `parseQuantFormat`), a `QuantFormat`, or null for f32. */
export type QuantizeSpec = string | QuantFormat | null;

/**
 * Mixed precision: `default` for every decoder layer, overridden per layer index and for the
 * language-model head (which is otherwise quantized with `default` too).
 *
 * @example
 * { default: 'int4', layers: { 0: 'int8', 11: 'int8' }, head: 'int8' }
 */
export interface QuantizePlan {
  default: QuantizeSpec;
  layers?: Record<number, QuantizeSpec>;
  head?: QuantizeSpec;
}

export type QuantizeOption = QuantizeSpec | QuantizePlan;

/** Where a Linear weight sits: a decoder layer's index, or the head. */
export type LinearSite = number | 'head';

/** A Linear weight stored block-quantized on the HAL, W [N = out, K = in]. */
export interface QuantizedWeight {
  readonly packed: Tensor;
  readonly params: Tensor;
  readonly format: QuantFormat;
  readonly n: number;
  readonly k: number;
}

export type LinearWeight = Tensor | QuantizedWeight;

export const isQuantized = (w: LinearWeight): w is QuantizedWeight => 'packed' in w;

/** A format from its spec; a name that is no format is the caller's INVALID_PARAMS. */
function toFormat(spec: QuantizeSpec | undefined): QuantFormat | null {
  if (spec == null) return null;
  if (typeof spec !== 'string') return spec;
  try {
    return parseQuantFormat(spec);
  } catch (e) {
    throw new InvalidParamsError(`quantize: ${(e as Error).message}`, { detail: { format: spec } });
  }
}

/**
 * The format for a weight at `site`, or null to keep it f32. Parsing happens here, so a bad
 * format name fails at load (INVALID_PARAMS) rather than at the first forward.
 */
export function formatFor(
  option: QuantizeOption | undefined,
  site: LinearSite,
): QuantFormat | null {
  if (option == null) return null;
  if (typeof option === 'string' || 'bits' in option) return toFormat(option);
  if (site === 'head') return toFormat(option.head === undefined ? option.default : option.head);
  const own = option.layers?.[site];
  return toFormat(own === undefined ? option.default : own);
}

/** Checks every format a plan names (so `loadModel` rejects a typo before reading weights). */
export function checkQuantizeOption(option: QuantizeOption | undefined): void {
  if (option == null) return;
  if (typeof option === 'string' || 'bits' in option) {
    toFormat(option);
    return;
  }
  toFormat(option.default);
  toFormat(option.head);
  for (const spec of Object.values(option.layers ?? {})) toFormat(spec);
}

/**
 * Quantizes a weight read as f32 in `layout` ('in-out' is GPT-2's Conv1D [in, out], transposed
 * here to [out, in]); null when K is not a whole number of blocks (the weight then stays f32).
 */
export function quantizeLinear(
  data: Float32Array,
  shape: readonly number[],
  layout: 'out-in' | 'in-out',
  format: QuantFormat,
): QuantizedMatrix | null {
  const [a, b] = shape as [number, number];
  const [n, k] = layout === 'out-in' ? [a, b] : [b, a];
  if (shape.length !== 2 || !fitsFormat(k, format)) return null;
  let w = data;
  if (layout === 'in-out') {
    w = new Float32Array(n * k);
    for (let i = 0; i < k; i++)
      for (let j = 0; j < n; j++) w[j * k + i] = data[i * n + j] as number;
  }
  return quantizeMatrix(w, n, k, format);
}

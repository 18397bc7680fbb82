/**
 * Block-quantized weight formats: int8, int4, int3 and int2 codes with one scale (and, for the
 * asymmetric formats, one min) per block of `groupSize` consecutive K values of one output row.
 *
 * A weight W [N, K] (torch.nn.Linear's layout) is stored as:
 * - `packed`: u32 words, row by row; each row is K/32 chunks of 32 codes, each chunk `bits`
 *   words (a row is K·bits/32 words and no code crosses a chunk). Inside a chunk, codes go in
 *   fours so a kernel turns one word into a vec4 of codes with one vector shift and mask, to
 *   dot with a vec4 of x: with p = 32/bits codes per word, code 4s + i of word j (i < 4) sits at
 *   bit 8i + bits·s, and word j holds codes j·p .. j·p + p − 1:
 *   - int8: word j = codes 4j..4j+3 in its four bytes;
 *   - int4: word j = codes 8j..8j+3 in the low nibbles of its bytes, 8j+4..8j+7 in the high;
 *   - int2: word j = codes 16j..16j+15, four 2-bit fields per byte;
 *   - int3: two planes: words 0 and 1 hold the low 2 bits as int2 does, word 2 holds bit 2 of
 *     code 4t + i in bit 8i + t (exactly 3 bits a weight).
 * - `params`: per block (row-major over [N, K/groupSize]) the scale, then the min when
 *   asymmetric; as f32, or as f16 halves two to a u32 word (low half first, what WGSL's
 *   `unpack2x16float` reads).
 *
 * Codes are unsigned. Symmetric: w ≈ s·(u − 2^(bits−1)), u in [1, 2^bits − 1]. Asymmetric:
 * w ≈ min + s·u, u in [0, 2^bits − 1]. Both are `s·u + m` per block with m = min or
 * −2^(bits−1)·s, which is how every kernel dequantizes.
 */

import { f16BitsToF32, f32ToF16Bits, roundToF16 } from './half';

export type QuantBits = 8 | 4 | 3 | 2;
export type QuantGroupSize = 32 | 64 | 128;
export type QuantName = 'int8' | 'int4' | 'int3' | 'int2';

export interface QuantFormat {
  readonly bits: QuantBits;
  readonly groupSize: QuantGroupSize;
  /** How block scales (and mins) are stored. */
  readonly scale: 'f32' | 'f16';
  /** A min per block (asymmetric) or a code offset of 2^(bits−1) (symmetric). */
  readonly asymmetric: boolean;
}

const BITS: Record<QuantName, QuantBits> = { int8: 8, int4: 4, int3: 3, int2: 2 };

/**
 * A format by name with the defaults chosen in docs/decisions.md: groups of 32, f16 scales,
 * symmetric for int8 and asymmetric (min + scale) for int4/int3/int2 (on outlier-heavy weights
 * asymmetric int4 had a third less error than symmetric: kernels/quant/error.test.ts).
 *
 * @example
 * quantFormat('int4') // { bits: 4, groupSize: 32, scale: 'f16', asymmetric: true }
 * quantFormat('int2', { groupSize: 64 })
 */
export function quantFormat(name: QuantName, options: Partial<QuantFormat> = {}): QuantFormat {
  const bits = BITS[name];
  if (!bits) throw new RangeError(`Unknown quantized format ${name}`);
  const f: QuantFormat = {
    bits,
    groupSize: options.groupSize ?? 32,
    scale: options.scale ?? 'f16',
    asymmetric: options.asymmetric ?? bits <= 4,
  };
  if (![32, 64, 128].includes(f.groupSize)) throw new RangeError(`Bad group size ${f.groupSize}`);
  return f;
}

/**
 * Parses `int4`, `int4:g64`, `int3:g128:f32`, `int4:asym` (parts in any order after the name).
 */
export function parseQuantFormat(text: string): QuantFormat {
  const [name, ...parts] = text.split(':');
  const options: { -readonly [K in keyof QuantFormat]?: QuantFormat[K] } = {};
  for (const part of parts) {
    if (/^g\d+$/.test(part)) options.groupSize = Number(part.slice(1)) as QuantGroupSize;
    else if (part === 'f16' || part === 'f32') options.scale = part;
    else if (part === 'asym' || part === 'sym') options.asymmetric = part === 'asym';
    else throw new RangeError(`Bad quantized format part "${part}" in ${text}`);
  }
  return quantFormat(name as QuantName, options);
}

/** `int4:g32:f16:sym`: a name that `parseQuantFormat` reads back, and a cache-key part. */
export const formatName = (f: QuantFormat): string =>
  `int${f.bits}:g${f.groupSize}:${f.scale}:${f.asymmetric ? 'asym' : 'sym'}`;

/** Whether W [N, K] can take this format (K must be a whole number of blocks). */
export const fitsFormat = (k: number, f: QuantFormat): boolean => k > 0 && k % f.groupSize === 0;

/** Values per block in `params`: scale, and min when asymmetric. */
export const paramsPerBlock = (f: QuantFormat): number => (f.asymmetric ? 2 : 1);

export interface QuantizedMatrix {
  readonly format: QuantFormat;
  readonly n: number;
  readonly k: number;
  /** u32 words (held as i32 so tensors can carry them), N·K·bits/32 of them. */
  readonly packed: Int32Array;
  /** f32 values, or f16 halves two to a word (then an Int32Array of the words). */
  readonly params: Float32Array | Int32Array;
}

/** Bytes the quantized matrix occupies (codes plus block params). */
export const quantizedBytes = (q: QuantizedMatrix): number =>
  q.packed.byteLength + q.params.byteLength;

const round = Math.round;

/**
 * Chooses (scale, min) for one block, trying a few clipping ratios of the range and keeping the
 * one with the least squared error: with 2–4 bits, one outlier would otherwise spend most of the
 * codes on values that never occur. int8 keeps the full range.
 */
function fitBlock(
  x: Float32Array,
  start: number,
  size: number,
  f: QuantFormat,
  store: (v: number) => number,
): [scale: number, min: number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = start; i < start + size; i++) {
    const v = x[i] as number;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const levels = (1 << f.bits) - 1;
  const zp = 1 << (f.bits - 1);
  const ratios = f.bits === 8 ? [1] : [1, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6];
  let best: [number, number] = [0, 0];
  let bestErr = Number.POSITIVE_INFINITY;
  for (const r of ratios) {
    let s: number;
    let m: number;
    if (f.asymmetric) {
      s = store(((hi - lo) * r) / levels);
      m = store(r === 1 ? lo : lo + ((hi - lo) * (1 - r)) / 2);
    } else {
      s = store((Math.max(Math.abs(lo), Math.abs(hi)) * r) / (zp - 1));
      m = -zp * s;
    }
    if (!(s > 0) || !Number.isFinite(s)) return f.asymmetric ? [0, store(lo)] : [0, 0];
    const uMin = f.asymmetric ? 0 : 1;
    let err = 0;
    for (let i = start; i < start + size; i++) {
      const v = x[i] as number;
      const u = Math.min(levels, Math.max(uMin, round((v - m) / s)));
      const d = s * u + m - v;
      err += d * d;
    }
    if (err < bestErr) {
      bestErr = err;
      best = [s, m];
    }
  }
  return best;
}

/** Word (within its chunk) and bit of code i (0..31) of a chunk, per the layout above. */
function codeSlot(bits: QuantBits, i: number): [word: number, shift: number] {
  const plane = bits === 3 ? 2 : bits;
  const perWord = 32 / plane;
  const r = i % perWord;
  return [Math.floor(i / perWord), 8 * (r & 3) + plane * (r >> 2)];
}

function setCode(packed: Uint32Array, k: number, f: QuantFormat, n: number, c: number, u: number) {
  const chunkBase = (n * (k / 32) + (c >> 5)) * f.bits;
  const i = c & 31;
  const [w, shift] = codeSlot(f.bits, i);
  const low = f.bits === 3 ? u & 3 : u;
  packed[chunkBase + w] = ((packed[chunkBase + w] as number) | (low << shift)) >>> 0;
  if (f.bits === 3) {
    const hiShift = 8 * (i & 3) + (i >> 2);
    packed[chunkBase + 2] = ((packed[chunkBase + 2] as number) | ((u >> 2) << hiShift)) >>> 0;
  }
}

/** Code of row n, column c (the inverse of `setCode`). */
export function getCode(
  packed: Int32Array,
  k: number,
  f: QuantFormat,
  n: number,
  c: number,
): number {
  const chunkBase = (n * (k / 32) + (c >> 5)) * f.bits;
  const i = c & 31;
  const [w, shift] = codeSlot(f.bits, i);
  const plane = f.bits === 3 ? 2 : f.bits;
  const low = ((packed[chunkBase + w] as number) >>> shift) & ((1 << plane) - 1);
  if (f.bits !== 3) return low;
  return low | ((((packed[chunkBase + 2] as number) >>> (8 * (i & 3) + (i >> 2))) & 1) << 2);
}

/** (scale, min-or-offset) of block `b` (row-major over [N, K/groupSize]). */
export function blockParams(q: QuantizedMatrix, b: number): [scale: number, min: number] {
  const f = q.format;
  const per = paramsPerBlock(f);
  const value = (i: number): number => {
    if (f.scale === 'f32') return q.params[i] as number;
    const word = (q.params[i >> 1] as number) >>> 0;
    return f16BitsToF32(i & 1 ? word >>> 16 : word & 0xffff);
  };
  const s = value(b * per);
  return [s, f.asymmetric ? value(b * per + 1) : -(1 << (f.bits - 1)) * s];
}

/**
 * Quantizes W [N, K] (row-major f32) to `format`.
 *
 * @example
 * const q = quantizeMatrix(w, 768, 3072, quantFormat('int4'));
 * const back = dequantizeMatrix(q); // ≈ w
 */
export function quantizeMatrix(
  w: Float32Array,
  n: number,
  k: number,
  format: QuantFormat,
): QuantizedMatrix {
  if (w.length !== n * k) throw new RangeError(`${w.length} values do not fill [${n}, ${k}]`);
  if (!fitsFormat(k, format))
    throw new RangeError(`K = ${k} is not a multiple of the group size ${format.groupSize}`);
  const packed = new Uint32Array((n * k * format.bits) / 32);
  const blocksPerRow = k / format.groupSize;
  const per = paramsPerBlock(format);
  const values = new Float32Array(n * blocksPerRow * per);
  const store = format.scale === 'f16' ? roundToF16 : Math.fround;
  const levels = (1 << format.bits) - 1;
  const uMin = format.asymmetric ? 0 : 1;
  for (let row = 0; row < n; row++) {
    for (let blk = 0; blk < blocksPerRow; blk++) {
      const start = row * k + blk * format.groupSize;
      const [s, m] = fitBlock(w, start, format.groupSize, format, store);
      const b = row * blocksPerRow + blk;
      values[b * per] = s;
      if (format.asymmetric) values[b * per + 1] = m;
      for (let i = 0; i < format.groupSize; i++) {
        const v = w[start + i] as number;
        const u =
          s > 0
            ? Math.min(levels, Math.max(uMin, round((v - m) / s)))
            : format.asymmetric
              ? 0
              : 1 << (format.bits - 1);
        setCode(packed, k, format, row, blk * format.groupSize + i, u);
      }
    }
  }
  let params: Float32Array | Int32Array = values;
  if (format.scale === 'f16') {
    const words = new Uint32Array(Math.ceil(values.length / 2));
    for (let i = 0; i < values.length; i++) {
      const h = f32ToF16Bits(values[i] as number);
      words[i >> 1] = ((words[i >> 1] as number) | (i & 1 ? h << 16 : h)) >>> 0;
    }
    params = new Int32Array(words.buffer);
  }
  return { format, n, k, packed: new Int32Array(packed.buffer), params };
}

/** W [N, K] back as f32: what every kernel computes with. */
export function dequantizeMatrix(q: QuantizedMatrix): Float32Array {
  const { n, k, format } = q;
  const out = new Float32Array(n * k);
  const blocksPerRow = k / format.groupSize;
  for (let row = 0; row < n; row++) {
    for (let blk = 0; blk < blocksPerRow; blk++) {
      const [s, m] = blockParams(q, row * blocksPerRow + blk);
      for (let i = 0; i < format.groupSize; i++) {
        const c = blk * format.groupSize + i;
        out[row * k + c] = Math.fround(s * getCode(q.packed, k, format, row, c) + m);
      }
    }
  }
  return out;
}

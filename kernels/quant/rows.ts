/**
 * Row quantization for the KV cache: each row of D values (one head's key or value at one
 * position) becomes one f32 scale word followed by D·bits/32 code words, symmetric, codes
 * u = round(x/s) + 2^(bits−1) packed low bits first (int8: 4 a word; int4: 8 a word).
 * A row is then 1 + D/4 (int8) or 1 + D/8 (int4) words instead of D: int4 with D = 128 holds
 * a row in 17 words, 13.3% of f32's 128. Rows stay whole tensors' last axis, so `concat`
 * appends quantized positions like any other i32 tensor.
 */
import type { OpInputs, OpParams } from '../backend/ops';
import { cpuTensor, cpuToDense, type Tensor } from '../tensor/tensor';

export type RowBits = 8 | 4;

/** Words one quantized row of `cols` values takes. */
export const rowWords = (cols: number, bits: RowBits): number => 1 + (cols * bits) / 32;

/** Whether rows of `cols` values pack evenly at `bits`. */
export const fitsRows = (cols: number, bits: RowBits): boolean =>
  cols > 0 && (cols * bits) % 32 === 0;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** x f32 [..., D] → i32 [..., 1 + D·bits/32]. */
export function quantizeRowsCpu(
  inputs: OpInputs<'quantizeRows'>,
  p: OpParams<'quantizeRows'>,
): Tensor {
  const [x] = inputs;
  const cols = x.shape[x.shape.length - 1] as number;
  if (x.dtype !== 'f32' || !fitsRows(cols, p.bits))
    throw new RangeError(`quantizeRows needs f32 rows whose length packs at ${p.bits} bits`);
  const data = cpuToDense(x) as Float32Array;
  const rows = data.length / cols;
  const words = rowWords(cols, p.bits);
  const out = new Uint32Array(rows * words);
  const zp = 1 << (p.bits - 1);
  const perWord = 32 / p.bits;
  for (let r = 0; r < rows; r++) {
    let amax = 0;
    for (let i = 0; i < cols; i++) amax = Math.max(amax, Math.abs(data[r * cols + i] as number));
    f32[0] = amax / (zp - 1);
    const s = f32[0] as number;
    out[r * words] = u32[0] as number;
    for (let i = 0; i < cols; i++) {
      const v = data[r * cols + i] as number;
      const u = s > 0 ? Math.min(2 * zp - 1, Math.max(1, Math.round(v / s) + zp)) : zp;
      const w = r * words + 1 + Math.floor(i / perWord);
      out[w] = ((out[w] as number) | (u << (p.bits * (i % perWord)))) >>> 0;
    }
  }
  return cpuTensor(new Int32Array(out.buffer), [...x.shape.slice(0, -1), words]);
}

/** i32 [..., 1 + D·bits/32] → f32 [..., D]. */
export function dequantizeRowsCpu(
  inputs: OpInputs<'dequantizeRows'>,
  p: OpParams<'dequantizeRows'>,
): Tensor {
  const [q] = inputs;
  const words = rowWords(p.cols, p.bits);
  if (q.dtype !== 'i32' || q.shape[q.shape.length - 1] !== words || !fitsRows(p.cols, p.bits))
    throw new RangeError(`dequantizeRows needs i32 rows of ${words} words`);
  const data = cpuToDense(q) as Int32Array;
  const rows = data.length / words;
  const out = new Float32Array(rows * p.cols);
  const zp = 1 << (p.bits - 1);
  const perWord = 32 / p.bits;
  const mask = (1 << p.bits) - 1;
  for (let r = 0; r < rows; r++) {
    u32[0] = data[r * words] as number;
    const s = f32[0] as number;
    for (let i = 0; i < p.cols; i++) {
      const word = (data[r * words + 1 + Math.floor(i / perWord)] as number) >>> 0;
      out[r * p.cols + i] = s * (((word >>> (p.bits * (i % perWord))) & mask) - zp);
    }
  }
  return cpuTensor(out, [...q.shape.slice(0, -1), p.cols]);
}

/**
 * Keys and values of every past position, per layer, kept on the HAL between decode steps so
 * each new token attends over the cache instead of recomputing the prompt.
 *
 * Layer tensors are [B, Hkv, T, D]. Appending concatenates along T into a fresh tensor and
 * frees the old one: O(T) copying per step, simple and exact; a preallocated ring with in-place
 * writes is the next step when decode length dominates.
 *
 * With `bits` 8 or 4 the cache holds each head's key/value row at each position quantized
 * (kernels/quant/rows.ts: an f32 scale per row, symmetric codes), i32 [B, Hkv, T, 1 + D·bits/32],
 * and dequantizes the whole cache for attention each step.
 */
import type { Hal } from '../../kernels/hal/hal';
import { fitsRows, type RowBits } from '../../kernels/quant/rows';
import { numel, type Tensor } from '../../kernels/tensor/tensor';
import type { Scope } from './graph';

export class KvCache {
  private readonly keys: (Tensor | null)[];
  private readonly values: (Tensor | null)[];
  /** Positions held (the prompt plus generated tokens so far). */
  length = 0;

  constructor(
    private readonly hal: Hal,
    readonly layers: number,
    /** Quantize stored rows to 8 or 4 bits; f32 when absent. */
    readonly bits: RowBits | null = null,
  ) {
    this.keys = new Array(layers).fill(null);
    this.values = new Array(layers).fill(null);
  }

  /** Adds this step's k, v [B, Hkv, S, D] to `layer`; returns the whole cache for attention. */
  async append(s: Scope, layer: number, k: Tensor, v: Tensor): Promise<[Tensor, Tensor]> {
    const cols = k.shape[k.shape.length - 1] as number;
    if (this.bits !== null && fitsRows(cols, this.bits)) {
      const bits = this.bits;
      const qk = await s.run('quantizeRows', [await s.dense(k)], { bits });
      const qv = await s.run('quantizeRows', [await s.dense(v)], { bits });
      const stored = await this.store(s, layer, qk, qv);
      return [
        await s.run('dequantizeRows', [stored[0]], { bits, cols }),
        await s.run('dequantizeRows', [stored[1]], { bits, cols }),
      ];
    }
    return this.store(s, layer, k, v);
  }

  /** Bytes the cache holds now (4 a stored element: f32 values or i32 words). */
  get bytes(): number {
    let total = 0;
    for (const t of [...this.keys, ...this.values]) if (t) total += numel(t) * 4;
    return total;
  }

  private async store(s: Scope, layer: number, k: Tensor, v: Tensor): Promise<[Tensor, Tensor]> {
    const pastK = this.keys[layer] ?? null;
    const pastV = this.values[layer] ?? null;
    const nextK = pastK ? await s.run('concat', [pastK, k], { axis: 2 }) : await s.dense(k);
    const nextV = pastV ? await s.run('concat', [pastV, v], { axis: 2 }) : await s.dense(v);
    s.release(nextK, nextV);
    if (pastK) this.hal.dispose(pastK);
    if (pastV) this.hal.dispose(pastV);
    this.keys[layer] = nextK;
    this.values[layer] = nextV;
    return [nextK, nextV];
  }

  dispose(): void {
    for (const t of [...this.keys, ...this.values]) if (t) this.hal.dispose(t);
    this.keys.fill(null);
    this.values.fill(null);
    this.length = 0;
  }
}

/**
 * Keys and values of every past position, per layer, kept on the HAL between decode steps so
 * each new token attends over the cache instead of recomputing the prompt.
 *
 * Layer tensors are [B, Hkv, T, D]. Appending concatenates along T into a fresh tensor and
 * frees the old one: O(T) copying per step, simple and exact; a preallocated ring with in-place
 * writes is the next step when decode length dominates.
 */
import type { Hal } from '../../kernels/hal/hal';
import type { Tensor } from '../../kernels/tensor/tensor';
import type { Scope } from './graph';

export class KvCache {
  private readonly keys: (Tensor | null)[];
  private readonly values: (Tensor | null)[];
  /** Positions held (the prompt plus generated tokens so far). */
  length = 0;

  constructor(
    private readonly hal: Hal,
    readonly layers: number,
  ) {
    this.keys = new Array(layers).fill(null);
    this.values = new Array(layers).fill(null);
  }

  /** Adds this step's k, v [B, Hkv, S, D] to `layer`; returns the whole cache for attention. */
  async append(s: Scope, layer: number, k: Tensor, v: Tensor): Promise<[Tensor, Tensor]> {
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

/**
 * Running a model's ops on the HAL without leaking device memory.
 *
 * A `Scope` runs ops and remembers every tensor they produce; `close(keep)` frees all of them
 * except the storages the kept tensors use (a view shares its source's storage, so a kept view
 * keeps its source alive). Weights live outside every scope. Each model stage runs in its own
 * scope, so at most one layer's intermediates are alive at a time.
 */
import type { OpInputs, OpName, OpParams } from '../../kernels/backend/ops';
import type { Hal } from '../../kernels/hal/hal';
import type { TypedArray } from '../../kernels/tensor/dtype';
import {
  cpuTensor,
  isDense,
  numel,
  reshape as reshapeView,
  type Storage,
  type Tensor,
} from '../../kernels/tensor/tensor';

export class Scope {
  private readonly made: Tensor[] = [];

  constructor(readonly hal: Hal) {}

  async run<K extends OpName>(op: K, inputs: OpInputs<K>, params: OpParams<K>): Promise<Tensor> {
    const t = await this.hal.run(op, inputs, params);
    this.made.push(t);
    return t;
  }

  /** Puts host data on the preferred backend (positions, masks), owned by this scope. */
  upload(data: TypedArray, shape: readonly number[]): Tensor {
    const t = this.hal.upload(cpuTensor(data, shape));
    this.made.push(t);
    return t;
  }

  /** A reshape that copies first when the tensor is not contiguous. */
  async reshape(t: Tensor, shape: readonly number[]): Promise<Tensor> {
    const view = reshapeView(t, shape);
    if (view) return view;
    const dense = await this.run('contiguous', [t], {});
    return reshapeView(dense, shape) as Tensor;
  }

  /** A dense copy (or `t` itself when it already is dense). */
  async dense(t: Tensor): Promise<Tensor> {
    return isDense(t) ? t : this.run('contiguous', [t], {});
  }

  /** Frees everything this scope made except what `keep` (and views of it) still uses. */
  close(keep: readonly (Tensor | null | undefined)[] = []): void {
    const kept = new Set<Storage>();
    for (const t of keep) if (t) kept.add(t.storage);
    const freed = new Set<Storage>();
    for (const t of this.made.splice(0)) {
      if (kept.has(t.storage) || freed.has(t.storage)) continue;
      freed.add(t.storage);
      this.hal.dispose(t);
    }
  }

  /** Hands tensors to another scope (or to the caller) so `close` here leaves them alone. */
  release(...tensors: Tensor[]): void {
    const storages = new Set(tensors.map((t) => t.storage));
    for (let i = this.made.length - 1; i >= 0; i--) {
      if (storages.has((this.made[i] as Tensor).storage)) this.made.splice(i, 1);
    }
  }
}

/** Runs `body` in a fresh scope; everything it made is freed except what it returns. */
export async function scoped<T extends Tensor | Tensor[] | Record<string, Tensor>>(
  hal: Hal,
  body: (s: Scope) => Promise<T>,
): Promise<T> {
  const s = new Scope(hal);
  let result: T | undefined;
  try {
    result = await body(s);
    return result;
  } finally {
    const keep = result === undefined ? [] : tensorsOf(result);
    s.close(keep);
  }
}

function tensorsOf(value: Tensor | Tensor[] | Record<string, Tensor>): Tensor[] {
  if (Array.isArray(value)) return value;
  if ('storage' in value && 'shape' in value) return [value as Tensor];
  return Object.values(value as Record<string, Tensor>);
}

export const elements = numel;

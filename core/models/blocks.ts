/**
 * Building blocks the architectures share: linear layers, multi-head self-attention with an
 * optional KV cache and rotary embeddings, and the small reshapes between them. Every function
 * takes the stage's `Scope`, so whatever it makes is freed with the stage.
 */
import type { Activation } from '../../kernels/backend/ops';
import { permute, slice, type Tensor } from '../../kernels/tensor/tensor';
import type { Scope } from './graph';
import type { KvCache } from './kv-cache';
import { isQuantized, type LinearWeight } from './quantize';

/**
 * x [..., in] · Wᵀ + b. `weightLayout` 'out-in' is torch.nn.Linear's [out, in]; 'in-out' is
 * GPT-2's Conv1D [in, out]. A quantized W is always stored [out, in] (Params.linear transposes
 * Conv1D weights when packing), so the layout only matters for f32 tensors.
 */
export async function linear(
  s: Scope,
  x: Tensor,
  w: LinearWeight,
  b: Tensor | null,
  activation: Activation = 'none',
  weightLayout: 'out-in' | 'in-out' = 'out-in',
): Promise<Tensor> {
  const inner = x.shape[x.shape.length - 1] as number;
  const lead = x.shape.slice(0, -1);
  const rows = lead.reduce((a, d) => a * d, 1);
  const x2 = await s.reshape(x, [rows, inner]);
  if (isQuantized(w)) {
    const { packed, params, format, n, k } = w;
    const y = await s.run('qmatmul', b ? [x2, packed, params, b] : [x2, packed, params], {
      format,
      n,
      k,
      activation,
    });
    return s.reshape(y, [...lead, n]);
  }
  const out = weightLayout === 'out-in' ? (w.shape[0] as number) : (w.shape[1] as number);
  const y = await s.run('matmul', b ? [x2, w, b] : [x2, w], {
    transB: weightLayout === 'out-in',
    activation,
  });
  return s.reshape(y, [...lead, out]);
}

export interface AttentionShape {
  batch: number;
  seq: number;
  heads: number;
  kvHeads: number;
  headDim: number;
}

export interface SelfAttentionOptions {
  causal: boolean;
  /** Valid key count per batch row (right padding), i32 [B]. */
  kvLengths?: Tensor | null;
  rotary?: { theta: number; positionOffset: number };
  /** Appends this step's keys/values to layer `layer` of the cache and attends over all of them. */
  cache?: { cache: KvCache; layer: number };
}

/** [B, S, H·D] → [B, H, S, D] (a view). */
async function splitHeads(s: Scope, x: Tensor, b: number, seq: number, h: number, d: number) {
  return permute(await s.reshape(x, [b, seq, h, d]), [0, 2, 1, 3]);
}

/**
 * Scaled dot-product self-attention on projected q [B, S, Hq·D], k and v [B, S, Hkv·D];
 * returns [B, S, Hq·D] ready for the output projection.
 */
export async function selfAttention(
  s: Scope,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  shape: AttentionShape,
  options: SelfAttentionOptions,
): Promise<Tensor> {
  const { batch, seq, heads, kvHeads, headDim } = shape;
  let qh = await splitHeads(s, q, batch, seq, heads, headDim);
  let kh = await splitHeads(s, k, batch, seq, kvHeads, headDim);
  let vh = await splitHeads(s, v, batch, seq, kvHeads, headDim);
  if (options.rotary) {
    const p = { theta: options.rotary.theta, positionOffset: options.rotary.positionOffset };
    qh = await s.run('rotary', [qh], p);
    kh = await s.run('rotary', [kh], p);
  }
  if (options.cache) {
    [kh, vh] = await options.cache.cache.append(s, options.cache.layer, kh, vh);
  }
  const inputs: [Tensor, Tensor, Tensor] | [Tensor, Tensor, Tensor, Tensor] = options.kvLengths
    ? [qh, kh, vh, options.kvLengths]
    : [qh, kh, vh];
  const out = await s.run('attention', inputs, { causal: options.causal });
  return s.reshape(permute(out, [0, 2, 1, 3]), [batch, seq, heads * headDim]);
}

/** Row `index` of axis 1: x [B, S, H] → [B, H] (CLS token, or the last position). */
export async function pickPosition(s: Scope, x: Tensor, index: number): Promise<Tensor> {
  const [b, , h] = x.shape as [number, number, number];
  return s.reshape(slice(x, 1, index, index + 1), [b, h]);
}

/** x + y (same shape, or y broadcast over x's leading axes). */
export const add = (s: Scope, x: Tensor, y: Tensor) => s.run('binary', [x, y], { fn: 'add' });

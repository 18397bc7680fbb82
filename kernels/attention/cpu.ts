/**
 * CPU reference: scaled dot-product attention with causal and padding masks, grouped-query
 * heads and a KV cache.
 *
 * q [B, Hq, Sq, D]; k, v [B, Hkv, Skv, D] with Hq a multiple of Hkv (query head h reads KV
 * head h / (Hq / Hkv)); kvLengths i32 [B] (optional) masks keys at and after it (padding).
 * With `causal`, query i sits at absolute position Skv - Sq + i (the cache holds the past)
 * and sees keys up to that position. A query that sees no key returns zeros.
 */
import type { OpInputs, OpParams } from '../backend/ops';
import { cpuTensor, cpuToDense, type Tensor } from '../tensor/tensor';

export interface AttentionDims {
  batch: number;
  heads: number;
  kvHeads: number;
  seqQ: number;
  seqKv: number;
  headDim: number;
}

export function attentionDims(q: Tensor, k: Tensor, v: Tensor): AttentionDims {
  if (q.shape.length !== 4 || k.shape.length !== 4 || v.shape.length !== 4) {
    throw new RangeError('attention needs rank-4 q, k, v');
  }
  const [batch, heads, seqQ, headDim] = q.shape as [number, number, number, number];
  const [kb, kvHeads, seqKv, kd] = k.shape as [number, number, number, number];
  const same = v.shape.every((d, i) => d === k.shape[i]);
  if (kb !== batch || kd !== headDim || !same || heads % kvHeads !== 0) {
    throw new RangeError(
      `attention shapes q [${q.shape.join(', ')}] k [${k.shape.join(', ')}] v [${v.shape.join(', ')}] do not fit`,
    );
  }
  return { batch, heads, kvHeads, seqQ, seqKv, headDim };
}

export function attentionCpu(inputs: OpInputs<'attention'>, p: OpParams<'attention'>): Tensor {
  const [q, k, v, lengths] = inputs;
  const d = attentionDims(q, k, v);
  const scale = p.scale ?? 1 / Math.sqrt(d.headDim);
  const qd = cpuToDense(q);
  const kd = cpuToDense(k);
  const vd = cpuToDense(v);
  const lens = lengths ? cpuToDense(lengths) : null;
  const out = new Float32Array(qd.length);
  const scores = new Float64Array(d.seqKv);
  const group = d.heads / d.kvHeads;
  for (let b = 0; b < d.batch; b++) {
    const valid = Math.min(d.seqKv, lens ? (lens[b] as number) : d.seqKv);
    for (let h = 0; h < d.heads; h++) {
      const kvBase = (b * d.kvHeads + Math.floor(h / group)) * d.seqKv * d.headDim;
      for (let i = 0; i < d.seqQ; i++) {
        const qBase = ((b * d.heads + h) * d.seqQ + i) * d.headDim;
        const last = p.causal ? Math.min(valid, d.seqKv - d.seqQ + i + 1) : valid;
        if (last <= 0) continue;
        let max = Number.NEGATIVE_INFINITY;
        for (let j = 0; j < last; j++) {
          let dot = 0;
          for (let c = 0; c < d.headDim; c++) {
            dot += (qd[qBase + c] as number) * (kd[kvBase + j * d.headDim + c] as number);
          }
          scores[j] = dot * scale;
          max = Math.max(max, scores[j] as number);
        }
        let sum = 0;
        for (let j = 0; j < last; j++) {
          scores[j] = Math.exp((scores[j] as number) - max);
          sum += scores[j] as number;
        }
        for (let c = 0; c < d.headDim; c++) {
          let acc = 0;
          for (let j = 0; j < last; j++)
            acc += (scores[j] as number) * (vd[kvBase + j * d.headDim + c] as number);
          out[qBase + c] = acc / sum;
        }
      }
    }
  }
  return cpuTensor(out, q.shape);
}

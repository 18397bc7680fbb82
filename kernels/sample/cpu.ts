/**
 * Token sampling from one row of logits: temperature, top-k, then top-p (nucleus), then a draw.
 * It runs on the CPU on purpose: it reads one vocab-sized row per token, and the draw needs the
 * caller's random source (seedable for reproducible generations). Greedy decoding on the GPU is
 * the `argmax` op.
 */
export interface SampleParams {
  /** 0 means greedy (argmax). */
  temperature: number;
  /** Keep the k most likely tokens; 0 keeps all. */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p; 1 keeps all. */
  topP?: number;
  /** Uniform in [0, 1). */
  random: () => number;
}

/** Returns the sampled token id. */
export function sampleCpu(logits: Float32Array, p: SampleParams): number {
  if (logits.length === 0) throw new RangeError('sample needs at least one logit');
  const order = [...logits.keys()].sort(
    (a, b) => (logits[b] as number) - (logits[a] as number) || a - b,
  );
  if (p.temperature <= 0) return order[0] as number;
  const keep = p.topK && p.topK > 0 ? Math.min(p.topK, order.length) : order.length;
  const top = order.slice(0, keep);
  const max = logits[top[0] as number] as number;
  const weights = top.map((i) => Math.exp(((logits[i] as number) - max) / p.temperature));
  const total = weights.reduce((s, w) => s + w, 0);
  const topP = p.topP ?? 1;
  let cut = weights.length;
  if (topP < 1) {
    let mass = 0;
    for (let i = 0; i < weights.length; i++) {
      mass += (weights[i] as number) / total;
      if (mass >= topP) {
        cut = i + 1;
        break;
      }
    }
  }
  const kept = weights.slice(0, cut);
  const keptTotal = kept.reduce((s, w) => s + w, 0);
  let r = p.random() * keptTotal;
  for (let i = 0; i < kept.length; i++) {
    r -= kept[i] as number;
    if (r < 0) return top[i] as number;
  }
  return top[cut - 1] as number;
}

/** Mulberry32: a tiny, fast, seedable 32-bit generator; floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

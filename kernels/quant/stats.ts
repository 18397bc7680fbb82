/** Error measures of a quantized result against its f32 (or f64) reference, and test operands. */
import { rng } from '../testing/random';

export interface ErrorStats {
  cosine: number;
  maxAbs: number;
  /** Largest |reference| value. */
  maxRef: number;
  /** maxAbs / maxRef. */
  maxRel: number;
}

export function errorStats(got: ArrayLike<number>, want: ArrayLike<number>): ErrorStats {
  if (got.length !== want.length) throw new RangeError(`${got.length} ≠ ${want.length} values`);
  let dot = 0;
  let gg = 0;
  let ww = 0;
  let maxAbs = 0;
  let maxRef = 0;
  for (let i = 0; i < got.length; i++) {
    const g = got[i] as number;
    const w = want[i] as number;
    dot += g * w;
    gg += g * g;
    ww += w * w;
    maxAbs = Math.max(maxAbs, Math.abs(g - w));
    maxRef = Math.max(maxRef, Math.abs(w));
  }
  const cosine = gg === 0 || ww === 0 ? (gg === ww ? 1 : 0) : dot / Math.sqrt(gg * ww);
  return { cosine, maxAbs, maxRef, maxRel: maxRef === 0 ? maxAbs : maxAbs / maxRef };
}

/** N(0, 1) samples (Box–Muller) from a seeded generator. */
export function normal(r: () => number, length: number, std = 1): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i += 2) {
    const u = Math.max(r(), 1e-12);
    const v = r();
    const mag = std * Math.sqrt(-2 * Math.log(u));
    out[i] = mag * Math.cos(2 * Math.PI * v);
    if (i + 1 < length) out[i + 1] = mag * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/**
 * W [N, K] ~ N(0, 0.02²) and x [M, K] ~ N(0, 1), with 1% of the K columns (the same in both)
 * scaled ×8 in W and ×4 in x: the outlier features of trained LLM weights and activations.
 */
export function realisticOperands(seed: number, m: number, n: number, k: number) {
  const r = rng(seed);
  const w = normal(r, n * k, 0.02);
  const x = normal(r, m * k);
  const outliers = new Set<number>();
  while (outliers.size < Math.max(1, Math.round(k / 100))) outliers.add(Math.floor(r() * k));
  for (const c of outliers) {
    for (let row = 0; row < n; row++) w[row * k + c] = (w[row * k + c] as number) * 8;
    for (let row = 0; row < m; row++) x[row * k + c] = (x[row * k + c] as number) * 4;
  }
  return { w, x };
}

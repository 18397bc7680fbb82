/** Seeded generators for test data: every failure names a seed that reproduces it. */

import { seededRandom } from '../sample/cpu';

/** Mulberry32 (the sampler's generator): floats in [0, 1) from a seed. */
export const rng = seededRandom;

export function uniform(random: () => number, length: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = lo + (hi - lo) * random();
  return out;
}

/** An integer in [lo, hi]. */
export const int = (random: () => number, lo: number, hi: number): number =>
  lo + Math.floor(random() * (hi - lo + 1));

export const pick = <T>(random: () => number, items: readonly T[]): T =>
  items[Math.floor(random() * items.length)] as T;

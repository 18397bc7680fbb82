/**
 * Which matmul program runs for a shape on an adapter. Tiles only pay off when the output
 * fills them: decode steps (M = 1) and tiny products run the simple kernel; big products get
 * the largest tile the adapter's workgroup limits allow.
 */
import type { Capabilities } from '../hal/capabilities';

export interface MatmulShape {
  batch: number;
  m: number;
  k: number;
  n: number;
  transA: boolean;
  transB: boolean;
}

export type MatmulStrategy =
  | { kind: 'simple' }
  /** Split-K matrix-vector program for M ≤ GEMV_MAX_ROWS (decode steps). */
  | { kind: 'gemv' }
  | {
      kind: 'tiled';
      /** Output tile per workgroup (rows × cols), K step, and outputs per thread (rows × cols). */
      bm: number;
      bn: number;
      bk: number;
      tm: number;
      tn: number;
      /** Operand loads as vec4 along its contiguous axis (that axis is a multiple of 4). */
      vec4A: boolean;
      vec4B: boolean;
    };

/** Per-adapter tile choices, keyed by `Capabilities.vendor`; `default` for the rest. */
export const MATMUL_TILES: Record<
  string,
  {
    large: [number, number, number, number, number];
    small: [number, number, number, number, number];
  }
> = {
  // [bm, bn, bk, tm, tn]. H100 sweep at 4096³ (npm run bench:kernels -- --full, 2026-11-26):
  // 128×128×16 8×8 24–27 TFLOPS, 128×64×16 8×4 24–27, 128×128×8 23–27, 64×64×16 4×4 19–25,
  // 128×128×32 8×8 15–18 (32 KiB of workgroup memory halves occupancy).
  nvidia: { large: [128, 128, 16, 8, 8], small: [64, 64, 16, 4, 4] },
  default: { large: [128, 128, 16, 8, 8], small: [64, 64, 16, 4, 4] },
};

function fits(caps: Capabilities, [bm, bn, bk, tm, tn]: readonly number[]): boolean {
  const threads = ((bm as number) / (tm as number)) * ((bn as number) / (tn as number));
  const sharedBytes = ((bm as number) + (bn as number)) * (bk as number) * 4;
  return (
    threads <= caps.limits.maxComputeInvocationsPerWorkgroup &&
    (bn as number) / (tn as number) <= caps.limits.maxComputeWorkgroupSizeX &&
    sharedBytes <= caps.limits.maxComputeWorkgroupStorageSize
  );
}

/** Up to this many rows of A, B is read once per row by the split-K GEMV program. */
export const GEMV_MAX_ROWS = 4;

export function chooseMatmulStrategy(s: MatmulShape, caps: Capabilities): MatmulStrategy {
  const tiles = MATMUL_TILES[caps.vendor] ?? MATMUL_TILES.default;
  // 256 threads per workgroup; K long enough that splitting it beats one thread per output.
  if (s.m <= GEMV_MAX_ROWS && s.k >= 64 && caps.limits.maxComputeInvocationsPerWorkgroup >= 256) {
    return { kind: 'gemv' };
  }
  if (!tiles || s.m < 16 || s.n < 16 || s.batch * s.m * s.n < 64 * 64) return { kind: 'simple' };
  const pick = s.m >= 512 && s.n >= 512 && fits(caps, tiles.large) ? tiles.large : tiles.small;
  if (!fits(caps, pick)) return { kind: 'simple' };
  const [bm, bn, bk, tm, tn] = pick;
  return {
    kind: 'tiled',
    bm,
    bn,
    bk,
    tm,
    tn,
    vec4A: (s.transA ? s.m : s.k) % 4 === 0,
    vec4B: (s.transB ? s.k : s.n) % 4 === 0,
  };
}

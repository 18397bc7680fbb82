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
      /**
       * The dims ('m', 'n', 'k', in that order) that are multiples of their tile: their checks
       * are left out of the program. Absent: all checked.
       */
      aligned?: string;
      /** Workgroup-memory tiles: 1, or 2 (double-buffered: one barrier per K step). Absent: 1. */
      buffers?: 1 | 2;
      /** The k loop of a tile unrolled in the WGSL. Absent: true. */
      unroll?: boolean;
    };

/** One tile choice: sizes as in the strategy, plus its buffering and unrolling. */
export interface TileChoice {
  bm: number;
  bn: number;
  bk: number;
  tm: number;
  tn: number;
  buffers: 1 | 2;
  unroll: boolean;
  /**
   * The dims ('m', 'n', 'k') whose alignment the program may exploit (dropping their checks).
   * Absent: all three. On the H100/H200 the fully checked program measured faster than the
   * check-free one at 4096³ (see MATMUL_TILES), so it is a per-adapter choice.
   */
  exploit?: string;
}

const tile = (
  bm: number,
  bn: number,
  bk: number,
  tm: number,
  tn: number,
  buffers: 1 | 2 = 1,
  exploit?: string,
): TileChoice => ({
  bm,
  bn,
  bk,
  tm,
  tn,
  buffers,
  unroll: true,
  ...(exploit === undefined ? {} : { exploit }),
});

/** Per-adapter tile choices, keyed by `Capabilities.vendor`; `default` for the rest. */
export const MATMUL_TILES: Record<string, { large: TileChoice; small: TileChoice }> = {
  // H100 sweep at 4096³ of the first tiled program (no prefetch, bounds checks everywhere;
  // npm run bench:kernels -- --full, 2026-11-26): 128×128×16 8×8 24–27 TFLOPS, 128×64×16 8×4
  // 24–27, 128×128×8 23–27, 64×64×16 4×4 19–25, 128×128×32 8×8 15–18.
  // Register-prefetch program on an H200 (bench:kernels -- --full, two calls beside PyTorch's
  // cuBLAS at 51.4 TFLOPS, 2026-11-26), 4096³ in TFLOPS, by the aligned dims exploited:
  // 128×128×16 8×8: 'mnk' 29.5, 'nk' 29.4, 'mk' 29.5, 'mn' 39.6, '' 38.8–39.1 — what matters is
  // keeping the K check: its if/else around the prefetch loads keeps them issued ahead of the
  // FMA block (without it NVIDIA's compiler appears to sink them to their stores).
  // 128×128×32: 'mnk' 33.7–40.0, '' 39.1 (looped k 28.7); 128×128×8 '' 35.5; 128×64×32 8×4 34.2
  // (double-buffered 32.1); 64×128×32 4×8 db 30.9; double buffering never won (b2 128×128×16 28.9).
  // BERT FFN 2048×768×3072: 128×128×32 '' 33.3, 128×64×16 31.6, 64×64×16 28.1.
  // Dawn's robustness clamps cost 5–10% (disable_robustness: 42.0 checked, 44.5 at bk 32).
  nvidia: { large: tile(128, 128, 32, 8, 8, 1, ''), small: tile(64, 64, 16, 4, 4) },
  default: { large: tile(128, 128, 16, 8, 8), small: tile(64, 64, 16, 4, 4) },
};

/** Workgroup memory a tile choice needs, in bytes. */
export const tileSharedBytes = (t: Pick<TileChoice, 'bm' | 'bn' | 'bk'> & { buffers?: number }) =>
  (t.bm + t.bn) * t.bk * 4 * (t.buffers ?? 1);

function fits(caps: Capabilities, t: TileChoice): boolean {
  const threads = (t.bm / t.tm) * (t.bn / t.tn);
  return (
    threads <= caps.limits.maxComputeInvocationsPerWorkgroup &&
    threads <= caps.limits.maxComputeWorkgroupSizeX &&
    tileSharedBytes(t) <= caps.limits.maxComputeWorkgroupStorageSize
  );
}

/** Which of M, N, K are multiples of the strategy's tile (as the `aligned` string says). */
export function alignedDims(
  c: { m: number; n: number; k: number },
  bm: number,
  bn: number,
  bk: number,
): string {
  return `${c.m % bm === 0 ? 'm' : ''}${c.n % bn === 0 ? 'n' : ''}${c.k % bk === 0 ? 'k' : ''}`;
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
  const { bm, bn, bk, tm, tn, buffers, unroll, exploit = 'mnk' } = pick;
  const aligned = [...alignedDims(s, bm, bn, bk)].filter((d) => exploit.includes(d)).join('');
  return {
    kind: 'tiled',
    bm,
    bn,
    bk,
    tm,
    tn,
    vec4A: (s.transA ? s.m : s.k) % 4 === 0,
    vec4B: (s.transB ? s.k : s.n) % 4 === 0,
    aligned,
    buffers,
    unroll,
  };
}

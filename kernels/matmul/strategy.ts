/**
 * Which matmul program runs for a shape on an adapter. Tiles only pay off when the output
 * fills them: decode steps (M = 1) and tiny products run the simple kernel; big products get
 * the largest tile the adapter's workgroup limits allow.
 */
import type { Capabilities } from '../hal/capabilities';
import { pickF16Config, type SubgroupMatrixStrategy, subgroupMatrixTile } from './subgroup-matrix';

export interface MatmulShape {
  batch: number;
  m: number;
  k: number;
  n: number;
  transA: boolean;
  transB: boolean;
  /** Element types of A and B in storage (absent: f32). f16 is read as f32 or fed to tensor cores; sums are f32. */
  aType?: 'f32' | 'f16';
  bType?: 'f32' | 'f16';
}

export type MatmulStrategy =
  | { kind: 'simple' }
  /** Tensor cores through subgroup matrices (an operand is f16; subgroup-matrix.ts). */
  | SubgroupMatrixStrategy
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

/**
 * Subgroup-matrix tiles: [subgroup rows, cols, result matrices per subgroup rows, cols, bk].
 * H100 sweeps at 4096³ f16 (bench:kernels -- --full, 2026-11-27, three calls; cuBLAS fp16
 * 673–686 TFLOPS in the same calls; results in kernels/bench/results/h100-f16-*.txt), TFLOPS:
 * 2×2 subgroups of 4×4 matrices (128×128 tile), single-buffered: 158.9 / 159.3 / 160.0 (bk 16:
 * 164.5 / 166.8; bk 64: 153.1; 16-byte loads: 156.1 / 160.0; double-buffered: 34.4 / 26.0 /
 * 35.0); 2×4 of 4×4: 160.3 / 109.4; 4×2 of 4×4: 158.3 / 68.4; 2×4 of 4×2: 138.4 / 139.6 /
 * 95.2; 2×2 of 2×2: 129.3 / 121.4; 4×8 or 8×4 per subgroup: 17.8 / 18.9 (register spills).
 * Without staging (matrices loaded from storage) the 2×2 of 4×4 tile did 73.2.
 */
export const SUBGROUP_MATRIX_TILES = {
  large: [2, 2, 4, 4, 32],
  small: [2, 2, 2, 2, 32],
} as const;

/**
 * The tensor-core program when an operand is f16 and the adapter has f16 → f32 subgroup
 * matrices with one fixed subgroup size; null otherwise (the tiled f16 program runs).
 */
export function subgroupMatrixStrategy(
  s: MatmulShape,
  caps: Capabilities,
  tile: readonly [number, number, number, number, number] = s.m >= 256 && s.n >= 256
    ? SUBGROUP_MATRIX_TILES.large
    : SUBGROUP_MATRIX_TILES.small,
  buffers?: 1 | 2,
): SubgroupMatrixStrategy | null {
  const cfg = pickF16Config(caps.subgroupMatrixConfigs);
  const size = caps.subgroupMaxSize;
  if (!cfg || !caps.subgroupMatrix || !caps.shaderF16) return null;
  if (size === 0 || caps.subgroupMinSize !== size) return null;
  if (s.aType !== 'f16' && s.bType !== 'f16') return null;
  const [sr, sc, tm, tn, bk] = tile;
  const base: SubgroupMatrixStrategy = {
    kind: 'subgroup-matrix',
    cm: cfg.M,
    cn: cfg.N,
    ck: cfg.K,
    sr,
    sc,
    tm,
    tn,
    bk: Math.max(bk, cfg.K),
    subgroupSize: size,
    buffers: buffers ?? 1,
    vec4A: (s.transA ? s.m : s.k) % 4 === 0,
    vec4B: (s.transB ? s.k : s.n) % 4 === 0,
    aligned: '',
  };
  const fitsIn = (st: SubgroupMatrixStrategy) => {
    const t = subgroupMatrixTile(st, s);
    return (
      t.threads <= caps.limits.maxComputeInvocationsPerWorkgroup &&
      t.threads <= caps.limits.maxComputeWorkgroupSizeX &&
      t.bytes <= caps.limits.maxComputeWorkgroupStorageSize
    );
  };
  const pick = base;
  if (!fitsIn(pick) || pick.bk % cfg.K !== 0) return null;
  const t = subgroupMatrixTile(pick, s);
  return { ...pick, aligned: alignedDims(s, t.bm, t.bn, pick.bk) };
}

export function chooseMatmulStrategy(s: MatmulShape, caps: Capabilities): MatmulStrategy {
  const tiles = MATMUL_TILES[caps.vendor] ?? MATMUL_TILES.default;
  // Tensor cores once the output fills a few of their tiles; decode steps stay on the GEMV.
  if (s.m > GEMV_MAX_ROWS && s.m >= 16 && s.n >= 16) {
    const sm = subgroupMatrixStrategy(s, caps);
    if (sm) return sm;
  }
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

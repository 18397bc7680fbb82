/**
 * The conformance cases: every op over fixed edge shapes (size 1, odd sizes, sizes that are
 * not multiples of any tile, large K, views) and seeded random shapes, each with an explicit
 * tolerance. `fuzz` (TABPOOL_FUZZ=1) widens the random sweep and the sizes.
 */
import type { OpName, OpParams } from '../backend/ops';
import { quantCases } from '../quant/cases';
import type { Tensor } from '../tensor/tensor';
import { cpuTensor, permute, slice, transpose } from '../tensor/tensor';
import type { Tolerance } from '../testing/compare';
import { int, pick, rng, uniform } from '../testing/random';
import { f16Cases } from './f16-cases';

export interface OpCase<K extends OpName = OpName> {
  op: K;
  label: string;
  tolerance: Tolerance;
  /** Dense CPU inputs; `views[i]` (if any) turns input i into a view on every backend. */
  inputs: Tensor[];
  views?: (((t: Tensor) => Tensor) | null)[];
  params: OpParams<K>;
  /** An adapter feature the case needs on WebGPU; without it the case reports it did not run. */
  needs?: 'shader-f16';
}

type Random = () => number;
const f32 = (r: Random, shape: number[], lo = -1, hi = 1) =>
  cpuTensor(
    uniform(
      r,
      shape.reduce((a, b) => a * b, 1),
      lo,
      hi,
    ),
    shape,
  );
const ids = (r: Random, shape: number[], vocab: number) =>
  cpuTensor(
    Int32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => int(r, 0, vocab - 1)),
    shape,
  );

const EXACT: Tolerance = { abs: 0, rel: 0 };
/** f32 dot products of k terms in [-1, 1]: rounding grows with k (and the order differs by backend). */
const dotTolerance = (k: number): Tolerance => ({ abs: 2e-6 + 1e-7 * k, rel: 1e-5 });

function matmulCases(r: Random, fuzz: boolean): OpCase[] {
  const fixed: [number[], number[], OpParams<'matmul'>, boolean][] = [
    [[1, 1], [1, 1], {}, false],
    [[1, 7], [7, 1], {}, false],
    [[3, 5], [5, 7], {}, false],
    [[17, 31], [31, 13], { activation: 'gelu' }, true],
    [[65, 33], [33, 67], {}, false],
    [[64, 64], [64, 64], { activation: 'gelu-tanh' }, true],
    [[128, 64], [132, 64], { transB: true }, true],
    [[20, 96], [20, 72], { transA: true, activation: 'silu' }, false],
    [[77, 48], [36, 48], { transA: false, transB: true, activation: 'relu' }, true],
    [[1, 1024], [1024, 64], {}, true],
    [[3, 130], [70, 130], { transB: true, activation: 'silu' }, true],
    [[130, 72], [96, 72], { transB: true, activation: 'quick-gelu' }, true],
    [[1, 515], [33, 515], { transB: true }, false],
    [[2, 515], [515, 130], {}, false],
    [[2, 4, 1, 128], [2, 4, 128, 72], {}, false],
    [[5, 257], [257, 3], {}, false],
    [[2, 3, 19, 24], [24, 40], {}, true],
    [[2, 3, 33, 24], [2, 3, 24, 65], {}, false],
    [[2, 1, 70, 8], [3, 8, 66], {}, false],
    [[520, 36], [36, 516], {}, true],
    // Exact multiples of the large (128×128×16) and small (64×64×16) tiles: the programs
    // without edge checks, transB (Linear weights), batched with B shared, K tails.
    [[512, 48], [48, 512], { activation: 'gelu' }, true],
    [[512, 64], [512, 64], { transB: true }, true],
    [[512, 40], [40, 512], {}, false],
    [[520, 32], [512, 32], { transB: true, activation: 'silu' }, false],
    [[2, 64, 32], [32, 128], {}, true],
    [[64, 80], [80, 64], { transA: false, transB: false }, false],
    [[48, 128], [48, 64], { transA: true }, false],
  ];
  const cases: OpCase<'matmul'>[] = fixed.map(([sa, sb, params, bias]) => {
    const n = params.transB ? (sb[sb.length - 2] as number) : (sb[sb.length - 1] as number);
    const k = params.transB ? (sb[sb.length - 1] as number) : (sb[sb.length - 2] as number);
    return {
      op: 'matmul',
      label: `${sa.join('x')} · ${sb.join('x')} ${JSON.stringify(params)}${bias ? ' +bias' : ''}`,
      tolerance: dotTolerance(k),
      inputs: [f32(r, sa), f32(r, sb), ...(bias ? [f32(r, [n])] : [])],
      params,
    };
  });
  for (let i = 0; i < (fuzz ? 40 : 4); i++) {
    const big = fuzz ? 600 : 150;
    const [m, k, n] = [int(r, 1, big), int(r, 1, 2 * big), int(r, 1, big)];
    const transA = r() < 0.3;
    const transB = r() < 0.5;
    const batch = r() < 0.3 ? [int(r, 1, 3)] : [];
    const activation = pick(r, ['none', 'gelu', 'silu'] as const);
    cases.push({
      op: 'matmul',
      label: `random ${batch.join('x')} ${m}x${k}x${n} tA=${transA} tB=${transB} ${activation}`,
      tolerance: dotTolerance(k),
      inputs: [
        f32(r, [...batch, ...(transA ? [k, m] : [m, k])]),
        f32(r, transB ? [n, k] : [k, n]),
        f32(r, [n]),
      ],
      params: { transA, transB, activation },
    });
  }
  // A transposed view of A (strides, not a copy) must give the same answer.
  cases.push({
    op: 'matmul',
    label: 'A as a transposed view 40x24',
    tolerance: dotTolerance(24),
    inputs: [f32(r, [24, 40]), f32(r, [24, 30])],
    views: [(t) => transpose(t), null],
    params: {},
  });
  return cases;
}

function rowCases(r: Random, fuzz: boolean): OpCase[] {
  const shapes = [
    [1, 1],
    [1, 7],
    [3, 64],
    [5, 255],
    [2, 3, 257],
    [4, 1000],
    [1, 4099],
    ...(fuzz
      ? [
          [64, 30000],
          [700, 768],
        ]
      : []),
  ];
  const cases: OpCase[] = [];
  for (const shape of shapes) {
    const cols = shape[shape.length - 1] as number;
    cases.push({
      op: 'softmax',
      label: shape.join('x'),
      tolerance: { abs: 1e-7, rel: 1e-5 },
      inputs: [f32(r, shape, -8, 8)],
      params: {},
    });
    cases.push({
      op: 'layerNorm',
      label: shape.join('x'),
      tolerance: { abs: 2e-6, rel: 2e-5 },
      inputs: [f32(r, shape, -3, 5), f32(r, [cols]), f32(r, [cols])],
      params: { eps: 1e-5 },
    });
    cases.push({
      op: 'rmsNorm',
      label: shape.join('x'),
      tolerance: { abs: 2e-6, rel: 2e-5 },
      inputs: [f32(r, shape, -3, 5), f32(r, [cols])],
      params: { eps: 1e-6 },
    });
    cases.push({
      op: 'argmax',
      label: shape.join('x'),
      tolerance: EXACT,
      inputs: [f32(r, shape)],
      params: {},
    });
  }
  cases.push({
    op: 'softmax',
    label: 'sliced view 6x40 of 6x50',
    tolerance: { abs: 1e-7, rel: 1e-5 },
    inputs: [f32(r, [6, 50], -5, 5)],
    views: [(t) => slice(t, 1, 5, 45)],
    params: {},
  });
  return cases;
}

function elementwiseCases(r: Random, fuzz: boolean): OpCase[] {
  const cases: OpCase[] = [];
  const fns = [
    'gelu',
    'gelu-tanh',
    'quick-gelu',
    'silu',
    'relu',
    'sigmoid',
    'tanh',
    'exp',
    'neg',
    'identity',
  ] as const;
  for (const fn of fns) {
    cases.push({
      op: 'unary',
      label: `${fn} 3x333`,
      tolerance: fn === 'exp' ? { abs: 1e-6, rel: 2e-6 } : { abs: 2e-6, rel: 1e-5 },
      inputs: [f32(r, [3, 333], -6, 6)],
      params: { fn },
    });
  }
  cases.push({
    op: 'unary',
    label: 'gelu on a permuted view',
    tolerance: { abs: 2e-6, rel: 1e-5 },
    inputs: [f32(r, [4, 5, 6], -4, 4)],
    views: [(t) => permute(t, [2, 0, 1])],
    params: { fn: 'gelu' },
  });
  const pairs: [number[], number[]][] = [
    [[1], [1]],
    [
      [7, 9],
      [7, 9],
    ],
    [[2, 3, 4], [4]],
    [
      [5, 1, 3],
      [1, 6, 1],
    ],
    [
      [2, 1],
      [2, 3, 1, 4],
    ],
    [
      [300, 17],
      [300, 1],
    ],
  ];
  if (fuzz)
    pairs.push([
      [64, 128, 96],
      [128, 1],
    ]);
  for (const [sa, sb] of pairs) {
    for (const fn of ['add', 'sub', 'mul', 'div', 'max', 'min'] as const) {
      cases.push({
        op: 'binary',
        label: `${fn} [${sa}] [${sb}]`,
        tolerance: fn === 'div' ? { abs: 0, rel: 1e-6 } : EXACT,
        inputs: [f32(r, sa), f32(r, sb, fn === 'div' ? 0.5 : -1, fn === 'div' ? 2 : 1)],
        params: { fn },
      });
    }
  }
  cases.push({
    op: 'binary',
    label: 'add of a transposed view',
    tolerance: EXACT,
    inputs: [f32(r, [8, 5]), f32(r, [5, 8])],
    views: [(t) => transpose(t), null],
    params: { fn: 'add' },
  });
  return cases;
}

function layoutCases(r: Random): OpCase[] {
  return [
    {
      op: 'contiguous',
      label: 'transpose 33x65',
      tolerance: EXACT,
      inputs: [f32(r, [33, 65])],
      views: [(t) => transpose(t)],
      params: {},
    },
    {
      op: 'contiguous',
      label: 'permute 2x3x4x5 → 0,2,1,3',
      tolerance: EXACT,
      inputs: [f32(r, [2, 3, 4, 5])],
      views: [(t) => permute(t, [0, 2, 1, 3])],
      params: {},
    },
    {
      op: 'contiguous',
      label: 'slice 10x20 [2:7, :]',
      tolerance: EXACT,
      inputs: [f32(r, [10, 20])],
      views: [(t) => slice(slice(t, 0, 2, 7), 1, 3, 19)],
      params: {},
    },
    {
      op: 'concat',
      label: 'axis 1 of 3',
      tolerance: EXACT,
      inputs: [f32(r, [2, 3, 4]), f32(r, [2, 5, 4]), f32(r, [2, 1, 4])],
      params: { axis: 1 },
    },
    {
      op: 'concat',
      label: 'axis -1 with a view',
      tolerance: EXACT,
      inputs: [f32(r, [6, 4]), f32(r, [3, 6])],
      views: [null, (t) => transpose(t)],
      params: { axis: -1 },
    },
    {
      op: 'gather',
      label: 'vocab 50 dim 24, ids 3x7',
      tolerance: EXACT,
      inputs: [f32(r, [50, 24]), ids(r, [3, 7], 50)],
      params: {},
    },
    {
      op: 'gather',
      label: 'vocab 1 dim 1',
      tolerance: EXACT,
      inputs: [f32(r, [1, 1]), ids(r, [1], 1)],
      params: {},
    },
  ];
}

function modelCases(r: Random, fuzz: boolean): OpCase[] {
  const cases: OpCase[] = [];
  const rotary: [number[], OpParams<'rotary'>][] = [
    [[1, 2, 5, 8], { positionOffset: 0, theta: 10000 }],
    [[2, 3, 7, 64], { positionOffset: 13, theta: 10000 }],
    [[1, 4, 3, 32], { positionOffset: 100, theta: 500000, interleaved: true }],
    [[1, 2, 6, 80], { positionOffset: 5, theta: 10000, rotaryDim: 32 }],
  ];
  for (const [shape, params] of rotary) {
    // Angles are pos · freq in f32 and GPU sin/cos are accurate to ~2^-11 only: 1e-3 absolute.
    cases.push({
      op: 'rotary',
      label: `${shape.join('x')} ${JSON.stringify(params)}`,
      tolerance: { abs: 1e-3, rel: 0 },
      inputs: [f32(r, shape)],
      params,
    });
  }
  const attention: [number, number, number, number, number, number, boolean, number[] | null][] = [
    // batch, heads, kvHeads, seqQ, seqKv, headDim, causal, kvLengths
    [1, 1, 1, 1, 1, 8, false, null],
    [1, 2, 2, 7, 7, 16, true, null],
    [2, 4, 2, 9, 9, 32, true, null],
    [2, 4, 1, 1, 33, 64, true, null],
    [1, 3, 3, 5, 21, 24, true, null],
    [2, 2, 2, 13, 13, 16, false, [13, 6]],
    [2, 2, 1, 4, 40, 64, true, [40, 25]],
    [1, 2, 2, 70, 70, 64, true, null],
    [1, 1, 1, 3, 5, 100, false, null],
    [1, 2, 2, 5, 9, 30, true, null],
  ];
  if (fuzz)
    attention.push([1, 12, 12, 256, 256, 64, true, null], [1, 8, 2, 1, 1000, 128, true, null]);
  for (const [b, h, hkv, sq, skv, d, causal, lengths] of attention) {
    cases.push({
      op: 'attention',
      label: `b${b} h${h}/${hkv} q${sq} kv${skv} d${d}${causal ? ' causal' : ''}${lengths ? ` len ${lengths}` : ''}`,
      tolerance: { abs: 2e-6, rel: 2e-5 },
      inputs: [
        f32(r, [b, h, sq, d]),
        f32(r, [b, hkv, skv, d]),
        f32(r, [b, hkv, skv, d]),
        ...(lengths ? [cpuTensor(Int32Array.from(lengths), [b])] : []),
      ],
      params: { causal },
    });
  }
  const conv1d: [number[], number[], number, number][] = [
    [[1, 3, 10], [4, 3, 3], 1, 1],
    [[2, 5, 31], [6, 5, 3], 2, 1],
  ];
  for (const [xs, ws, stride, padding] of conv1d) {
    cases.push({
      op: 'conv1d',
      label: `${xs.join('x')} * ${ws.join('x')} s${stride} p${padding}`,
      tolerance: dotTolerance((ws[1] as number) * (ws[2] as number)),
      inputs: [f32(r, xs), f32(r, ws), f32(r, [ws[0] as number])],
      params: { stride: [stride], padding: [padding] },
    });
  }
  const conv2d: [number[], number[], number[], number[]][] = [
    [
      [1, 3, 32, 32],
      [8, 3, 16, 16],
      [16, 16],
      [0, 0],
    ],
    [
      [2, 2, 9, 7],
      [3, 2, 3, 3],
      [1, 2],
      [1, 1],
    ],
  ];
  for (const [xs, ws, stride, padding] of conv2d) {
    const k = (ws[1] as number) * (ws[2] as number) * (ws[3] as number);
    cases.push({
      op: 'conv2d',
      label: `${xs.join('x')} * ${ws.join('x')} s${stride} p${padding}`,
      tolerance: dotTolerance(k),
      inputs: [f32(r, xs), f32(r, ws), f32(r, [ws[0] as number])],
      params: { stride, padding },
    });
  }
  return cases;
}

export function conformanceCases(seed: number, fuzz: boolean): OpCase[] {
  const r = rng(seed);
  return [
    ...matmulCases(r, fuzz),
    ...rowCases(r, fuzz),
    ...elementwiseCases(r, fuzz),
    ...layoutCases(r),
    ...modelCases(r, fuzz),
    ...quantCases(r, fuzz),
    ...f16Cases(r),
  ];
}

/**
 * Conformance cases for the quantized ops (kernels/conformance runs them on every backend
 * against the CPU reference): every format × group size × scale storage through both programs
 * (GEMV for ≤ 4 rows of x, tiled otherwise), edge sizes, bias and activation; KV rows.
 *
 * Tolerance: both sides compute Σ over K of s·u·x in f32 in different orders, with terms up to
 * |s·u·x| ≲ 1 here, so the allowance grows with K like the f32 matmul's.
 */
import type { OpCase } from '../conformance/cases';
import { cpuTensor } from '../tensor/tensor';
import { uniform } from '../testing/random';
import { type QuantFormat, type QuantName, quantFormat, quantizeMatrix } from './format';

type Random = () => number;

function qmatmulCase(
  r: Random,
  m: number,
  n: number,
  k: number,
  format: QuantFormat,
  extra: { bias?: boolean; activation?: 'gelu' | 'silu' } = {},
): OpCase<'qmatmul'> {
  const w = uniform(r, n * k);
  const q = quantizeMatrix(w, n, k, format);
  const x = cpuTensor(uniform(r, m * k), [m, k]);
  const inputs = [
    x,
    cpuTensor(q.packed, [q.packed.length]),
    cpuTensor(q.params, [q.params.length]),
    ...(extra.bias ? [cpuTensor(uniform(r, n), [n])] : []),
  ];
  return {
    op: 'qmatmul',
    label: `${m}x${k} · q[${n}x${k}] int${format.bits} g${format.groupSize} ${format.scale}${format.asymmetric ? ' asym' : ''}${extra.bias ? ' +bias' : ''}${extra.activation ? ` ${extra.activation}` : ''}`,
    tolerance: { abs: 1e-5 + 4e-7 * k, rel: 1e-4 },
    inputs,
    params: { format, n, k, activation: extra.activation },
  };
}

/** Integer multiples of a power-of-two step: quantizeRows' codes are then exact on any backend. */
function gridRows(r: Random, rows: number, cols: number, bits: 8 | 4): Float32Array {
  const qmax = (1 << (bits - 1)) - 1;
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const step = 2 ** -Math.floor(r() * 6);
    for (let j = 0; j < cols; j++)
      out[i * cols + j] = step * (Math.floor(r() * (2 * qmax + 1)) - qmax);
    out[i * cols + Math.floor(r() * cols)] = step * qmax * (r() < 0.5 ? -1 : 1);
  }
  return out;
}

export function quantCases(r: Random, fuzz: boolean): OpCase[] {
  const cases: OpCase[] = [];
  const names: QuantName[] = ['int8', 'int4', 'int3', 'int2'];
  for (const name of names) {
    cases.push(qmatmulCase(r, 1, 67, 256, quantFormat(name)));
    cases.push(qmatmulCase(r, 3, 40, 128, quantFormat(name, { groupSize: 64, scale: 'f32' })));
    cases.push(qmatmulCase(r, 70, 65, 256, quantFormat(name, { groupSize: 128 }), { bias: true }));
  }
  cases.push(
    qmatmulCase(r, 4, 130, 512, quantFormat('int4', { asymmetric: true }), { activation: 'silu' }),
  );
  cases.push(
    qmatmulCase(r, 5, 9, 32, quantFormat('int8', { scale: 'f32' }), { activation: 'gelu' }),
  );
  cases.push(qmatmulCase(r, 2, 1, 64, quantFormat('int2', { asymmetric: false })));
  cases.push(qmatmulCase(r, 128, 128, 384, quantFormat('int3', { groupSize: 64 })));
  if (fuzz) {
    for (let i = 0; i < 8; i++) {
      const name = names[Math.floor(r() * 4)] as QuantName;
      const g = [32, 64, 128][Math.floor(r() * 3)] as 32 | 64 | 128;
      const m = 1 + Math.floor(r() * 150);
      cases.push(
        qmatmulCase(
          r,
          m,
          1 + Math.floor(r() * 300),
          g * (1 + Math.floor(r() * 8)),
          quantFormat(name, { groupSize: g }),
        ),
      );
    }
  }
  for (const bits of [8, 4] as const) {
    for (const [lead, cols] of [
      [[1, 2, 3], 64],
      [[2, 4, 5], 128],
      [[1, 1, 1], 32],
    ] as [number[], number][]) {
      const rows = lead.reduce((a, b) => a * b, 1);
      const x = cpuTensor(gridRows(r, rows, cols, bits), [...lead, cols]);
      cases.push({
        op: 'quantizeRows',
        label: `[${lead.join(', ')}, ${cols}] int${bits}`,
        tolerance: { abs: 0, rel: 0 },
        inputs: [x],
        params: { bits },
      });
      const words = 1 + (cols * bits) / 32;
      // Random codes under a random scale word: dequantizing is one exact product per value.
      const q = new Int32Array(rows * words);
      const f = new Float32Array(1);
      for (let i = 0; i < rows; i++) {
        f[0] = uniform(r, 1, 0.01, 2)[0] as number;
        q[i * words] = new Int32Array(f.buffer)[0] as number;
        for (let j = 1; j < words; j++) q[i * words + j] = (r() * 2 ** 32) | 0;
      }
      cases.push({
        op: 'dequantizeRows',
        label: `[${lead.join(', ')}, ${words}] int${bits} → ${cols}`,
        tolerance: { abs: 0, rel: 0 },
        inputs: [cpuTensor(q, [...lead, words])],
        params: { bits, cols },
      });
    }
  }
  return cases;
}

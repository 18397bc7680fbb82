/**
 * Fused attention in one dispatch (flash-attention style): a workgroup takes `bq` query rows of
 * one (batch, head), streams the keys and values of its KV head through workgroup memory in
 * blocks of `bkv`, and keeps a running max and sum per row (online softmax), so the Sq × Skv
 * score matrix never exists in memory. Causal and padding masks are applied per key; query
 * heads share KV heads by index (GQA); the keys may be a longer KV cache (Skv ≥ Sq).
 */
import type { OpInputs, OpParams } from '../backend/ops';
import type { Tensor } from '../tensor/tensor';
import { type GpuContext, runProgram } from '../webgpu/context';
import { f32Bits, type KernelProgram, pipelineCacheKey } from '../webgpu/program';
import { bufferOf, emptyGpu } from '../webgpu/tensor';
import { entry } from '../webgpu/wgsl';
import { type AttentionDims, attentionDims } from './cpu';

/** Emits `line(i)` for i in [0, n): register arrays then only see constant indices. */
const unroll = (n: number, line: (i: number) => string): string =>
  Array.from({ length: n }, (_, i) => line(i)).join('\n');

/** Largest head dim the program keeps in registers. */
export const MAX_HEAD_DIM = 256;

export interface AttentionPlan {
  bq: number;
  bkv: number;
}

/** Query rows per workgroup and keys per staged block, within the workgroup-memory limit. */
export function attentionPlan(d: AttentionDims, maxWorkgroupStorageBytes: number): AttentionPlan {
  const bq = d.seqQ >= 64 ? 64 : 16;
  let bkv = 32;
  const paddedDim = Math.ceil(d.headDim / 4) * 4;
  // K and V blocks plus each row's scores for the block.
  while (bkv > 4 && (2 * bkv * paddedDim + bq * bkv) * 4 > maxWorkgroupStorageBytes) bkv /= 2;
  return { bq, bkv };
}

export function attentionProgram(
  d: AttentionDims,
  plan: AttentionPlan,
  causal: boolean,
  scale: number,
  hasLengths: boolean,
): KernelProgram {
  const { bq, bkv } = plan;
  const D = d.headDim;
  // Head dims are padded to vec4s (zeros past D): dot products and FMAs run 4 wide.
  const D4 = Math.ceil(D / 4);
  const wgsl = `
@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
${hasLengths ? '@group(0) @binding(3) var<storage, read> lengths: array<i32>;' : ''}
@group(0) @binding(${hasLengths ? 4 : 3}) var<storage, read_write> out: array<f32>;
@group(0) @binding(${hasLengths ? 5 : 4}) var<storage, read> dims: array<u32>;
var<workgroup> Ks: array<vec4<f32>, ${bkv * D4}>;
var<workgroup> Vs: array<vec4<f32>, ${bkv * D4}>;
var<workgroup> Sc: array<f32, ${bq * bkv}>;
fn load4(buf: u32, base: u32, c: u32) -> vec4<f32> {
  var r = vec4<f32>(0.0);
  for (var i = 0u; i < 4u; i++) {
    if (c + i < ${D}u) { r[i] = select(v[base + c + i], k[base + c + i], buf == 0u); }
  }
  return r;
}
${entry([bq, 1, 1])}
  let heads = dims[0]; let kvHeads = dims[1]; let seqQ = dims[2]; let seqKv = dims[3];
  let scale = bitcast<f32>(dims[4]);
  let b = wid.z;
  let h = wid.y;
  let q0 = wid.x * ${bq}u;
  let i = q0 + lid;
  let live = i < seqQ;
  let kvBase = (b * kvHeads + h / (heads / kvHeads)) * seqKv * ${D}u;
  let qBase = ((b * heads + h) * seqQ + min(i, seqQ - 1u)) * ${D}u;
  let valid = ${hasLengths ? 'u32(clamp(lengths[b], 0, i32(seqKv)))' : 'seqKv'};
  // The last key any row of this workgroup may see: loop bound, uniform across the workgroup.
  let lastRow = min(q0 + ${bq}u, seqQ);
  let wgEnd = ${causal ? 'min(valid, seqKv - seqQ + lastRow)' : 'valid'};
  let myEnd = ${causal ? 'min(valid, seqKv - seqQ + i + 1u)' : 'valid'};
  var qr: array<vec4<f32>, ${D4}>;
  var acc: array<vec4<f32>, ${D4}>;
${unroll(D4, (c) => `  qr[${c}] = vec4<f32>(${[0, 1, 2, 3].map((e) => (c * 4 + e < D ? `q[qBase + ${c * 4 + e}u]` : '0.0')).join(', ')}) * scale;`)}
  var m_i = -3.4e38;
  var l_i = 0.0;
  for (var j0 = 0u; j0 < wgEnd; j0 += ${bkv}u) {
    for (var e = lid; e < ${bkv * D4}u; e += ${bq}u) {
      let key = j0 + e / ${D4}u;
      let c = (e % ${D4}u) * 4u;
      let inRange = key < wgEnd;
      let base = kvBase + min(key, seqKv - 1u) * ${D}u;
      Ks[e] = select(vec4<f32>(0.0), load4(0u, base, c), inRange);
      Vs[e] = select(vec4<f32>(0.0), load4(1u, base, c), inRange);
    }
    workgroupBarrier();
    if (live) {
      var bm = -3.4e38;
      for (var jj = 0u; jj < ${bkv}u; jj++) {
        var s = -3.4e38;
        if (j0 + jj < myEnd) {
          let kb = jj * ${D4}u;
          var d4 = vec4<f32>(0.0);
${unroll(D4, (c) => `          d4 = fma(qr[${c}], Ks[kb + ${c}u], d4);`)}
          s = d4.x + d4.y + d4.z + d4.w;
        }
        Sc[jj * ${bq}u + lid] = s;
        bm = max(bm, s);
      }
      if (bm > -3.0e38) {
        let m_new = max(m_i, bm);
        let corr = exp(m_i - m_new);
        l_i *= corr;
${unroll(D4, (c) => `        acc[${c}] *= corr;`)}
        for (var jj = 0u; jj < ${bkv}u; jj++) {
          let sj = Sc[jj * ${bq}u + lid];
          if (sj > -3.0e38) {
            let p = vec4<f32>(exp(sj - m_new));
            l_i += p.x;
            let vb = jj * ${D4}u;
${unroll(D4, (c) => `            acc[${c}] = fma(p, Vs[vb + ${c}u], acc[${c}]);`)}
          }
        }
        m_i = m_new;
      }
    }
    workgroupBarrier();
  }
  if (live) {
    let inv = select(0.0, 1.0 / l_i, l_i > 0.0);
    let o = ((b * heads + h) * seqQ + i) * ${D}u;
${unroll(D, (c) => `    out[o + ${c}u] = acc[${c >> 2}][${c & 3}] * inv;`)}
  }
}`;
  return {
    name: 'attention',
    workgroupSize: [bq, 1, 1],
    dispatch: [Math.ceil(d.seqQ / bq), d.heads, d.batch],
    cacheKey: pipelineCacheKey('attention', { bkv, bq, causal, headDim: D, lengths: hasLengths }),
    wgsl,
    meta: Uint32Array.from([d.heads, d.kvHeads, d.seqQ, d.seqKv, f32Bits(scale)]),
  };
}

/** Inputs must be dense (the backend makes them so); headDim ≤ MAX_HEAD_DIM, Sq ≤ Skv if causal. */
export function attentionGpu(
  ctx: GpuContext,
  inputs: OpInputs<'attention'>,
  p: OpParams<'attention'>,
): Tensor {
  const [q, k, v, lengths] = inputs;
  const d = attentionDims(q, k, v);
  if (d.headDim > MAX_HEAD_DIM) throw new RangeError(`head dim ${d.headDim} > ${MAX_HEAD_DIM}`);
  if (p.causal && d.seqQ > d.seqKv) throw new RangeError('causal attention needs Sq ≤ Skv');
  const out = emptyGpu(ctx, 'f32', q.shape);
  if (d.seqQ === 0 || d.seqKv === 0 || d.headDim === 0) return out;
  const plan = attentionPlan(d, ctx.caps.limits.maxComputeWorkgroupStorageSize);
  const program = attentionProgram(
    d,
    plan,
    p.causal,
    p.scale ?? 1 / Math.sqrt(d.headDim),
    lengths !== undefined,
  );
  const buffers = [bufferOf(ctx, q), bufferOf(ctx, k), bufferOf(ctx, v)];
  if (lengths) buffers.push(bufferOf(ctx, lengths));
  buffers.push(bufferOf(ctx, out));
  runProgram(ctx, program, buffers);
  return out;
}

/**
 * WGSL pieces shared by the quantized matmul programs: binding declarations, loading one
 * chunk's words (32 codes), turning them into vec4s of codes (the layout in format.ts makes
 * that one vector shift and mask per vec4), and reading a block's scale and min.
 */
import type { QMatmulParams } from '../backend/ops';
import { activationExpr, WGSL_ACTIVATIONS } from '../webgpu/wgsl';
import type { QuantFormat } from './format';

/** WGSL element type of the packed-weights binding: one chunk is one or two of them, or three u32. */
export function wordType(bits: number): string {
  if (bits === 4 || bits === 8) return 'vec4<u32>';
  if (bits === 2) return 'vec2<u32>';
  return 'u32';
}

/** WGSL: `let w0 … w{bits−1}` = the words of chunk `chunk` (a u32 expression) of `wq`. */
export function chunkWordsWgsl(bits: number, chunk: string): string {
  switch (bits) {
    case 8:
      return `let wa = wq[(${chunk}) * 2u]; let wb = wq[(${chunk}) * 2u + 1u];
    let w0 = wa.x; let w1 = wa.y; let w2 = wa.z; let w3 = wa.w; let w4 = wb.x; let w5 = wb.y; let w6 = wb.z; let w7 = wb.w;`;
    case 4:
      return `let wa = wq[${chunk}]; let w0 = wa.x; let w1 = wa.y; let w2 = wa.z; let w3 = wa.w;`;
    case 2:
      return `let wa = wq[${chunk}]; let w0 = wa.x; let w1 = wa.y;`;
    default:
      return `let w0 = wq[(${chunk}) * 3u]; let w1 = wq[(${chunk}) * 3u + 1u]; let w2 = wq[(${chunk}) * 3u + 2u];`;
  }
}

/** WGSL expression: codes 4t..4t+3 of the chunk as vec4<f32> (needs the `w*` locals). */
export function codesVec4(bits: number, t: number): string {
  const plane = bits === 3 ? 2 : bits;
  const vecsPerWord = 32 / plane / 4;
  const word = Math.floor(t / vecsPerWord);
  const base = plane * (t % vecsPerWord);
  const shifts = [0, 8, 16, 24].map((s) => `${s + base}u`).join(', ');
  const mask = `vec4<u32>(${(1 << plane) - 1}u)`;
  let u = `((vec4<u32>(w${word}) >> vec4<u32>(${shifts})) & ${mask})`;
  if (bits === 3) {
    const hi = [0, 8, 16, 24].map((s) => `${s + t}u`).join(', ');
    u = `(${u} | (((vec4<u32>(w2) >> vec4<u32>(${hi})) & vec4<u32>(1u)) << vec4<u32>(2u)))`;
  }
  return `vec4<f32>(${u})`;
}

/** WGSL: `fn block_sm(blk) -> vec2<f32>`: (scale, m) so that w = scale·u + m in block `blk`. */
export function blockParamsWgsl(f: QuantFormat): string {
  const zp = 1 << (f.bits - 1);
  if (f.scale === 'f32') {
    return f.asymmetric
      ? 'fn block_sm(blk: u32) -> vec2<f32> { return vec2<f32>(qp[2u * blk], qp[2u * blk + 1u]); }'
      : `fn block_sm(blk: u32) -> vec2<f32> { let s = qp[blk]; return vec2<f32>(s, ${-zp}.0 * s); }`;
  }
  return f.asymmetric
    ? 'fn block_sm(blk: u32) -> vec2<f32> { return unpack2x16float(qp[blk]); }'
    : `fn block_sm(blk: u32) -> vec2<f32> { let s = unpack2x16float(qp[blk >> 1u])[blk & 1u]; return vec2<f32>(s, ${-zp}.0 * s); }`;
}

/** Bindings: x, wq (packed), qp (block params), [bias], out, dims. */
export function qmatmulBindings(p: QMatmulParams, bias: boolean, xType: string): string {
  const decl = [
    `@group(0) @binding(0) var<storage, read> x: array<${xType}>;`,
    `@group(0) @binding(1) var<storage, read> wq: array<${wordType(p.format.bits)}>;`,
    `@group(0) @binding(2) var<storage, read> qp: array<${p.format.scale === 'f32' ? 'f32' : 'u32'}>;`,
  ];
  if (bias) decl.push('@group(0) @binding(3) var<storage, read> bias: array<f32>;');
  const next = bias ? 4 : 3;
  decl.push(`@group(0) @binding(${next}) var<storage, read_write> out: array<f32>;`);
  decl.push(`@group(0) @binding(${next + 1}) var<storage, read> dims: array<u32>;`);
  return decl.join('\n');
}

/** WGSL: `fn store(index, col, v)` with bias and activation. */
export function qmatmulEpilogue(p: QMatmulParams, bias: boolean): string {
  return `${WGSL_ACTIVATIONS}
fn store(index: u32, col: u32, v: f32) {
  let y = v${bias ? ' + bias[col]' : ''};
  out[index] = ${activationExpr(p.activation ?? 'none', 'y')};
}`;
}

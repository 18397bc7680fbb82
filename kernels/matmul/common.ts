/** WGSL pieces and the config shared by the simple and tiled matmul programs. */
import type { OpParams } from '../backend/ops';
import { activationExpr, WGSL_ACTIVATIONS } from '../webgpu/wgsl';
import type { MatmulShape } from './strategy';

export interface MatmulConfig extends MatmulShape {
  /** Elements between consecutive batch matrices of A and B: 0 when shared. */
  aBatchStride: number;
  bBatchStride: number;
  bias: boolean;
  activation: NonNullable<OpParams<'matmul'>['activation']>;
}

/** The WGSL storage element type of an operand: `f32`/`f16`, as a vec4 when `vec4`. */
export const operandType = (t: 'f32' | 'f16' | undefined, vec4: boolean): string =>
  vec4 ? `vec4<${t ?? 'f32'}>` : (t ?? 'f32');

export const matmulMeta = (c: MatmulConfig): Uint32Array =>
  Uint32Array.from([c.m, c.k, c.n, c.aBatchStride, c.bBatchStride]);

/** WGSL: index of A[m, k] / B[k, n] of one batch in storage, honouring the transposes. */
export function operandIndexWgsl(c: MatmulConfig): string {
  return `
fn a_index(base: u32, m: u32, k: u32) -> u32 { return base + ${c.transA ? 'k * dims[0] + m' : 'm * dims[1] + k'}; }
fn b_index(base: u32, k: u32, n: u32) -> u32 { return base + ${c.transB ? 'n * dims[1] + k' : 'k * dims[2] + n'}; }`;
}

/**
 * WGSL: the epilogue that writes one output element with bias and activation; with `vec4`
 * (`out` is then array<vec4<f32>>), `store4` writes 4 consecutive ones (index a multiple of 4).
 */
export function epilogueWgsl(c: MatmulConfig, vec4 = false): string {
  if (vec4) {
    const bias = c.bias
      ? ' + vec4<f32>(bias[col], bias[col + 1u], bias[col + 2u], bias[col + 3u])'
      : '';
    const act = [0, 1, 2, 3].map((j) => activationExpr(c.activation, `x[${j}]`)).join(', ');
    return `${WGSL_ACTIVATIONS}
fn store4(index: u32, col: u32, v: vec4<f32>) {
  let x = v${bias};
  out[index / 4u] = ${c.activation === 'none' ? 'x' : `vec4<f32>(${act})`};
}`;
  }
  return `${WGSL_ACTIVATIONS}
fn store(index: u32, col: u32, v: f32) {
  let x = v${c.bias ? ' + bias[col]' : ''};
  out[index] = ${activationExpr(c.activation, 'x')};
}`;
}

/**
 * The bindings of a matmul program. `aType`/`bType` are WGSL element types (`f16`, `vec4<f16>`
 * need `shader-f16`: the `enable` is added); `enables` adds other extensions.
 */
export function matmulBindings(
  c: MatmulConfig,
  aType: string,
  bType: string,
  outType = 'f32',
  enables: string[] = [],
): string {
  const needF16 = /f16/.test(aType + bType) || enables.includes('f16');
  const decl = [
    ...[...new Set([...(needF16 ? ['f16'] : []), ...enables])].map((e) => `enable ${e};`),
    `@group(0) @binding(0) var<storage, read> a: array<${aType}>;`,
    `@group(0) @binding(1) var<storage, read> b: array<${bType}>;`,
  ];
  if (c.bias) decl.push('@group(0) @binding(2) var<storage, read> bias: array<f32>;');
  const next = c.bias ? 3 : 2;
  decl.push(`@group(0) @binding(${next}) var<storage, read_write> out: array<${outType}>;`);
  decl.push(`@group(0) @binding(${next + 1}) var<storage, read> dims: array<u32>;`);
  return decl.join('\n');
}

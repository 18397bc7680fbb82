/** WGSL fragments shared by several programs. */

/** Compute entry point header with the builtins our programs use. */
export function entry(wg: readonly [number, number, number]): string {
  return `@compute @workgroup_size(${wg.join(', ')})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {`;
}

/** GELU by erf (A&S 7.1.26, as in unary/cpu.ts), tanh-GELU, quick GELU, SiLU and friends. */
export const WGSL_ACTIVATIONS = `
fn erf_approx(x: f32) -> f32 {
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let y = 1.0 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
  return select(-y, y, x >= 0.0);
}
fn gelu_erf(x: f32) -> f32 { return 0.5 * x * (1.0 + erf_approx(x * 0.70710678118654752)); }
fn gelu_tanh(x: f32) -> f32 {
  // tanh(u) = 1 - 2 / (exp(2u) + 1), clamped: WGSL's tanh overflows to NaN on some drivers.
  let u = clamp(0.7978845608028654 * (x + 0.044715 * x * x * x), -15.0, 15.0);
  return 0.5 * x * (1.0 + (1.0 - 2.0 / (exp(2.0 * u) + 1.0)));
}
fn silu(x: f32) -> f32 { return x / (1.0 + exp(-x)); }
fn quick_gelu(x: f32) -> f32 { return x / (1.0 + exp(-1.702 * x)); }
fn sigmoid(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
fn tanh_safe(x: f32) -> f32 { let u = clamp(x, -15.0, 15.0); return 1.0 - 2.0 / (exp(2.0 * u) + 1.0); }
`;

/** The WGSL expression for a unary function or activation applied to `x`. */
export function activationExpr(fn: string, x: string): string {
  switch (fn) {
    case 'none':
    case 'identity':
      return x;
    case 'relu':
      return `max(${x}, 0.0)`;
    case 'gelu':
      return `gelu_erf(${x})`;
    case 'gelu-tanh':
      return `gelu_tanh(${x})`;
    case 'quick-gelu':
      return `quick_gelu(${x})`;
    case 'silu':
      return `silu(${x})`;
    case 'sigmoid':
      return `sigmoid(${x})`;
    case 'tanh':
      return `tanh_safe(${x})`;
    case 'exp':
      return `exp(${x})`;
    case 'neg':
      return `-(${x})`;
    default:
      throw new RangeError(`Unknown activation ${fn}`);
  }
}

/**
 * WGSL for strided element access: `fn strided_<name>(i: u32) -> u32` maps a row-major output
 * index to an element index of an input whose offset and strides are in `meta` starting at
 * `metaBase` (offset, then `rank` strides); the output shape sits at `shapeBase`.
 */
export function stridedIndexFn(
  name: string,
  rank: number,
  shapeBase: number,
  metaBase: number,
): string {
  const lines = [
    `fn strided_${name}(flat: u32) -> u32 {`,
    '  var rest = flat;',
    `  var at = dims[${metaBase}];`,
  ];
  for (let axis = rank - 1; axis >= 0; axis--) {
    lines.push(
      `  { let size = dims[${shapeBase + axis}]; at += (rest % size) * dims[${metaBase + 1 + axis}]; rest /= size; }`,
    );
  }
  lines.push('  return at;', '}');
  return lines.join('\n');
}

/**
 * Workgroup tree reductions for row kernels (one workgroup per row). Call from uniform control
 * flow only: they contain barriers.
 */
export function wgslReductions(wg: number): string {
  return `
var<workgroup> red: array<f32, ${wg}>;
fn reduce_sum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
fn reduce_max(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}`;
}

/** Threads per row for a row kernel: a power of two, up to 256, not much wider than the row. */
export function rowWorkgroupSize(cols: number): number {
  let wg = 32;
  while (wg < 256 && wg < cols) wg *= 2;
  return wg;
}

/**
 * A kernel program is a small descriptor: name, workgroup size, dispatch shape, cache key and
 * WGSL. Each op's `webgpu.ts` builds one from its inputs; `runProgram` (context.ts) compiles it
 * once per cache key and encodes it.
 */
export interface KernelProgram {
  readonly name: string;
  readonly workgroupSize: readonly [number, number, number];
  /** Workgroups to dispatch in x, y, z. */
  readonly dispatch: readonly [number, number, number];
  /** Same key ⇔ same WGSL: built by `pipelineCacheKey` from every parameter baked into the WGSL. */
  readonly cacheKey: string;
  readonly wgsl: string;
  /** Small per-dispatch values (sizes, offsets, f32 bit patterns), bound last as `dims` in WGSL. */
  readonly meta: Uint32Array;
}

export type KeyValue = string | number | boolean;

/**
 * The pipeline-cache key: the program name and every parameter that changes its WGSL, sorted
 * by name so argument order does not matter. Values must not contain `|` or `=`.
 *
 * @example
 * pipelineCacheKey('softmax', { wg: 256 }) // 'softmax|wg=256'
 */
export function pipelineCacheKey(name: string, params: Record<string, KeyValue>): string {
  const parts = Object.keys(params)
    .sort()
    .map((k) => {
      const v = String(params[k]);
      if (/[|=]/.test(k) || /[|=]/.test(v)) throw new RangeError(`Bad cache-key part ${k}=${v}`);
      return `${k}=${v}`;
    });
  return [name, ...parts].join('|');
}

/**
 * Workgroup counts for `count` independent items of `perGroup` each, folded into y when x
 * would pass the per-dimension limit. Pair it with `WGSL_GROUP_INDEX` in the shader.
 */
export function dispatchFor(
  count: number,
  perGroup: number,
  maxPerDimension: number,
): [number, number, number] {
  const groups = Math.ceil(count / perGroup);
  if (groups <= maxPerDimension) return [Math.max(groups, 1), 1, 1];
  const y = Math.ceil(groups / maxPerDimension);
  return [Math.ceil(groups / y), y, 1];
}

/** WGSL: the flat workgroup index for a `dispatchFor` dispatch (needs `wid` and `nwg` builtins). */
export const WGSL_GROUP_INDEX = 'let group = wid.x + wid.y * nwg.x;';

/** f32 bit pattern for `meta` (read back in WGSL with `bitcast<f32>(dims[i])`). */
export function f32Bits(x: number): number {
  return new Uint32Array(Float32Array.of(x).buffer)[0] as number;
}

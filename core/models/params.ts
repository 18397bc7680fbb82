/**
 * A model's parameters on the HAL: read from the weights files (as f32), uploaded once, checked
 * against the shape the architecture expects, and freed together by `dispose`.
 */
import type { Hal } from '../../kernels/hal/hal';
import { cpuTensor, type Tensor } from '../../kernels/tensor/tensor';
import { BadModelFileError } from '../protocol/errors';
import type { Weights } from './model-files';
import {
  formatFor,
  type LinearSite,
  type LinearWeight,
  type QuantizedWeight,
  type QuantizeOption,
  quantizeLinear,
} from './quantize';

export interface Params {
  /** The parameter, checked to have `shape` (when given); BAD_MODEL_FILE when absent or wrong. */
  get(name: string, shape?: readonly number[]): Promise<Tensor>;
  /** Like `get` but null when the weights do not have it (optional biases, heads). */
  maybe(name: string, shape?: readonly number[]): Promise<Tensor | null>;
  /**
   * A Linear weight: block-quantized when the load's `quantize` option gives `site` a format
   * (and K fits it), else the f32 tensor as `get` returns it. A tied head quantizes its own copy;
   * the f32 embedding table stays for the gather.
   */
  linear(
    name: string,
    shape: readonly number[],
    site: LinearSite,
    layout?: 'out-in' | 'in-out',
  ): Promise<LinearWeight>;
  has(name: string): boolean;
  /** Bytes uploaded so far. */
  readonly bytes: number;
  dispose(): void;
}

export function createParams(weights: Weights, hal: Hal, quantize?: QuantizeOption): Params {
  const loaded = new Map<string, Promise<Tensor>>();
  const packed = new Map<string, Promise<LinearWeight>>();
  let bytes = 0;

  function check(name: string, shape?: readonly number[]) {
    const info = weights.info(name);
    if (!info) {
      throw new BadModelFileError(`The weights have no tensor ${name}`, {
        detail: { file: 'model.safetensors', tensor: name },
      });
    }
    if (
      shape &&
      (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i]))
    ) {
      throw new BadModelFileError(
        `${name} has shape [${info.shape.join(', ')}]; the config implies [${shape.join(', ')}]`,
        { detail: { file: 'model.safetensors', tensor: name } },
      );
    }
    return info;
  }

  async function load(name: string, shape?: readonly number[]): Promise<Tensor> {
    const info = check(name, shape);
    const data = await weights.float32(name);
    bytes += data.byteLength;
    return hal.upload(cpuTensor(data, info.shape));
  }

  async function loadLinear(
    name: string,
    shape: readonly number[],
    site: LinearSite,
    layout: 'out-in' | 'in-out',
  ): Promise<LinearWeight> {
    const format = formatFor(quantize, site);
    if (!format) return params.get(name, shape);
    check(name, shape);
    const q = quantizeLinear(await weights.float32(name), shape, layout, format);
    if (!q) return params.get(name, shape);
    bytes += q.packed.byteLength + q.params.byteLength;
    const w: QuantizedWeight = {
      packed: hal.upload(cpuTensor(q.packed, [q.packed.length])),
      params: hal.upload(cpuTensor(q.params, [q.params.length])),
      format,
      n: q.n,
      k: q.k,
    };
    return w;
  }

  const params: Params = {
    get(name, shape) {
      let p = loaded.get(name);
      if (!p) {
        p = load(name, shape);
        loaded.set(name, p);
      }
      return p;
    },
    async maybe(name, shape) {
      return weights.has(name) ? params.get(name, shape) : null;
    },
    linear(name, shape, site, layout = 'out-in') {
      const key = `${name}@${site}`;
      let p = packed.get(key);
      if (!p) {
        p = loadLinear(name, shape, site, layout);
        packed.set(key, p);
      }
      return p;
    },
    has: (name) => weights.has(name),
    get bytes() {
      return bytes;
    },
    dispose() {
      for (const p of loaded.values()) p.then((t) => hal.dispose(t)).catch(() => {});
      loaded.clear();
      for (const p of packed.values()) {
        p.then((w) => {
          if ('packed' in w) {
            hal.dispose(w.packed);
            hal.dispose(w.params);
          }
        }).catch(() => {});
      }
      packed.clear();
    },
  };
  return params;
}

/**
 * The prefix under which a checkpoint keeps the base model: `bert.` in
 * BertForSequenceClassification, `` in BertModel, `transformer.` in GPT2LMHeadModel, …
 */
export function findPrefix(
  weights: { has(name: string): boolean },
  probe: string,
  candidates: readonly string[],
): string {
  for (const p of candidates) if (weights.has(`${p}${probe}`)) return p;
  throw new BadModelFileError(
    `The weights have no ${probe} (looked under: ${candidates.map((c) => c || '(none)').join(', ')})`,
    { detail: { file: 'model.safetensors', tensor: probe } },
  );
}

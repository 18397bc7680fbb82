/**
 * A model's parameters on the HAL: read from the weights files (as f32), uploaded once, checked
 * against the shape the architecture expects, and freed together by `dispose`.
 */
import type { Hal } from '../../kernels/hal/hal';
import { cpuTensor, type Tensor } from '../../kernels/tensor/tensor';
import { BadModelFileError } from '../protocol/errors';
import type { Weights } from './model-files';

export interface Params {
  /** The parameter, checked to have `shape` (when given); BAD_MODEL_FILE when absent or wrong. */
  get(name: string, shape?: readonly number[]): Promise<Tensor>;
  /** Like `get` but null when the weights do not have it (optional biases, heads). */
  maybe(name: string, shape?: readonly number[]): Promise<Tensor | null>;
  has(name: string): boolean;
  /** Bytes uploaded so far. */
  readonly bytes: number;
  dispose(): void;
}

export function createParams(weights: Weights, hal: Hal): Params {
  const loaded = new Map<string, Promise<Tensor>>();
  let bytes = 0;

  async function load(name: string, shape?: readonly number[]): Promise<Tensor> {
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
    const data = await weights.float32(name);
    bytes += data.byteLength;
    return hal.upload(cpuTensor(data, info.shape));
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
    has: (name) => weights.has(name),
    get bytes() {
      return bytes;
    },
    dispose() {
      for (const p of loaded.values()) p.then((t) => hal.dispose(t)).catch(() => {});
      loaded.clear();
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

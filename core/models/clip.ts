/**
 * CLIP (`model_type: clip`): a text tower and a vision tower, each a pre-norm encoder run as
 * its own list of stages (embeddings, one per layer, head) through `createModel`, then the
 * projections into the shared space, L2-normalised, and the image-text logits.
 *
 * Text: token + learned position embeddings, causal self-attention (padding masked too),
 * `final_layer_norm`, pooled at each row's end-of-text token. Vision: patches (a stride = kernel
 * conv, done here as host-side patch extraction and one matmul), a class embedding, learned
 * positions, `pre_layrnorm` (sic, as the checkpoints spell it), pooled as `post_layernorm` of
 * the CLS token. Outputs use transformers' names with a tower prefix: `text_last_hidden_state`,
 * `vision_hidden_states.<i>`, …, plus `text_embeds`, `image_embeds`, `logits_per_image`,
 * `logits_per_text`. Text-only and image-only calls run one tower (no logits).
 */
import type { Hal } from '../../kernels/hal/hal';
import { reshape, type Tensor } from '../../kernels/tensor/tensor';
import { InvalidParamsError } from '../protocol/errors';
import { linear } from './blocks';
import { checkTower, textTower, visionTower, type Weight } from './clip-towers';
import type { ClipConfig } from './config';
import { type Scope, scoped } from './graph';
import {
  type Architecture,
  createModel,
  type Model,
  type ModelInputs,
  type Outputs,
} from './model';
import { findPrefix, type Params } from './params';

/** Unit length along the last axis: RMSNorm with eps 0 and every scale 1/√n is x / ‖x‖. */
function l2Normalize(s: Scope, x: Tensor): Promise<Tensor> {
  const n = x.shape[x.shape.length - 1] as number;
  const scale = s.upload(new Float32Array(n).fill(1 / Math.sqrt(n)), [n]);
  return s.run('rmsNorm', [x, scale], { eps: 0 });
}

export function clipArchitecture(config: ClipConfig, params: Params): Architecture {
  checkTower(config.text, 'text_config');
  checkTower(config.vision, 'vision_config');
  const p = findPrefix(params, 'text_model.embeddings.token_embedding.weight', ['', 'clip.']);
  const w: Weight = (name, shape) => params.get(name, shape);
  const text = textTower(config, w, p);
  const vision = visionTower(config, w, p);
  const P = config.projectionDim;
  let towers: { hal: Hal; text: Model; vision: Model } | null = null;

  /** Runs one tower, adding its outputs to `into` as `<prefix>_<name>`. */
  async function runTower(
    model: Model,
    prefix: string,
    inputs: ModelInputs,
    hiddenStates: boolean,
    into: Outputs,
  ) {
    for (const [name, t] of await model.forward(inputs, { hiddenStates })) {
      into.set(`${prefix}_${name}`, t);
    }
  }

  /** The pooled outputs projected to unit length, and the logits when both towers ran. */
  async function project(s: Scope, pooled: Outputs): Promise<Record<string, Tensor>> {
    const r: Record<string, Tensor> = {};
    const text = pooled.get('text_pooler_output');
    const image = pooled.get('vision_pooler_output');
    if (text) {
      const proj = await w(`${p}text_projection.weight`, [P, config.text.hidden]);
      r.text_embeds = await l2Normalize(s, await linear(s, text, proj, null));
    }
    if (image) {
      const proj = await w(`${p}visual_projection.weight`, [P, config.vision.hidden]);
      r.image_embeds = await l2Normalize(s, await linear(s, image, proj, null));
    }
    if (r.text_embeds && r.image_embeds) {
      // Cosine similarities times exp(logit_scale), both ways round (no transposed copy).
      const logScale = reshape(await w(`${p}logit_scale`, []), [1, 1]) as Tensor;
      const scale = await s.run('unary', [logScale], { fn: 'exp' });
      const sim = async (a: Tensor, b: Tensor) => {
        const cos = await s.run('matmul', [a, b], { transB: true });
        return s.run('binary', [cos, scale], { fn: 'mul' });
      };
      r.logits_per_image = await sim(r.image_embeds, r.text_embeds);
      r.logits_per_text = await sim(r.text_embeds, r.image_embeds);
    }
    return r;
  }

  return {
    stages: [...text.stages, ...vision.stages],
    lastHiddenStateIsNormed: false,
    seqOf: (inputs) => (inputs.input_ids ? text.seqOf(inputs) : vision.seqOf(inputs)),
    dummyInputs: () => ({ ...text.dummyInputs(), ...vision.dummyInputs() }),
    async forward(hal, inputs, options) {
      if (!inputs.input_ids && !inputs.pixel_values) {
        throw new InvalidParamsError('clip needs input_ids, pixel_values or both', {
          detail: { field: 'input_ids' },
        });
      }
      if (towers?.hal !== hal) {
        towers = {
          hal,
          text: createModel('clip-text', config, hal, params, text),
          vision: createModel('clip-vision', config, hal, params, vision),
        };
      }
      const hidden = options.hiddenStates ?? false;
      const outputs: Outputs = new Map();
      const { text: textModel, vision: visionModel } = towers;
      try {
        if (inputs.input_ids) {
          const { input_ids, attention_mask } = inputs;
          await runTower(textModel, 'text', { input_ids, attention_mask }, hidden, outputs);
        }
        if (inputs.pixel_values) {
          const { pixel_values } = inputs;
          await runTower(visionModel, 'vision', { pixel_values }, hidden, outputs);
        }
        const projected = await scoped(hal, (s) => project(s, outputs));
        for (const [k, t] of Object.entries(projected)) outputs.set(k, t);
        return outputs;
      } catch (e) {
        textModel.free(outputs);
        throw e;
      }
    },
  };
}

/**
 * CLIP's two towers, each an `Architecture` of its own (embeddings, pre-norm layers, head) that
 * `createModel` runs: the text tower (causal, pooled at end-of-text) and the vision tower
 * (patches by host-side extraction and one matmul, CLS pooled). `clip.ts` joins them.
 */
import type { Activation } from '../../kernels/backend/ops';
import {
  broadcastTo,
  cpuTensor,
  cpuToDense,
  reshape,
  slice,
  type Tensor,
} from '../../kernels/tensor/tensor';
import { BadModelFileError, InvalidParamsError } from '../protocol/errors';
import { add, linear, pickPosition, selfAttention } from './blocks';
import type { ClipConfig, ClipTowerConfig } from './config';
import type { Scope } from './graph';
import { type Architecture, type ModelInputs, type Stage, textInputIds } from './model';
import { pixelValuesOf } from './vit';

/** OpenAI's end-of-text id; checkpoints from before transformers fixed `eos_token_id` say 2. */
const LEGACY_EOS = 49407;

export type Weight = (name: string, shape?: number[]) => Promise<Tensor>;

/** LayerNorm over the last axis with the checkpoint's `<name>.weight` and `<name>.bias`. */
async function norm(s: Scope, w: Weight, name: string, x: Tensor, size: number, eps: number) {
  const [gamma, beta] = [await w(`${name}.weight`, [size]), await w(`${name}.bias`, [size])];
  return s.run('layerNorm', [x, gamma, beta], { eps });
}

/** torch.nn.Linear `<name>` ([out, inp] weight and a bias), with a fused activation. */
async function dense(
  s: Scope,
  w: Weight,
  name: string,
  x: Tensor,
  out: number,
  inp: number,
  act: Activation = 'none',
) {
  return linear(s, x, await w(`${name}.weight`, [out, inp]), await w(`${name}.bias`, [out]), act);
}

/** One pre-norm encoder layer: x + attn(ln1(x)), then + mlp(ln2(·)). */
function encoderLayer(
  w: Weight,
  prefix: string,
  tower: ClipTowerConfig,
  i: number,
  causal: boolean,
): Stage {
  const { hidden, heads, intermediate, eps, act } = tower;
  const base = `${prefix}encoder.layers.${i}.`;
  return {
    name: `${prefix}layer.${i}`,
    kind: 'layer',
    async run(s, x, ctx) {
      const h = x as Tensor;
      const ln = (t: Tensor, name: string) => norm(s, w, `${base}${name}`, t, hidden, eps);
      const lin = (t: Tensor, name: string, out: number, inp: number, fn: Activation = 'none') =>
        dense(s, w, `${base}${name}`, t, out, inp, fn);
      const x1 = await ln(h, 'layer_norm1');
      const q = await lin(x1, 'self_attn.q_proj', hidden, hidden);
      const k = await lin(x1, 'self_attn.k_proj', hidden, hidden);
      const v = await lin(x1, 'self_attn.v_proj', hidden, hidden);
      const shape = {
        batch: ctx.batch,
        seq: ctx.seq,
        heads,
        kvHeads: heads,
        headDim: hidden / heads,
      };
      const attn = await selfAttention(s, q, k, v, shape, { causal, kvLengths: ctx.kvLengths });
      const h1 = await add(s, await lin(attn, 'self_attn.out_proj', hidden, hidden), h);
      const m = await lin(await ln(h1, 'layer_norm2'), 'mlp.fc1', intermediate, hidden, act);
      return add(s, await lin(m, 'mlp.fc2', hidden, intermediate), h1);
    },
  };
}

export function checkTower(tower: ClipTowerConfig, name: string): void {
  if (!Number.isInteger(tower.hidden / tower.heads)) {
    throw new BadModelFileError(
      `config.json: ${name} hidden_size is not a multiple of num_attention_heads`,
      {
        detail: { file: 'config.json', field: `${name}.num_attention_heads` },
      },
    );
  }
}

/**
 * The row each text is pooled at, as transformers picks it: when every row's largest id is
 * OpenAI's 49407 (old configs say eos_token_id 2) the first largest id, otherwise the first
 * `eos_token_id` (position 0 when a row has none: argmax of all zeros).
 */
export function eosPositions(ids: Int32Array, batch: number, seq: number, eos: number): Int32Array {
  const rows = Array.from({ length: batch }, (_, b) => ids.subarray(b * seq, (b + 1) * seq));
  const legacy = rows.every((r) => Math.max(...r) === LEGACY_EOS);
  return Int32Array.from(rows, (r) => {
    const target = legacy ? LEGACY_EOS : eos;
    return Math.max(0, r.indexOf(target));
  });
}

export function textTower(config: ClipConfig, w: Weight, p: string): Architecture {
  const t = config.text;
  const pre = `${p}text_model.`;
  const idsOf = (inputs: ModelInputs) => textInputIds(inputs, 'clip', t.vocab);

  const embed: Stage = {
    name: `${pre}embeddings`,
    kind: 'embed',
    async run(s, _hidden, ctx) {
      if (ctx.seq > t.maxPositions) {
        throw new InvalidParamsError(
          `Sequence of ${ctx.seq} is longer than the model's ${t.maxPositions} positions`,
          { detail: { field: 'input_ids', limit: t.maxPositions } },
        );
      }
      const ids = s.upload(cpuToDense(idsOf(ctx.inputs)) as Int32Array, [ctx.batch, ctx.seq]);
      const tokens = await s.run(
        'gather',
        [await w(`${pre}embeddings.token_embedding.weight`, [t.vocab, t.hidden]), ids],
        {},
      );
      const positions = await w(`${pre}embeddings.position_embedding.weight`, [
        t.maxPositions,
        t.hidden,
      ]);
      // Positions are 0..S-1 for every row (CLIP ignores the mask here): the table's first S rows.
      return add(s, tokens, slice(positions, 0, 0, ctx.seq));
    },
  };

  const head: Stage = {
    name: `${pre}head`,
    kind: 'head',
    async run(s, x, ctx) {
      const normed = await norm(s, w, `${pre}final_layer_norm`, x as Tensor, t.hidden, t.eps);
      const ids = cpuToDense(idsOf(ctx.inputs)) as Int32Array;
      const at = eosPositions(ids, ctx.batch, ctx.seq, t.eosTokenId).map(
        (pos, b) => b * ctx.seq + pos,
      );
      const rows = await s.reshape(normed, [ctx.batch * ctx.seq, t.hidden]);
      const pooled = await s.run('gather', [rows, s.upload(at, [ctx.batch])], {});
      return { last_hidden_state: normed, pooler_output: pooled };
    },
  };

  return {
    stages: [
      embed,
      ...Array.from({ length: t.layers }, (_, i) => encoderLayer(w, pre, t, i, true)),
      head,
    ],
    lastHiddenStateIsNormed: false,
    seqOf(inputs) {
      const [batch, seq] = idsOf(inputs).shape as [number, number];
      return { batch, seq };
    },
    dummyInputs: () => ({ input_ids: cpuTensor(new Int32Array(1), [1, 1]) }),
  };
}

/** [B, C, S, S] pixels → [B, patches, C·p·p] rows in the conv weight's (c, ky, kx) order. */
function patchRows(
  px: Float32Array,
  batch: number,
  c: number,
  size: number,
  p: number,
): Float32Array {
  const side = size / p;
  const k = c * p * p;
  const out = new Float32Array(batch * side * side * k);
  for (let b = 0; b < batch; b++) {
    for (let py = 0; py < side; py++) {
      for (let pxi = 0; pxi < side; pxi++) {
        const row = ((b * side + py) * side + pxi) * k;
        for (let ch = 0; ch < c; ch++) {
          for (let ky = 0; ky < p; ky++) {
            const src = ((b * c + ch) * size + py * p + ky) * size + pxi * p;
            out.set(px.subarray(src, src + p), row + (ch * p + ky) * p);
          }
        }
      }
    }
  }
  return out;
}

export function visionTower(config: ClipConfig, w: Weight, p: string): Architecture {
  const v = config.vision;
  const { hidden, imageSize, patchSize, channels } = v;
  const pre = `${p}vision_model.`;
  const side = imageSize / patchSize;
  if (!Number.isInteger(side)) {
    throw new BadModelFileError('config.json: vision image_size is not a multiple of patch_size', {
      detail: { file: 'config.json', field: 'vision_config.patch_size' },
    });
  }
  const patches = side * side;

  const pixelsOf = (inputs: ModelInputs) => pixelValuesOf(inputs, 'clip', channels, imageSize);

  const embed: Stage = {
    name: `${pre}embeddings`,
    kind: 'embed',
    async run(s, _hidden, ctx) {
      const k = channels * patchSize * patchSize;
      const rows = patchRows(
        cpuToDense(pixelsOf(ctx.inputs)) as Float32Array,
        ctx.batch,
        channels,
        imageSize,
        patchSize,
      );
      const conv = await w(`${pre}embeddings.patch_embedding.weight`, [
        hidden,
        channels,
        patchSize,
        patchSize,
      ]);
      const tokens = await linear(
        s,
        s.upload(rows, [ctx.batch, patches, k]),
        reshape(conv, [hidden, k]) as Tensor,
        null,
      );
      const cls = await w(`${pre}embeddings.class_embedding`, [hidden]);
      const clsRows = broadcastTo(reshape(cls, [1, 1, hidden]) as Tensor, [ctx.batch, 1, hidden]);
      const seq = await s.run('concat', [clsRows, tokens], { axis: 1 });
      const x = await add(
        s,
        seq,
        await w(`${pre}embeddings.position_embedding.weight`, [patches + 1, hidden]),
      );
      return norm(s, w, `${pre}pre_layrnorm`, x, hidden, v.eps);
    },
  };

  const head: Stage = {
    name: `${pre}head`,
    kind: 'head',
    async run(s, x) {
      // CLIP's vision last_hidden_state is the last layer's raw output; only the CLS is normed.
      const last = x as Tensor;
      const cls = await s.dense(await pickPosition(s, last, 0));
      const pooled = await norm(s, w, `${pre}post_layernorm`, cls, hidden, v.eps);
      return { last_hidden_state: last, pooler_output: pooled };
    },
  };

  return {
    stages: [
      embed,
      ...Array.from({ length: v.layers }, (_, i) => encoderLayer(w, pre, v, i, false)),
      head,
    ],
    lastHiddenStateIsNormed: false,
    seqOf: (inputs) => ({ batch: pixelsOf(inputs).shape[0] as number, seq: patches + 1 }),
    dummyInputs: () => ({
      pixel_values: cpuTensor(new Float32Array(channels * imageSize * imageSize), [
        1,
        channels,
        imageSize,
        imageSize,
      ]),
    }),
  };
}

/**
 * ViT: patch embedding (a conv with stride = kernel), a CLS token and learned positions, then
 * pre-norm encoder layers, a final LayerNorm, the pooler and an image-classification head when
 * the checkpoint has them.
 */
import {
  broadcastTo,
  cpuTensor,
  cpuToDense,
  permute,
  type Tensor,
} from '../../kernels/tensor/tensor';
import { BadModelFileError, InvalidParamsError } from '../protocol/errors';
import { add, linear, pickPosition, selfAttention } from './blocks';
import type { VitConfig } from './config';
import type { Architecture, ModelInputs, Stage } from './model';
import { findPrefix, type Params } from './params';

export function vitArchitecture(config: VitConfig, params: Params): Architecture {
  const { hidden, heads, intermediate, eps, act, imageSize, patchSize, channels } = config;
  const headDim = hidden / heads;
  const perSide = imageSize / patchSize;
  if (!Number.isInteger(headDim) || !Number.isInteger(perSide)) {
    throw new BadModelFileError('config.json: sizes do not divide (hidden/heads or image/patch)', {
      detail: { file: 'config.json' },
    });
  }
  const patches = perSide * perSide;
  const p = findPrefix(params, 'embeddings.cls_token', ['vit.', '']);
  const w = (name: string, shape?: number[]) => params.get(`${p}${name}`, shape);
  const H = [hidden];

  const pixelsOf = (inputs: ModelInputs) => pixelValuesOf(inputs, 'vit', channels, imageSize);

  const embed: Stage = {
    name: 'embeddings',
    kind: 'embed',
    async run(s, _hidden, ctx) {
      const px = pixelsOf(ctx.inputs);
      const x = s.upload(cpuToDense(px) as Float32Array, px.shape);
      const conv = await s.run(
        'conv2d',
        [
          x,
          await w('embeddings.patch_embeddings.projection.weight', [
            hidden,
            channels,
            patchSize,
            patchSize,
          ]),
          await w('embeddings.patch_embeddings.projection.bias', H),
        ],
        { stride: [patchSize, patchSize], padding: [0, 0] },
      );
      // [B, hidden, h, w] → [B, patches, hidden]
      const tokens = permute(await s.reshape(conv, [ctx.batch, hidden, patches]), [0, 2, 1]);
      const cls = broadcastTo(await w('embeddings.cls_token', [1, 1, hidden]), [
        ctx.batch,
        1,
        hidden,
      ]);
      const seq = await s.run('concat', [cls, tokens], { axis: 1 });
      return add(s, seq, await w('embeddings.position_embeddings', [1, patches + 1, hidden]));
    },
  };

  const layer = (i: number): Stage => ({
    name: `layer.${i}`,
    kind: 'layer',
    async run(s, x, ctx) {
      const base = `encoder.layer.${i}.`;
      const h = x as Tensor;
      const ln = async (t: Tensor, name: string) =>
        s.run(
          'layerNorm',
          [t, await w(`${base}${name}.weight`, H), await w(`${base}${name}.bias`, H)],
          {
            eps,
          },
        );
      const lin = async (t: Tensor, name: string, out: number, inp: number, fn = 'none' as const) =>
        linear(
          s,
          t,
          await w(`${base}${name}.weight`, [out, inp]),
          await params.maybe(`${p}${base}${name}.bias`, [out]),
          fn,
        );
      const x1 = await ln(h, 'layernorm_before');
      const q = await lin(x1, 'attention.attention.query', hidden, hidden);
      const k = await lin(x1, 'attention.attention.key', hidden, hidden);
      const v = await lin(x1, 'attention.attention.value', hidden, hidden);
      const ctxOut = await selfAttention(
        s,
        q,
        k,
        v,
        { batch: ctx.batch, seq: ctx.seq, heads, kvHeads: heads, headDim },
        { causal: false },
      );
      const h1 = await add(s, await lin(ctxOut, 'attention.output.dense', hidden, hidden), h);
      const m = await linear(
        s,
        await ln(h1, 'layernorm_after'),
        await w(`${base}intermediate.dense.weight`, [intermediate, hidden]),
        await w(`${base}intermediate.dense.bias`, [intermediate]),
        act,
      );
      return add(s, await lin(m, 'output.dense', hidden, intermediate), h1);
    },
  });

  const head: Stage = {
    name: 'head',
    kind: 'head',
    async run(s, x) {
      const normed = await s.run(
        'layerNorm',
        [x as Tensor, await w('layernorm.weight', H), await w('layernorm.bias', H)],
        {
          eps,
        },
      );
      const out: Record<string, Tensor> = { last_hidden_state: normed };
      const poolW = await params.maybe(`${p}pooler.dense.weight`, [hidden, hidden]);
      if (poolW) {
        const d = await linear(
          s,
          await pickPosition(s, normed, 0),
          poolW,
          await w('pooler.dense.bias', H),
        );
        out.pooler_output = await s.run('unary', [d], { fn: 'tanh' });
      }
      if (params.has('classifier.weight')) {
        const clsW = await params.get('classifier.weight');
        const n = clsW.shape[0] as number;
        out.logits = await linear(
          s,
          await pickPosition(s, normed, 0),
          clsW,
          await params.get('classifier.bias', [n]),
        );
      }
      return out;
    },
  };

  return {
    stages: [embed, ...Array.from({ length: config.layers }, (_, i) => layer(i)), head],
    lastHiddenStateIsNormed: false,
    seqOf(inputs) {
      return { batch: pixelsOf(inputs).shape[0] as number, seq: patches + 1 };
    },
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

/** The `pixel_values` input, checked to be f32 [batch, channels, size, size] (INVALID_PARAMS if not). */
export function pixelValuesOf(
  inputs: ModelInputs,
  model: string,
  channels: number,
  imageSize: number,
): Tensor {
  const x = inputs.pixel_values;
  const want = [channels, imageSize, imageSize];
  if (
    x?.dtype !== 'f32' ||
    x.shape.length !== 4 ||
    x.shape.slice(1).some((d, i) => d !== want[i])
  ) {
    throw new InvalidParamsError(
      `${model} needs pixel_values f32 [batch, ${channels}, ${imageSize}, ${imageSize}]`,
      { detail: { field: 'pixel_values' } },
    );
  }
  return x;
}

/**
 * BERT-family encoders (bert, roberta): post-norm transformer layers over word + position +
 * token-type embeddings, with the pooler and a sequence-classification head when the
 * checkpoint has them.
 */
import { cpuTensor, cpuToDense, slice, type Tensor } from '../../kernels/tensor/tensor';
import { BadModelFileError, InvalidParamsError } from '../protocol/errors';
import { add, linear, pickPosition, selfAttention } from './blocks';
import type { BertConfig } from './config';
import type { Scope } from './graph';
import {
  type Architecture,
  checkTokenIds,
  type ModelInputs,
  type Stage,
  type StageContext,
  textInputIds,
} from './model';
import { findPrefix, type Params } from './params';

export function bertArchitecture(config: BertConfig, params: Params): Architecture {
  const { hidden, heads, intermediate, eps, act } = config;
  const headDim = hidden / heads;
  if (!Number.isInteger(headDim)) {
    throw new BadModelFileError(
      'config.json: hidden_size is not a multiple of num_attention_heads',
      {
        detail: { file: 'config.json', field: 'num_attention_heads' },
      },
    );
  }
  const p = findPrefix(params, 'embeddings.word_embeddings.weight', [
    '',
    `${config.modelType}.`,
    'bert.',
    'roberta.',
  ]);
  const H = [hidden];

  const idsOf = (inputs: ModelInputs): Tensor =>
    textInputIds(inputs, config.modelType, config.vocab);

  /** Position ids: 0..S-1 (BERT), or RoBERTa's offset count of unmasked tokens. */
  function positions(ctx: StageContext): Int32Array {
    const out = new Int32Array(ctx.batch * ctx.seq);
    const mask = ctx.inputs.attention_mask;
    const maskData = mask?.storage.backend === 'cpu' ? mask.storage.data : null;
    for (let b = 0; b < ctx.batch; b++) {
      let count = 0;
      for (let i = 0; i < ctx.seq; i++) {
        const on = maskData ? maskData[b * ctx.seq + i] !== 0 : true;
        if (config.positionOffset > 0) {
          // RoBERTa: padding positions use padding_idx, real tokens count up after it.
          count += on ? 1 : 0;
          out[b * ctx.seq + i] = on ? config.positionOffset - 1 + count : config.positionOffset - 1;
        } else {
          out[b * ctx.seq + i] = i;
        }
      }
    }
    return out;
  }

  const embed: Stage = {
    name: 'embeddings',
    kind: 'embed',
    async run(s, _hidden, ctx) {
      const ids = s.upload(cpuToDense(idsOf(ctx.inputs)) as Int32Array, [ctx.batch, ctx.seq]);
      if (ctx.seq > config.maxPositions) {
        throw new InvalidParamsError(
          `Sequence of ${ctx.seq} is longer than the model's ${config.maxPositions} positions`,
          { detail: { field: 'input_ids', limit: config.maxPositions } },
        );
      }
      const word = await s.run('gather', [await w('embeddings.word_embeddings.weight'), ids], {});
      const posIds = s.upload(positions(ctx), [ctx.batch, ctx.seq]);
      const pos = await s.run(
        'gather',
        [await w('embeddings.position_embeddings.weight'), posIds],
        {},
      );
      let x = await add(s, word, pos);
      const typeTable = await params.maybe(`${p}embeddings.token_type_embeddings.weight`);
      if (typeTable) {
        const typeIds = ctx.inputs.token_type_ids;
        if (typeIds) checkTokenIds(typeIds, config.typeVocab, 'token_type_ids');
        // Without token_type_ids every token is type 0: add that row, broadcast (no gather).
        const types = typeIds
          ? await s.run(
              'gather',
              [typeTable, s.upload(cpuToDense(typeIds) as Int32Array, [ctx.batch, ctx.seq])],
              {},
            )
          : slice(typeTable, 0, 0, 1);
        x = await add(s, x, types);
      }
      return s.run(
        'layerNorm',
        [x, await w('embeddings.LayerNorm.weight', H), await w('embeddings.LayerNorm.bias', H)],
        { eps },
      );
    },
  };

  function w(name: string, shape?: number[]) {
    return params.get(`${p}${name}`, shape);
  }

  const layerStage = (i: number): Stage => {
    const base = `encoder.layer.${i}.`;
    const lin = async (s: Scope, t: Tensor, name: string, out: number, inp: number) =>
      linear(
        s,
        t,
        await w(`${base}${name}.weight`, [out, inp]),
        await w(`${base}${name}.bias`, [out]),
      );
    /** LayerNorm(h + attention(h)) (post-norm). */
    const attention = async (s: Scope, h: Tensor, ctx: StageContext) => {
      const q = await lin(s, h, 'attention.self.query', hidden, hidden);
      const k = await lin(s, h, 'attention.self.key', hidden, hidden);
      const v = await lin(s, h, 'attention.self.value', hidden, hidden);
      const shape = { batch: ctx.batch, seq: ctx.seq, heads, kvHeads: heads, headDim };
      const ctxOut = await selfAttention(s, q, k, v, shape, {
        causal: false,
        kvLengths: ctx.kvLengths,
      });
      const attn = await lin(s, ctxOut, 'attention.output.dense', hidden, hidden);
      return s.run(
        'layerNorm',
        [
          await add(s, attn, h),
          await w(`${base}attention.output.LayerNorm.weight`, H),
          await w(`${base}attention.output.LayerNorm.bias`, H),
        ],
        { eps },
      );
    };
    /** LayerNorm(h1 + feedForward(h1)). */
    const feedForward = async (s: Scope, h1: Tensor) => {
      const inter = await linear(
        s,
        h1,
        await w(`${base}intermediate.dense.weight`, [intermediate, hidden]),
        await w(`${base}intermediate.dense.bias`, [intermediate]),
        act,
      );
      const out = await lin(s, inter, 'output.dense', hidden, intermediate);
      return s.run(
        'layerNorm',
        [
          await add(s, out, h1),
          await w(`${base}output.LayerNorm.weight`, H),
          await w(`${base}output.LayerNorm.bias`, H),
        ],
        { eps },
      );
    };
    return {
      name: `layer.${i}`,
      kind: 'layer',
      run: async (s, x, ctx) => feedForward(s, await attention(s, x as Tensor, ctx)),
      parts: [
        {
          name: `layer.${i}.attention`,
          kind: 'layer',
          run: (s, x, ctx) => attention(s, x as Tensor, ctx),
        },
        { name: `layer.${i}.ffn`, kind: 'layer', run: (s, x) => feedForward(s, x as Tensor) },
      ],
    };
  };

  const head: Stage = {
    name: 'head',
    kind: 'head',
    async run(s, x) {
      const h = x as Tensor;
      const out: Record<string, Tensor> = { last_hidden_state: h };
      const poolW = await params.maybe(`${p}pooler.dense.weight`, [hidden, hidden]);
      let pooled: Tensor | null = null;
      if (poolW) {
        const cls = await pickPosition(s, h, 0);
        pooled = await linear(s, cls, poolW, await w('pooler.dense.bias', H));
        pooled = await s.run('unary', [pooled], { fn: 'tanh' });
        out.pooler_output = pooled;
      }
      const labels = config.labels?.length;
      if (params.has('classifier.weight') && pooled) {
        // BertForSequenceClassification: a linear layer on the pooled CLS.
        const clsW = await params.get('classifier.weight');
        const n = clsW.shape[0] as number;
        if (labels && labels !== n) throw badHead(n, labels);
        out.logits = await linear(s, pooled, clsW, await params.get('classifier.bias', [n]));
      } else if (params.has('classifier.dense.weight')) {
        // RobertaForSequenceClassification: dense + tanh + out_proj on the CLS token.
        const cls = await pickPosition(s, h, 0);
        const d = await linear(
          s,
          cls,
          await params.get('classifier.dense.weight', [hidden, hidden]),
          await params.get('classifier.dense.bias', H),
        );
        const t = await s.run('unary', [d], { fn: 'tanh' });
        const outW = await params.get('classifier.out_proj.weight');
        const n = outW.shape[0] as number;
        if (labels && labels !== n) throw badHead(n, labels);
        out.logits = await linear(s, t, outW, await params.get('classifier.out_proj.bias', [n]));
      }
      return out;
    },
  };

  const stages = [embed, ...Array.from({ length: config.layers }, (_, i) => layerStage(i)), head];
  return {
    stages,
    lastHiddenStateIsNormed: false,
    seqOf(inputs) {
      const [batch, seq] = idsOf(inputs).shape as [number, number];
      return { batch, seq };
    },
    dummyInputs: () => ({ input_ids: cpuTensor(new Int32Array(1), [1, 1]) }),
  };
}

function badHead(rows: number, labels: number) {
  return new BadModelFileError(`The classifier has ${rows} outputs but id2label has ${labels}`, {
    detail: { file: 'config.json', field: 'id2label' },
  });
}

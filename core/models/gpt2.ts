/**
 * GPT-2: pre-norm decoder blocks with learned positions, a fused q/k/v projection stored as
 * Conv1D ([in, out]) and a language-model head tied to the token embeddings.
 */
import { cpuTensor, cpuToDense, slice, type Tensor } from '../../kernels/tensor/tensor';
import { BadModelFileError, InvalidParamsError } from '../protocol/errors';
import { add, linear, pickPosition, selfAttention } from './blocks';
import type { Gpt2Config } from './config';
import type { Scope } from './graph';
import {
  type Architecture,
  type ModelInputs,
  type Stage,
  type StageContext,
  textInputIds,
} from './model';
import { findPrefix, type Params } from './params';

export function gpt2Architecture(config: Gpt2Config, params: Params): Architecture {
  const { hidden, heads, intermediate, eps, act } = config;
  const headDim = hidden / heads;
  if (!Number.isInteger(headDim)) {
    throw new BadModelFileError('config.json: n_embd is not a multiple of n_head', {
      detail: { file: 'config.json', field: 'n_head' },
    });
  }
  const p = findPrefix(params, 'wte.weight', ['transformer.', '']);
  const w = (name: string, shape?: number[]) => params.get(`${p}${name}`, shape);
  const H = [hidden];

  const idsOf = (inputs: ModelInputs): Tensor =>
    textInputIds(inputs, config.modelType, config.vocab);

  const embed: Stage = {
    name: 'embeddings',
    kind: 'embed',
    async run(s, _hidden, ctx) {
      const end = ctx.positionOffset + ctx.seq;
      if (end > config.maxPositions) {
        throw new InvalidParamsError(
          `Position ${end} is past the model's ${config.maxPositions} positions`,
          { detail: { field: 'input_ids', limit: config.maxPositions } },
        );
      }
      const ids = s.upload(cpuToDense(idsOf(ctx.inputs)) as Int32Array, [ctx.batch, ctx.seq]);
      const tokens = await s.run(
        'gather',
        [await w('wte.weight', [config.vocab, hidden]), ids],
        {},
      );
      const positions = slice(
        await w('wpe.weight', [config.maxPositions, hidden]),
        0,
        ctx.positionOffset,
        end,
      );
      return add(s, tokens, positions);
    },
  };

  const block = (i: number): Stage => {
    const base = `h.${i}.`;
    const ln = async (s: Scope, t: Tensor, name: string) =>
      s.run(
        'layerNorm',
        [t, await w(`${base}${name}.weight`, H), await w(`${base}${name}.bias`, H)],
        { eps },
      );
    const conv1d = async (s: Scope, t: Tensor, name: string, inp: number, out: number, fn = act) =>
      linear(
        s,
        t,
        await params.linear(`${p}${base}${name}.weight`, [inp, out], i, 'in-out'),
        await w(`${base}${name}.bias`, [out]),
        fn,
        'in-out',
      );
    /** x + attn(ln_1(x)). */
    const attention = async (s: Scope, h: Tensor, ctx: StageContext) => {
      const qkv = await conv1d(
        s,
        await ln(s, h, 'ln_1'),
        'attn.c_attn',
        hidden,
        3 * hidden,
        'none',
      );
      const q = slice(qkv, 2, 0, hidden);
      const k = slice(qkv, 2, hidden, 2 * hidden);
      const v = slice(qkv, 2, 2 * hidden, 3 * hidden);
      const attn = await selfAttention(
        s,
        q,
        k,
        v,
        { batch: ctx.batch, seq: ctx.seq, heads, kvHeads: heads, headDim },
        {
          causal: true,
          kvLengths: ctx.kvLengths,
          cache: ctx.cache ? { cache: ctx.cache, layer: i } : undefined,
        },
      );
      return add(s, await conv1d(s, attn, 'attn.c_proj', hidden, hidden, 'none'), h);
    };
    /** h1 + mlp(ln_2(h1)). */
    const feedForward = async (s: Scope, h1: Tensor) => {
      const m = await conv1d(s, await ln(s, h1, 'ln_2'), 'mlp.c_fc', hidden, intermediate);
      return add(s, await conv1d(s, m, 'mlp.c_proj', intermediate, hidden, 'none'), h1);
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
        { name: `layer.${i}.mlp`, kind: 'layer', run: (s, x) => feedForward(s, x as Tensor) },
      ],
    };
  };

  const head: Stage = {
    name: 'head',
    kind: 'head',
    async run(s, x, ctx) {
      const normed = await s.run(
        'layerNorm',
        [x as Tensor, await w('ln_f.weight', H), await w('ln_f.bias', H)],
        {
          eps,
        },
      );
      const headName = params.has('lm_head.weight') ? 'lm_head.weight' : `${p}wte.weight`;
      const headW = await params.linear(headName, [config.vocab, hidden], 'head');
      const rows = ctx.lastLogitsOnly ? await pickPosition(s, normed, ctx.seq - 1) : normed;
      return { last_hidden_state: normed, logits: await linear(s, rows, headW, null) };
    },
  };

  return {
    stages: [embed, ...Array.from({ length: config.layers }, (_, i) => block(i)), head],
    lastHiddenStateIsNormed: true,
    seqOf(inputs) {
      const [batch, seq] = idsOf(inputs).shape as [number, number];
      return { batch, seq };
    },
    dummyInputs: () => ({ input_ids: cpuTensor(new Int32Array(1), [1, 1]) }),
  };
}

/**
 * The Llama family (llama, qwen2, mistral): RMSNorm, rotary positions, grouped-query attention,
 * a SwiGLU MLP, and a head that is its own matrix or tied to the embeddings.
 */
import { cpuTensor, cpuToDense, type Tensor } from '../../kernels/tensor/tensor';
import { add, linear, pickPosition, selfAttention } from './blocks';
import type { LlamaConfig } from './config';
import type { Scope } from './graph';
import {
  type Architecture,
  type ModelInputs,
  type Stage,
  type StageContext,
  textInputIds,
} from './model';
import { findPrefix, type Params } from './params';

export function llamaArchitecture(config: LlamaConfig, params: Params): Architecture {
  const { hidden, heads, kvHeads, headDim, intermediate, eps } = config;
  const p = findPrefix(params, 'embed_tokens.weight', ['model.', '']);
  const w = (name: string, shape?: number[]) => params.get(`${p}${name}`, shape);
  const maybe = (name: string, shape?: number[]) => params.maybe(`${p}${name}`, shape);
  const H = [hidden];
  const tied = config.tieEmbeddings ?? !params.has('lm_head.weight');

  const idsOf = (inputs: ModelInputs): Tensor =>
    textInputIds(inputs, config.modelType, config.vocab);

  const embed: Stage = {
    name: 'embeddings',
    kind: 'embed',
    async run(s, _hidden, ctx) {
      const ids = s.upload(cpuToDense(idsOf(ctx.inputs)) as Int32Array, [ctx.batch, ctx.seq]);
      return s.run('gather', [await w('embed_tokens.weight', [config.vocab, hidden]), ids], {});
    },
  };

  const layer = (i: number): Stage => {
    const base = `layers.${i}.`;
    const proj = async (
      s: Scope,
      t: Tensor,
      name: string,
      out: number,
      inp: number,
      bias: boolean,
      fn = 'none' as const,
    ) =>
      linear(
        s,
        t,
        await params.linear(`${p}${base}${name}.weight`, [out, inp], i),
        bias ? await maybe(`${base}${name}.bias`, [out]) : null,
        fn,
      );
    /** h + o_proj(attention(rmsNorm(h))). */
    const attention = async (s: Scope, h: Tensor, ctx: StageContext) => {
      const x1 = await s.run('rmsNorm', [h, await w(`${base}input_layernorm.weight`, H)], { eps });
      const q = await proj(s, x1, 'self_attn.q_proj', heads * headDim, hidden, config.qkvBias);
      const k = await proj(s, x1, 'self_attn.k_proj', kvHeads * headDim, hidden, config.qkvBias);
      const v = await proj(s, x1, 'self_attn.v_proj', kvHeads * headDim, hidden, config.qkvBias);
      const attn = await selfAttention(
        s,
        q,
        k,
        v,
        { batch: ctx.batch, seq: ctx.seq, heads, kvHeads, headDim },
        {
          causal: true,
          kvLengths: ctx.kvLengths,
          rotary: { theta: config.ropeTheta, positionOffset: ctx.positionOffset },
          cache: ctx.cache ? { cache: ctx.cache, layer: i } : undefined,
        },
      );
      return add(
        s,
        await proj(s, attn, 'self_attn.o_proj', hidden, heads * headDim, config.mlpBias),
        h,
      );
    };
    /** h1 + SwiGLU(rmsNorm(h1)). */
    const feedForward = async (s: Scope, h1: Tensor) => {
      const x2 = await s.run(
        'rmsNorm',
        [h1, await w(`${base}post_attention_layernorm.weight`, H)],
        { eps },
      );
      const gate = await linear(
        s,
        x2,
        await params.linear(`${p}${base}mlp.gate_proj.weight`, [intermediate, hidden], i),
        config.mlpBias ? await maybe(`${base}mlp.gate_proj.bias`, [intermediate]) : null,
        config.act,
      );
      const up = await proj(s, x2, 'mlp.up_proj', intermediate, hidden, config.mlpBias);
      const glu = await s.run('binary', [gate, up], { fn: 'mul' });
      return add(s, await proj(s, glu, 'mlp.down_proj', hidden, intermediate, config.mlpBias), h1);
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
      const normed = await s.run('rmsNorm', [x as Tensor, await w('norm.weight', H)], { eps });
      const headName = tied ? `${p}embed_tokens.weight` : 'lm_head.weight';
      const headW = await params.linear(headName, [config.vocab, hidden], 'head');
      const rows = ctx.lastLogitsOnly ? await pickPosition(s, normed, ctx.seq - 1) : normed;
      return { last_hidden_state: normed, logits: await linear(s, rows, headW, null) };
    },
  };

  return {
    stages: [embed, ...Array.from({ length: config.layers }, (_, i) => layer(i)), head],
    lastHiddenStateIsNormed: true,
    seqOf(inputs) {
      const [batch, seq] = idsOf(inputs).shape as [number, number];
      return { batch, seq };
    },
    dummyInputs: () => ({ input_ids: cpuTensor(new Int32Array(1), [1, 1]) }),
  };
}

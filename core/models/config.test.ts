import { describe, expect, it } from 'vitest';
import { activationOf, parseConfig } from './config';

const llama = {
  model_type: 'llama',
  hidden_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  intermediate_size: 128,
  vocab_size: 300,
};

describe('parseConfig', () => {
  it('reads every size from the config, with Hugging Face defaults for the rest', () => {
    const c = parseConfig(llama);
    expect(c).toMatchObject({
      family: 'llama',
      hidden: 64,
      heads: 4,
      kvHeads: 2,
      headDim: 16,
      ropeTheta: 10000,
      act: 'silu',
      qkvBias: false,
      tieEmbeddings: null,
    });
    expect(parseConfig({ ...llama, model_type: 'qwen2', rope_theta: 1e6 })).toMatchObject({
      qkvBias: true,
      ropeTheta: 1e6,
    });
    expect(
      parseConfig({ model_type: 'gpt2', n_embd: 32, n_layer: 2, n_head: 4, vocab_size: 99 }),
    ).toMatchObject({ family: 'gpt2', intermediate: 128, act: 'gelu-tanh', maxPositions: 1024 });
  });

  it('reads id2label into an ordered label list', () => {
    const c = parseConfig({
      model_type: 'bert',
      hidden_size: 32,
      num_hidden_layers: 1,
      num_attention_heads: 4,
      vocab_size: 50,
      id2label: { 1: 'b', 0: 'a' },
    });
    expect(c.labels).toEqual(['a', 'b']);
  });

  it.each([
    [null, 'BAD_MODEL_FILE'],
    [[], 'BAD_MODEL_FILE'],
    [{ hidden_size: 3 }, 'BAD_MODEL_FILE'],
    [{ model_type: 't5' }, 'UNSUPPORTED_MODEL'],
    [{ ...llama, hidden_size: undefined }, 'BAD_MODEL_FILE'],
    [{ ...llama, hidden_size: -4 }, 'BAD_MODEL_FILE'],
    [{ ...llama, hidden_size: '64' }, 'BAD_MODEL_FILE'],
    [{ ...llama, num_key_value_heads: 3 }, 'BAD_MODEL_FILE'],
    [{ ...llama, rope_scaling: { rope_type: 'yarn', factor: 4 } }, 'UNSUPPORTED_MODEL'],
    [{ ...llama, hidden_act: 'mish' }, 'UNSUPPORTED_MODEL'],
    [{ ...llama, rms_norm_eps: 'small' }, 'BAD_MODEL_FILE'],
    [{ ...llama, id2label: { 0: 'a', 5: 'b' } }, 'BAD_MODEL_FILE'],
  ])('rejects %j with %s', (json, code) => {
    expect(() => parseConfig(json)).toThrow(expect.objectContaining({ code }));
  });

  it('maps Hugging Face activation names', () => {
    expect(activationOf('gelu')).toBe('gelu');
    expect(activationOf('gelu_pytorch_tanh')).toBe('gelu-tanh');
    expect(activationOf('swish')).toBe('silu');
  });
});

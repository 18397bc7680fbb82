/**
 * Random-weight checkpoints laid out exactly as Hugging Face saves each family (names, shapes,
 * config.json), for tests that need a model of a given size without a download, and for
 * benchmarks on real shapes (BERT-base, GPT-2 small) with random weights. Seeded: the same
 * arguments give the same bytes.
 */
import { seededRandom } from '../../../kernels/sample/cpu';
import { type WritableTensor, writeSafetensors } from '../safetensors';

export interface RandomModelSizes {
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  vocab: number;
  /** Llama family only; defaults to `heads`. */
  kvHeads?: number;
  maxPositions?: number;
  /** ViT only. */
  imageSize?: number;
  patchSize?: number;
  /** Classification heads (BERT, ViT): label count. */
  labels?: number;
}

export type RandomFamily = 'bert' | 'vit' | 'gpt2' | 'llama';

/** The sampler's seeded generator, shifted to [-0.5, 0.5). */
function random(seed: number): () => number {
  const next = seededRandom(seed);
  return () => next() - 0.5;
}

/** Norm scales start near 1, everything else near 0 with a spread of `scale`. */
function fill(
  shapes: Record<string, number[]>,
  seed: number,
  scale: number,
): Record<string, WritableTensor> {
  const next = random(seed);
  const out: Record<string, WritableTensor> = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const isScale = /(norm|ln_\d|ln_f|LayerNorm|layernorm[a-z_]*)\.weight$/.test(name);
    for (let i = 0; i < data.length; i++) data[i] = (isScale ? 1 : 0) + next() * 2 * scale;
    out[name] = { dtype: 'F32', shape, data };
  }
  return out;
}

function labels(n: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i), `LABEL_${i}`]));
}

/** `config.json` and `model.safetensors` of a random model of `family` with `sizes`. */
export function randomModelFiles(
  family: RandomFamily,
  sizes: RandomModelSizes,
  seed = 1,
  scale = 0.1,
): Record<string, Uint8Array | string> {
  const { hidden: H, layers: L, heads, intermediate: I, vocab: V } = sizes;
  const P = sizes.maxPositions ?? 64;
  const shapes: Record<string, number[]> = {};
  let config: Record<string, unknown>;
  const encoderLayer = (prefix: string, names: Record<string, number[]>, norms: string[]) => {
    for (const [n, s] of Object.entries(names)) {
      shapes[`${prefix}${n}.weight`] = s;
      shapes[`${prefix}${n}.bias`] = [s[0] as number];
    }
    for (const n of norms) {
      shapes[`${prefix}${n}.weight`] = [H];
      shapes[`${prefix}${n}.bias`] = [H];
    }
  };
  const attention = (q: string) => ({
    [`${q}.query`]: [H, H],
    [`${q}.key`]: [H, H],
    [`${q}.value`]: [H, H],
    'attention.output.dense': [H, H],
    'intermediate.dense': [I, H],
    'output.dense': [H, I],
  });
  switch (family) {
    case 'bert': {
      const n = sizes.labels ?? 2;
      Object.assign(shapes, {
        'bert.embeddings.word_embeddings.weight': [V, H],
        'bert.embeddings.position_embeddings.weight': [P, H],
        'bert.embeddings.token_type_embeddings.weight': [2, H],
        'bert.embeddings.LayerNorm.weight': [H],
        'bert.embeddings.LayerNorm.bias': [H],
        'bert.pooler.dense.weight': [H, H],
        'bert.pooler.dense.bias': [H],
        'classifier.weight': [n, H],
        'classifier.bias': [n],
      });
      for (let i = 0; i < L; i++) {
        encoderLayer(`bert.encoder.layer.${i}.`, attention('attention.self'), [
          'attention.output.LayerNorm',
          'output.LayerNorm',
        ]);
      }
      config = {
        model_type: 'bert',
        hidden_size: H,
        num_hidden_layers: L,
        num_attention_heads: heads,
        intermediate_size: I,
        vocab_size: V,
        max_position_embeddings: P,
        id2label: labels(n),
      };
      break;
    }
    case 'vit': {
      const image = sizes.imageSize ?? 32;
      const patch = sizes.patchSize ?? 8;
      const n = sizes.labels ?? 2;
      Object.assign(shapes, {
        'vit.embeddings.cls_token': [1, 1, H],
        'vit.embeddings.position_embeddings': [1, (image / patch) ** 2 + 1, H],
        'vit.embeddings.patch_embeddings.projection.weight': [H, 3, patch, patch],
        'vit.embeddings.patch_embeddings.projection.bias': [H],
        'vit.layernorm.weight': [H],
        'vit.layernorm.bias': [H],
        'classifier.weight': [n, H],
        'classifier.bias': [n],
      });
      for (let i = 0; i < L; i++) {
        encoderLayer(`vit.encoder.layer.${i}.`, attention('attention.attention'), [
          'layernorm_before',
          'layernorm_after',
        ]);
      }
      config = {
        model_type: 'vit',
        hidden_size: H,
        num_hidden_layers: L,
        num_attention_heads: heads,
        intermediate_size: I,
        image_size: image,
        patch_size: patch,
        id2label: labels(n),
      };
      break;
    }
    case 'gpt2': {
      Object.assign(shapes, {
        'transformer.wte.weight': [V, H],
        'transformer.wpe.weight': [P, H],
        'transformer.ln_f.weight': [H],
        'transformer.ln_f.bias': [H],
      });
      for (let i = 0; i < L; i++) {
        const b = `transformer.h.${i}.`;
        Object.assign(shapes, {
          [`${b}ln_1.weight`]: [H],
          [`${b}ln_1.bias`]: [H],
          [`${b}ln_2.weight`]: [H],
          [`${b}ln_2.bias`]: [H],
          [`${b}attn.c_attn.weight`]: [H, 3 * H],
          [`${b}attn.c_attn.bias`]: [3 * H],
          [`${b}attn.c_proj.weight`]: [H, H],
          [`${b}attn.c_proj.bias`]: [H],
          [`${b}mlp.c_fc.weight`]: [H, I],
          [`${b}mlp.c_fc.bias`]: [I],
          [`${b}mlp.c_proj.weight`]: [I, H],
          [`${b}mlp.c_proj.bias`]: [H],
        });
      }
      config = {
        model_type: 'gpt2',
        n_embd: H,
        n_layer: L,
        n_head: heads,
        n_inner: I,
        vocab_size: V,
        n_positions: P,
      };
      break;
    }
    case 'llama': {
      const kv = sizes.kvHeads ?? heads;
      const d = H / heads;
      Object.assign(shapes, {
        'model.embed_tokens.weight': [V, H],
        'model.norm.weight': [H],
        'lm_head.weight': [V, H],
      });
      for (let i = 0; i < L; i++) {
        const b = `model.layers.${i}.`;
        Object.assign(shapes, {
          [`${b}input_layernorm.weight`]: [H],
          [`${b}post_attention_layernorm.weight`]: [H],
          [`${b}self_attn.q_proj.weight`]: [heads * d, H],
          [`${b}self_attn.k_proj.weight`]: [kv * d, H],
          [`${b}self_attn.v_proj.weight`]: [kv * d, H],
          [`${b}self_attn.o_proj.weight`]: [H, heads * d],
          [`${b}mlp.gate_proj.weight`]: [I, H],
          [`${b}mlp.up_proj.weight`]: [I, H],
          [`${b}mlp.down_proj.weight`]: [H, I],
        });
      }
      config = {
        model_type: 'llama',
        hidden_size: H,
        num_hidden_layers: L,
        num_attention_heads: heads,
        num_key_value_heads: kv,
        intermediate_size: I,
        vocab_size: V,
        max_position_embeddings: P,
        tie_word_embeddings: false,
      };
      break;
    }
  }
  return {
    'config.json': JSON.stringify(config),
    'model.safetensors': writeSafetensors(fill(shapes, seed, scale)),
  };
}

/** GPT-2's map from bytes to printable characters. */
export function bytesToUnicode(): string[] {
  const keep = new Set<number>();
  for (let b = 33; b <= 126; b++) keep.add(b);
  for (let b = 161; b <= 172; b++) keep.add(b);
  for (let b = 174; b <= 255; b++) keep.add(b);
  const out: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCodePoint(keep.has(b) ? b : 256 + n++);
  return out;
}

/** Id of `<|endoftext|>` in `byteTokenizerFiles` (after the 256 byte tokens). */
export const BYTE_TOKENIZER_EOS = 256;

/**
 * A byte-level BPE tokenizer with no merges (every UTF-8 byte is a token, `<|endoftext|>` is
 * 256) and a generation_config naming it as eos: pairs with a random model of vocab ≥ 257 to
 * make a complete, tiny text model for tests and the demo.
 */
export function byteTokenizerFiles(): Record<string, string> {
  const vocab = Object.fromEntries(bytesToUnicode().map((t, i) => [t, i]));
  const eos = '<|endoftext|>';
  const byteLevel = {
    type: 'ByteLevel',
    add_prefix_space: false,
    trim_offsets: true,
    use_regex: true,
  };
  return {
    'tokenizer.json': JSON.stringify({
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [
        {
          id: BYTE_TOKENIZER_EOS,
          content: eos,
          single_word: false,
          lstrip: false,
          rstrip: false,
          normalized: false,
          special: true,
        },
      ],
      normalizer: null,
      pre_tokenizer: byteLevel,
      post_processor: byteLevel,
      decoder: byteLevel,
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: '',
        end_of_word_suffix: '',
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab,
        merges: [],
      },
    }),
    'tokenizer_config.json': JSON.stringify({ eos_token: eos, bos_token: eos }),
    'generation_config.json': JSON.stringify({
      bos_token_id: BYTE_TOKENIZER_EOS,
      eos_token_id: BYTE_TOKENIZER_EOS,
    }),
  };
}

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TabpoolError } from '../protocol/errors';
import { modelFilesFromMap } from './model-files';
import { modelFilesFromDir } from './model-files-node';
import { bytesToUnicode } from './testing/random-models';
import { loadTokenizer, type TextTokenizer } from './tokenizer';

const special = (id: number, content: string) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
});

const BERT_VOCAB = [
  '[PAD]',
  '[UNK]',
  '[CLS]',
  '[SEP]',
  '[MASK]',
  'hello',
  'world',
  ',',
  '!',
  'un',
  '##aff',
  '##able',
  'the',
  '.',
];
const bertJson = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((t, i) => special(i, t)),
  normalizer: {
    type: 'BertNormalizer',
    clean_text: true,
    handle_chinese_chars: true,
    strip_accents: null,
    lowercase: true,
  },
  pre_tokenizer: { type: 'BertPreTokenizer' },
  post_processor: {
    type: 'TemplateProcessing',
    single: [
      { SpecialToken: { id: '[CLS]', type_id: 0 } },
      { Sequence: { id: 'A', type_id: 0 } },
      { SpecialToken: { id: '[SEP]', type_id: 0 } },
    ],
    pair: [
      { SpecialToken: { id: '[CLS]', type_id: 0 } },
      { Sequence: { id: 'A', type_id: 0 } },
      { SpecialToken: { id: '[SEP]', type_id: 0 } },
      { Sequence: { id: 'B', type_id: 1 } },
      { SpecialToken: { id: '[SEP]', type_id: 1 } },
    ],
    special_tokens: {
      '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] },
      '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] },
    },
  },
  decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
  model: {
    type: 'WordPiece',
    unk_token: '[UNK]',
    continuing_subword_prefix: '##',
    max_input_chars_per_word: 100,
    vocab: Object.fromEntries(BERT_VOCAB.map((t, i) => [t, i])),
  },
};
const bertConfig = {
  do_lower_case: true,
  pad_token: '[PAD]',
  cls_token: '[CLS]',
  sep_token: '[SEP]',
  unk_token: '[UNK]',
  clean_up_tokenization_spaces: true,
};

const BYTE = bytesToUnicode();
const MERGES = [
  ['h', 'e'],
  ['l', 'l'],
  ['he', 'll'],
  ['hell', 'o'],
  ['Ġ', 'w'],
  ['o', 'r'],
  ['Ġw', 'or'],
  ['Ġwor', 'l'],
  ['Ġworl', 'd'],
  [BYTE[0xf0], BYTE[0x9f]], // the first two bytes of 😀 merge; the last two stay single bytes
] as [string, string][];
const BPE_VOCAB = [...BYTE, ...MERGES.map(([a, b]) => a + b)];
const EOT = BPE_VOCAB.length;
const bpeJson = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: [special(EOT, '<|endoftext|>')],
  normalizer: null,
  pre_tokenizer: {
    type: 'ByteLevel',
    add_prefix_space: false,
    trim_offsets: true,
    use_regex: true,
  },
  post_processor: {
    type: 'ByteLevel',
    add_prefix_space: true,
    trim_offsets: false,
    use_regex: true,
  },
  decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  model: {
    type: 'BPE',
    dropout: null,
    unk_token: null,
    continuing_subword_prefix: '',
    end_of_word_suffix: '',
    fuse_unk: false,
    byte_fallback: false,
    ignore_merges: false,
    vocab: Object.fromEntries(BPE_VOCAB.map((t, i) => [t, i])),
    merges: MERGES.map(([a, b]) => `${a} ${b}`),
  },
};
const bpeFiles = (extra: Record<string, unknown> = {}) =>
  modelFilesFromMap('test/bpe', {
    'tokenizer.json': JSON.stringify(bpeJson),
    'tokenizer_config.json': JSON.stringify({
      bos_token: { content: '<|endoftext|>', __type: 'AddedToken' },
      eos_token: '<|endoftext|>',
      clean_up_tokenization_spaces: false,
    }),
    ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, JSON.stringify(v)])),
  });

async function load(files: Parameters<typeof loadTokenizer>[0]): Promise<TextTokenizer> {
  const tok = await loadTokenizer(files);
  if (tok === null) throw new TypeError('no tokenizer');
  return tok;
}

const id = (t: string) => BPE_VOCAB.indexOf(t);

describe('a WordPiece (BERT) tokenizer', () => {
  const files = modelFilesFromMap('test/bert', {
    'tokenizer.json': JSON.stringify(bertJson),
    'tokenizer_config.json': JSON.stringify(bertConfig),
  });

  it('encodes with [CLS] … [SEP], lowercases and splits subwords', async () => {
    const tok = await load(files);
    expect(tok.encode('Hello, World!')).toEqual([2, 5, 7, 6, 8, 3]);
    expect(tok.encode('unaffable the', { addSpecialTokens: false })).toEqual([9, 10, 11, 12]);
    expect(tok.encode('xyz', { addSpecialTokens: false })).toEqual([1]);
    expect(tok.encode('', { addSpecialTokens: false })).toEqual([]);
  });

  it('decodes, joining subwords and optionally dropping special tokens', async () => {
    const tok = await load(files);
    expect(tok.decode([2, 5, 7, 6, 8, 3])).toBe('[CLS] hello, world! [SEP]');
    expect(tok.decode([2, 9, 10, 11, 12, 13, 3], { skipSpecialTokens: true })).toBe(
      'unaffable the.',
    );
    expect(tok.decode([])).toBe('');
  });

  it('knows its special tokens', async () => {
    const tok = await load(files);
    expect(tok.padTokenId).toBe(0);
    expect(tok.bosTokenId).toBeNull();
    expect(tok.eosTokenIds).toEqual([]);
    expect(tok.tokenId('[MASK]')).toBe(4);
    expect(tok.tokenId('nope')).toBeNull();
  });

  it('streams a decode whose pieces join onto the word before', async () => {
    const tok = await load(files);
    const ids = [9, 10, 11, 12, 5, 7, 6];
    const stream = tok.decodeStream();
    const pieces = ids.map((i) => stream.push(i));
    expect(pieces.join('') + stream.flush()).toBe(tok.decode(ids));
    expect(pieces.slice(0, 3)).toEqual(['un', 'aff', 'able']);
  });
});

describe('a byte-level BPE (GPT-2) tokenizer', () => {
  it('encodes with merges, byte pieces and special tokens', async () => {
    const tok = await load(bpeFiles());
    expect(tok.encode('hello world')).toEqual([id('hello'), id('Ġworld')]);
    expect(tok.encode('hello<|endoftext|>')).toEqual([id('hello'), EOT]);
    const emoji = tok.encode(' 😀');
    const byte = (b: number) => id(BYTE[b] as string);
    expect(emoji).toEqual([byte(0x20), id(`${BYTE[0xf0]}${BYTE[0x9f]}`), byte(0x98), byte(0x80)]);
    expect(tok.decode(emoji)).toBe(' 😀');
  });

  it('reads bos/eos/pad from the configs, eos ids from generation_config first', async () => {
    const tok = await load(
      bpeFiles({ 'generation_config.json': { eos_token_id: [7, EOT], pad_token_id: 5 } }),
    );
    expect(tok.bosTokenId).toBe(EOT);
    expect(tok.eosTokenIds).toEqual([7, EOT]);
    expect(tok.padTokenId).toBe(5);
    const plain = await load(bpeFiles());
    expect(plain.eosTokenIds).toEqual([EOT]);
    expect(plain.padTokenId).toBeNull();
  });

  it('streams an emoji split across byte-level tokens without a replacement character', async () => {
    const tok = await load(bpeFiles());
    const ids = tok.encode('hello 😀 world😀', { addSpecialTokens: false });
    expect(ids.length).toBeGreaterThan(8);
    const stream = tok.decodeStream();
    const pieces = ids.map((i) => stream.push(i));
    const text = pieces.join('') + stream.flush();
    expect(text).toBe('hello 😀 world😀');
    expect(pieces.some((p) => p.includes('\uFFFD'))).toBe(false);
    // The emoji comes out whole, on its last byte.
    expect(pieces).toContain('😀');
    expect(pieces.filter((p) => p === '').length).toBeGreaterThan(0);
  });

  it('flushes an incomplete character at the end as the decoder renders it', async () => {
    const tok = await load(bpeFiles());
    const stream = tok.decodeStream();
    expect(stream.push(id('hello'))).toBe('hello');
    expect(stream.push(id(`${BYTE[0xf0]}${BYTE[0x9f]}`))).toBe('');
    expect(stream.flush()).toBe(tok.decode([id(`${BYTE[0xf0]}${BYTE[0x9f]}`)]));
    expect(stream.push(id('hello'))).toBe('hello');
  });

  it('skips special tokens in a stream when asked', async () => {
    const tok = await load(bpeFiles());
    const stream = tok.decodeStream({ skipSpecialTokens: true });
    expect([id('hello'), EOT, id('Ġworld')].map((i) => stream.push(i)).join('')).toBe(
      'hello world',
    );
  });
});

const hex = (b: number) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
const SP_VOCAB = [
  '<unk>',
  '<s>',
  '</s>',
  ...Array.from({ length: 256 }, (_, b) => hex(b)),
  '▁',
  'h',
  'i',
  '▁h',
  '▁hi',
];
const sp = (t: string) => SP_VOCAB.indexOf(t);
/** A Llama-style (SentencePiece BPE with byte fallback, Metaspace-like decoder) tokenizer.json. */
const llamaJson = {
  version: '1.0',
  added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
  normalizer: {
    type: 'Sequence',
    normalizers: [
      { type: 'Prepend', prepend: '▁' },
      { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
    ],
  },
  pre_tokenizer: null,
  post_processor: {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
    pair: [
      { SpecialToken: { id: '<s>', type_id: 0 } },
      { Sequence: { id: 'A', type_id: 0 } },
      { Sequence: { id: 'B', type_id: 1 } },
    ],
    special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
  },
  decoder: {
    type: 'Sequence',
    decoders: [
      { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
      { type: 'ByteFallback' },
      { type: 'Fuse' },
      { type: 'Strip', content: ' ', start: 1, stop: 0 },
    ],
  },
  model: {
    type: 'BPE',
    dropout: null,
    unk_token: '<unk>',
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: true,
    byte_fallback: true,
    ignore_merges: false,
    vocab: Object.fromEntries(SP_VOCAB.map((t, i) => [t, i])),
    merges: ['▁ h', '▁h i'],
  },
};

describe('a SentencePiece BPE (Llama) tokenizer with byte fallback', () => {
  const files = modelFilesFromMap('test/llama', {
    'tokenizer.json': JSON.stringify(llamaJson),
    'tokenizer_config.json': JSON.stringify({
      bos_token: '<s>',
      eos_token: '</s>',
      unk_token: '<unk>',
    }),
  });

  it('encodes unknown characters as bytes and decodes them back', async () => {
    const tok = await load(files);
    const ids = tok.encode('hi 😀');
    expect(ids).toEqual([
      1,
      sp('▁hi'),
      sp('▁'),
      ...[0xf0, 0x9f, 0x98, 0x80].map((b) => sp(hex(b))),
    ]);
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('hi 😀');
    expect(tok.bosTokenId).toBe(1);
    expect(tok.eosTokenIds).toEqual([2]);
  });

  it('streams byte-fallback pieces as whole characters, keeping the spaces between words', async () => {
    const tok = await load(files);
    const ids = tok.encode('hi 😀 hi', { addSpecialTokens: false });
    const stream = tok.decodeStream();
    const pieces = ids.map((i) => stream.push(i));
    expect(pieces.join('') + stream.flush()).toBe('hi 😀 hi');
    expect(pieces.filter((p) => p !== '')).toEqual(['hi', ' ', '😀', ' hi']);
  });
});

describe('loadTokenizer failures', () => {
  it('answers null without tokenizer.json', async () => {
    expect(await loadTokenizer(modelFilesFromMap('m', { 'config.json': '{}' }))).toBeNull();
  });

  it.each([
    ['not JSON', '{'],
    ['not an object', '[1]'],
    ['without a model', '{"added_tokens": []}'],
    ['an unknown model type', JSON.stringify({ ...bpeJson, model: { type: 'Nope' } })],
    ['an unknown decoder', JSON.stringify({ ...bpeJson, decoder: { type: 'Nope' } })],
  ])('answers BAD_MODEL_FILE for a tokenizer.json that is %s', async (_, text) => {
    let error: TabpoolError | undefined;
    try {
      await loadTokenizer(modelFilesFromMap('m', { 'tokenizer.json': text }));
    } catch (e) {
      error = e as TabpoolError;
    }
    expect(error?.code).toBe('BAD_MODEL_FILE');
    expect(error?.detail).toMatchObject({ file: 'tokenizer.json' });
  });
});

/**
 * Python-made cases (tools/fixtures: the HF tokenizer's ids and decodes for a list of strings)
 * in tests/fixtures/models/<name>/tokenizer-cases.json: WordPiece (BERT) and byte-level BPE
 * (GPT-2, Llama 3-style, Qwen2) tokenizers trained by the `tokenizers` library.
 */
interface TokenizerCase {
  text: string;
  ids: number[];
  decoded?: string;
  ids_no_special?: number[];
  decoded_skip_special?: string;
}
const FIXTURES = resolve(import.meta.dirname, '../../tests/fixtures/models');
const fixtureDirs = existsSync(FIXTURES)
  ? readdirSync(FIXTURES).filter((d) => existsSync(join(FIXTURES, d, 'tokenizer-cases.json')))
  : [];

describe('parity with the Python tokenizers', () => {
  it('has Python fixtures', () => {
    expect(fixtureDirs.length).toBeGreaterThanOrEqual(4);
  });

  describe.each(fixtureDirs)('%s', (name) => {
    const dir = join(FIXTURES, name);
    const raw = JSON.parse(readFileSync(join(dir, 'tokenizer-cases.json'), 'utf8')) as
      | TokenizerCase[]
      | { cases: TokenizerCase[] };
    const cases = Array.isArray(raw) ? raw : raw.cases;

    it('encodes and decodes every case as Python does', async () => {
      const tok = await load(modelFilesFromDir(dir));
      for (const c of cases) {
        expect(tok.encode(c.text), c.text).toEqual(c.ids);
        if (c.decoded !== undefined) expect(tok.decode(c.ids), c.text).toBe(c.decoded);
        if (c.ids_no_special !== undefined) {
          expect(tok.encode(c.text, { addSpecialTokens: false }), c.text).toEqual(c.ids_no_special);
        }
        if (c.decoded_skip_special !== undefined) {
          expect(tok.decode(c.ids, { skipSpecialTokens: true }), c.text).toBe(
            c.decoded_skip_special,
          );
        }
        const stream = tok.decodeStream();
        const streamed = c.ids.map((i) => stream.push(i)).join('') + stream.flush();
        expect(streamed, c.text).toBe(tok.decode(c.ids));
      }
    });
  });
});

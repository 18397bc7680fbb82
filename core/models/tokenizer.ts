/**
 * Text ↔ token ids for a Hugging Face model, from its `tokenizer.json` (with
 * `tokenizer_config.json` and `generation_config.json` for special tokens), on
 * `@huggingface/tokenizers` (pure JS: runs in extension pages, workers and Node).
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { BadModelFileError } from '../protocol/errors';
import { type ModelFiles, readJsonFile } from './model-files';

export interface TextTokenizer {
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
  /**
   * Decodes a stream of ids: `push` returns the text the id adds (possibly '' while a
   * multi-byte character or merged piece is incomplete), `flush` whatever is still held back.
   */
  decodeStream(options?: { skipSpecialTokens?: boolean }): DecodeStream;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: number[];
  readonly padTokenId: number | null;
  tokenId(token: string): number | null;
}

export interface DecodeStream {
  push(id: number): string;
  flush(): string;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A special token in tokenizer_config.json: a string or an AddedToken object `{ content }`. */
function tokenText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v.content === 'string') return v.content;
  return null;
}

/** An id or a list of ids (generation_config's `eos_token_id` may be either). */
function idList(v: unknown): number[] {
  const list = Array.isArray(v) ? v : [v];
  return list.filter((x): x is number => Number.isSafeInteger(x) && (x as number) >= 0);
}

/** The config the library reads, with AddedToken objects flattened to their text. */
function libraryConfig(config: Json): Json {
  const out: Json = { ...config };
  for (const key of [
    'bos_token',
    'eos_token',
    'pad_token',
    'unk_token',
    'sep_token',
    'cls_token',
    'mask_token',
  ]) {
    if (key in out) out[key] = tokenText(out[key]);
  }
  if (Array.isArray(out.additional_special_tokens)) {
    out.additional_special_tokens = out.additional_special_tokens
      .map(tokenText)
      .filter((t) => t !== null);
  }
  return out;
}

/**
 * Emits text only once it is stable, as the Rust library's `DecodeStream`: decode the ids since
 * a short prefix, and emit what follows the prefix's own text once it does not end in U+FFFD
 * (an incomplete UTF-8 sequence from byte-level pieces). The prefix keeps the context decoders
 * need (a Metaspace or WordPiece decoder strips the space of a sequence's first word).
 */
function createDecodeStream(decode: (ids: number[]) => string): DecodeStream {
  let ids: number[] = [];
  let prefix = '';
  let prefixIndex = 0;
  return {
    push(id) {
      ids.push(id);
      const text = decode(ids);
      if (text.length <= prefix.length || text.endsWith('\uFFFD')) return '';
      // Decoders that rewrite earlier text (cleanup of " ." and the like) would break the
      // prefix; emit what lies past it all the same rather than lose text.
      const added = text.slice(prefix.length);
      const nextPrefixIndex = ids.length - prefixIndex;
      ids = ids.slice(prefixIndex);
      prefix = decode(ids);
      prefixIndex = nextPrefixIndex;
      return added;
    },
    flush() {
      const text = decode(ids);
      const rest = text.length > prefix.length ? text.slice(prefix.length) : '';
      ids = [];
      prefix = '';
      prefixIndex = 0;
      return rest;
    },
  };
}

/**
 * CLIP's BPE marks word ends with a suffix (`</w>`) that its byte-level decoder leaves in the
 * text; transformers' CLIPTokenizer turns each into a space and strips the ends after decoding.
 * Null when the decoder handles the suffix itself (BPEDecoder) or there is none.
 */
function endOfWordSuffix(json: Json): string | null {
  const model = json.model as Json;
  const suffix = model.end_of_word_suffix;
  const decoder = isObject(json.decoder) ? json.decoder.type : null;
  return model.type === 'BPE' &&
    typeof suffix === 'string' &&
    suffix !== '' &&
    decoder !== 'BPEDecoder'
    ? suffix
    : null;
}

/**
 * Loads the model's tokenizer: null when it has no `tokenizer.json`; BAD_MODEL_FILE when that
 * file is malformed or uses a component the library does not support.
 *
 * @example
 * const tok = await loadTokenizer(files);
 * const ids = tok.encode('Hello world');
 * const stream = tok.decodeStream();
 * for await (const t of generate(model, ids)) out.write(stream.push(t.id));
 * out.write(stream.flush());
 */
export async function loadTokenizer(files: ModelFiles): Promise<TextTokenizer | null> {
  const json = await readJsonFile(files, 'tokenizer.json');
  if (json === null) return null;
  const config = (await readJsonFile(files, 'tokenizer_config.json')) ?? {};
  const generation = (await readJsonFile(files, 'generation_config.json')) ?? {};
  const modelConfig = (await readJsonFile(files, 'config.json')) ?? {};
  const bad = (why: string, file: string, cause?: unknown) =>
    new BadModelFileError(`${files.id}: ${file} ${why}`, {
      detail: { file, modelId: files.id },
      ...(cause === undefined ? {} : { cause }),
    });
  if (!isObject(json) || !isObject(json.model)) throw bad('has no model object', 'tokenizer.json');
  if (!isObject(config)) throw bad('is not an object', 'tokenizer_config.json');
  const gen = isObject(generation) ? generation : {};
  const cfg = isObject(modelConfig) ? modelConfig : {};

  let tok: Tokenizer;
  try {
    // The library wants every component key present and added_tokens a list.
    const full: Json = {
      normalizer: null,
      pre_tokenizer: null,
      post_processor: null,
      decoder: null,
      ...json,
      added_tokens: Array.isArray(json.added_tokens) ? json.added_tokens : [],
    };
    tok = new Tokenizer(full, libraryConfig(config));
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw bad(`is malformed or unsupported: ${why}`, 'tokenizer.json', e);
  }

  const idOf = (token: string | null): number | null => {
    if (token === null) return null;
    const id = tok.token_to_id(token);
    return id === undefined ? null : id;
  };
  const firstId = (...candidates: unknown[]): number | null => {
    for (const c of candidates) {
      const [id] = idList(c);
      if (id !== undefined) return id;
    }
    return null;
  };
  const padding = isObject(json.padding) ? json.padding.pad_id : undefined;
  const bosTokenId =
    idOf(tokenText(config.bos_token)) ?? firstId(gen.bos_token_id, cfg.bos_token_id);
  const eosTokenIds = [
    ...new Set([
      ...idList(gen.eos_token_id),
      ...[idOf(tokenText(config.eos_token))].filter((id): id is number => id !== null),
      ...idList(cfg.eos_token_id),
    ]),
  ];
  const padTokenId =
    idOf(tokenText(config.pad_token)) ?? firstId(padding, gen.pad_token_id, cfg.pad_token_id);
  // Unset, Python's tokenizers do not clean up (the library's own default is true).
  const cleanUp = config.clean_up_tokenization_spaces === true;
  const wordEnd = endOfWordSuffix(json);

  const decode = (ids: readonly number[], skipSpecialTokens = false): string => {
    if (ids.length === 0) return '';
    const text = tok.decode([...ids], {
      skip_special_tokens: skipSpecialTokens,
      clean_up_tokenization_spaces: cleanUp,
    });
    return wordEnd === null ? text : text.replaceAll(wordEnd, ' ').trim();
  };

  return {
    encode: (text, options = {}) =>
      tok
        .encode(text, { add_special_tokens: options.addSpecialTokens ?? true })
        .ids.filter((id) => Number.isInteger(id)),
    decode: (ids, options = {}) => decode(ids, options.skipSpecialTokens),
    decodeStream: (options = {}) =>
      createDecodeStream((ids) => decode(ids, options.skipSpecialTokens)),
    bosTokenId,
    eosTokenIds,
    padTokenId,
    tokenId: (token) => idOf(token),
  };
}

/**
 * The files of a Hugging Face repo snapshot, wherever they live (a directory in Node, IndexedDB
 * in the extension, a map in tests), and the model's weights across safetensors shards.
 */
import { BadModelFileError, NotFoundError } from '../protocol/errors';
import {
  parseSafetensorsHeader,
  readFloat32,
  type SafetensorsDType,
  type SafetensorsHeader,
  safetensorsHeaderLength,
} from './safetensors';

/** The start of a file and its whole size. */
export interface FileHead {
  bytes: Uint8Array;
  fileSize: number;
}

/** A model's files wherever they live (a directory in Node, IndexedDB storage in the extension, a map in tests). */
export interface ModelFiles {
  readonly id: string;
  /** The whole file, or null when the snapshot has no such file. */
  read(name: string): Promise<Uint8Array | null>;
  /**
   * Optional: the file's first `bytes` bytes (all of it when shorter) and its size, without
   * reading the rest. `openWeights` uses it to read safetensors headers without the tensors.
   */
  readHead?(name: string, bytes: number): Promise<FileHead | null>;
}

/**
 * Checks a file name from a model's own files (an index's shard names): a relative path inside
 * the snapshot, never absolute and never climbing out with `..`.
 */
export function checkFileName(name: string, from: string): void {
  const parts = name.split(/[\\/]/);
  if (name === '' || /^([\\/]|[A-Za-z]:)/.test(name) || parts.some((p) => p === '..' || p === '')) {
    throw new BadModelFileError(`${from} names a file outside the model: ${JSON.stringify(name)}`, {
      detail: { file: from, name },
    });
  }
}

/**
 * Files from memory (strings are UTF-8 encoded): tests and models built on the fly.
 *
 * @example
 * const files = modelFilesFromMap('test/tiny', { 'config.json': JSON.stringify(config), 'model.safetensors': bytes });
 */
export function modelFilesFromMap(
  id: string,
  files: Record<string, Uint8Array | string>,
): ModelFiles {
  const bytes = new Map<string, Uint8Array>();
  for (const [name, value] of Object.entries(files)) {
    bytes.set(name, typeof value === 'string' ? new TextEncoder().encode(value) : value);
  }
  return {
    id,
    read: async (name) => bytes.get(name) ?? null,
    readHead: async (name, n) => {
      const b = bytes.get(name);
      return b === undefined ? null : { bytes: b.subarray(0, n), fileSize: b.byteLength };
    },
  };
}

/**
 * A JSON file of the model, parsed; null when absent; BAD_MODEL_FILE when not UTF-8 JSON.
 *
 * @example
 * const config = await readJsonFile<{ model_type: string }>(files, 'config.json');
 */
export async function readJsonFile<T = unknown>(
  files: ModelFiles,
  name: string,
): Promise<T | null> {
  const bytes = await files.read(name);
  if (bytes === null) return null;
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as T;
  } catch (e) {
    throw new BadModelFileError(`${files.id}: ${name} is not valid JSON`, {
      cause: e,
      detail: { file: name, modelId: files.id },
    });
  }
}

/** The model's weights: `model.safetensors`, or the shards listed in `model.safetensors.index.json` (weight_map). */
export interface Weights {
  names(): string[];
  has(name: string): boolean;
  info(name: string): { dtype: SafetensorsDType; shape: number[] } | null;
  /** The tensor as f32 (converted from F16/BF16); NotFoundError if absent. */
  float32(name: string): Promise<Float32Array>;
}

const SINGLE = 'model.safetensors';
const INDEX = 'model.safetensors.index.json';
const FIRST_HEAD_BYTES = 64 * 1024;

interface Shard {
  file: string;
  header: SafetensorsHeader;
  /** The whole file, once read (the header read may have read it already). */
  bytes: Promise<Uint8Array> | null;
}

/** A shard's header: through `readHead` when the files offer it, else from the whole file. */
async function openShard(files: ModelFiles, file: string): Promise<Shard | null> {
  if (files.readHead) {
    // Most headers fit in the first 64 KiB: one read; a larger one takes a second.
    const first = await files.readHead(file, FIRST_HEAD_BYTES);
    if (first === null) return null;
    const options = { file, fileSize: first.fileSize };
    const end = safetensorsHeaderLength(first.bytes, options);
    const head = end <= first.bytes.byteLength ? first : await files.readHead(file, end);
    if (head === null) return null;
    return {
      file,
      header: parseSafetensorsHeader(head.bytes.subarray(0, end), options),
      bytes: null,
    };
  }
  const bytes = await files.read(file);
  if (bytes === null) return null;
  return { file, header: parseSafetensorsHeader(bytes, { file }), bytes: Promise.resolve(bytes) };
}

/** The index's weight_map, checked to be tensor name → shard file name. */
function weightMap(json: unknown): Map<string, string> {
  const bad = (why: string) =>
    new BadModelFileError(`${INDEX}: ${why}`, { detail: { file: INDEX } });
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad('not an object');
  const map = (json as { weight_map?: unknown }).weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    throw bad('weight_map is missing or not an object');
  }
  const out = new Map<string, string>();
  for (const [name, file] of Object.entries(map)) {
    if (typeof file !== 'string') throw bad(`weight_map.${name} is not a file name`);
    checkFileName(file, INDEX);
    out.set(name, file);
  }
  return out;
}

/**
 * Opens the model's weights: `model.safetensors` when present, else the shards named by
 * `model.safetensors.index.json`. Headers are read now (every tensor's name, dtype and shape are
 * known at once); tensor data is read lazily, each shard once. NOT_FOUND when neither file
 * exists; BAD_MODEL_FILE for a bad index, a missing shard, a weight the index places in a shard
 * that lacks it, or one name in two shards.
 *
 * @example
 * const weights = await openWeights(modelFilesFromDir('models/gpt2'));
 * const wte = await weights.float32('wte.weight');
 */
export async function openWeights(files: ModelFiles): Promise<Weights> {
  const shards: Shard[] = [];
  const single = await openShard(files, SINGLE);
  if (single !== null) {
    shards.push(single);
  } else {
    const index = await readJsonFile(files, INDEX);
    if (index === null) {
      throw new NotFoundError(`${files.id} has neither ${SINGLE} nor ${INDEX}`, {
        detail: { modelId: files.id, files: [SINGLE, INDEX] },
      });
    }
    const map = weightMap(index);
    const byFile = new Map<string, Shard>();
    for (const file of new Set(map.values())) {
      const shard = await openShard(files, file);
      if (shard === null) {
        throw new BadModelFileError(
          `${INDEX} lists shard ${file}, which ${files.id} does not have`,
          {
            detail: { file: INDEX, shard: file },
          },
        );
      }
      byFile.set(file, shard);
      shards.push(shard);
    }
    for (const [name, file] of map) {
      if (!byFile.get(file)?.header.tensors.has(name)) {
        throw new BadModelFileError(
          `${INDEX} places ${name} in ${file}, which has no such tensor`,
          {
            detail: { file, tensor: name, index: INDEX },
          },
        );
      }
    }
  }

  const where = new Map<string, Shard>();
  for (const shard of shards) {
    for (const name of shard.header.tensors.keys()) {
      const other = where.get(name);
      if (other !== undefined) {
        throw new BadModelFileError(`Tensor ${name} is in both ${other.file} and ${shard.file}`, {
          detail: { file: shard.file, tensor: name, other: other.file },
        });
      }
      where.set(name, shard);
    }
  }

  function shardBytes(shard: Shard): Promise<Uint8Array> {
    shard.bytes ??= files.read(shard.file).then((bytes) => {
      if (bytes === null) {
        throw new BadModelFileError(
          `${files.id}: ${shard.file} disappeared after its header was read`,
          {
            detail: { file: shard.file },
          },
        );
      }
      return bytes;
    });
    // A failed read is not cached: the next call tries again.
    shard.bytes.catch(() => {
      shard.bytes = null;
    });
    return shard.bytes;
  }

  return {
    names: () => [...where.keys()],
    has: (name) => where.has(name),
    info(name) {
      const t = where.get(name)?.header.tensors.get(name);
      return t === undefined ? null : { dtype: t.dtype, shape: [...t.shape] };
    },
    async float32(name) {
      const shard = where.get(name);
      if (shard === undefined) {
        throw new NotFoundError(`${files.id} has no tensor ${name}`, {
          detail: { modelId: files.id, tensor: name },
        });
      }
      return readFloat32(await shardBytes(shard), shard.header, name);
    },
  };
}

/**
 * Reads stored models back, chunk by chunk, each chunk verified against its SHA-256. A tensor is
 * assembled into one ArrayBuffer of exactly its size (the shape GPU upload wants), holding at most
 * that buffer plus one chunk — never the model twice. A verification failure marks the model
 * `corrupt`, so it is not served again until `downloadModel` repairs it.
 */
import { readChunk } from './chunk-store';
import type { TabpoolDb, TensorRow } from './db';
import { atBoundary, IntegrityFailedError, isTabpoolError, NotFoundError } from './errors';
import { markCorrupt, useReadyModel } from './model-registry';

export interface ReadOptions {
  /** Check every chunk's SHA-256 (default true). */
  verify?: boolean;
}

export interface StoredTensor {
  name: string;
  dtype: string;
  shape: number[];
  data: ArrayBuffer;
}

async function guard<T>(db: TabpoolDb, modelId: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    if (isTabpoolError(e) && e.code === 'INTEGRITY_FAILED') await markCorrupt(db, modelId);
    throw e;
  }
}

/** The tensor index of a ready model, in file order. */
export async function listTensors(db: TabpoolDb, modelId: string): Promise<TensorRow[]> {
  await useReadyModel(db, modelId);
  const rows = await atBoundary(`listing tensors of ${modelId}`, () =>
    db.tensors.where('modelId').equals(modelId).toArray(),
  );
  return rows.sort((a, b) => a.file.localeCompare(b.file) || a.byteOffset - b.byteOffset);
}

/**
 * One tensor of a ready model as a fresh ArrayBuffer (a one-chunk tensor is the chunk's own
 * buffer, no copy).
 *
 * @example
 * const { data, shape } = await readTensor(db, 'Xenova/gpt2@main', 'wte.weight');
 * device.queue.writeBuffer(gpuBuffer, 0, data);
 */
export async function readTensor(
  db: TabpoolDb,
  modelId: string,
  name: string,
  options: ReadOptions = {},
): Promise<StoredTensor> {
  await useReadyModel(db, modelId);
  const row = await atBoundary(`reading tensor ${name}`, () => db.tensors.get([modelId, name]));
  if (row === undefined) {
    throw new NotFoundError(`Model ${modelId} has no tensor ${name}`, {
      detail: { modelId, name },
    });
  }
  const data = await guard(db, modelId, () =>
    assemble(db, row.chunks, row.byteLength, options, `${modelId}:${name}`),
  );
  return { name, dtype: row.dtype, shape: row.shape, data };
}

/**
 * Every tensor of a ready model (or those named), one at a time, in file order: the loading loop
 * for a runtime, which uploads each tensor and drops it before the next is read.
 *
 * @example
 * for await (const t of readTensors(db, id)) uploads.set(t.name, upload(t.data));
 */
export async function* readTensors(
  db: TabpoolDb,
  modelId: string,
  options: ReadOptions & { names?: readonly string[] } = {},
): AsyncGenerator<StoredTensor> {
  let rows = await listTensors(db, modelId);
  if (options.names !== undefined) {
    const wanted = new Set(options.names);
    rows = rows.filter((r) => wanted.has(r.name));
    if (rows.length !== wanted.size) {
      const missing = [...wanted].filter((n) => !rows.some((r) => r.name === n));
      throw new NotFoundError(`Model ${modelId} has no tensor ${missing.join(', ')}`, {
        detail: { modelId, missing },
      });
    }
  }
  for (const row of rows) {
    const data = await guard(db, modelId, () =>
      assemble(db, row.chunks, row.byteLength, options, `${modelId}:${row.name}`),
    );
    yield { name: row.name, dtype: row.dtype, shape: row.shape, data };
  }
}

/**
 * The chunks of one file of a ready model, in order, each a verified ArrayBuffer: for streaming a
 * file somewhere without ever holding all of it.
 *
 * @example
 * for await (const chunk of readFileChunks(db, id, 'model.onnx')) sink.write(chunk);
 */
export async function* readFileChunks(
  db: TabpoolDb,
  modelId: string,
  path: string,
  options: ReadOptions = {},
): AsyncGenerator<ArrayBuffer> {
  const model = await useReadyModel(db, modelId);
  const file = model.files.find((f) => f.path === path);
  if (file === undefined) {
    throw new NotFoundError(`Model ${modelId} has no file ${path}`, { detail: { modelId, path } });
  }
  for (const chunk of file.chunks) {
    yield await guard(db, modelId, () => readChunk(db, chunk.hash, options));
  }
}

/** One whole file of a ready model (config.json, tokenizer.json…) as one ArrayBuffer. */
export async function readFile(
  db: TabpoolDb,
  modelId: string,
  path: string,
  options: ReadOptions = {},
): Promise<ArrayBuffer> {
  const model = await useReadyModel(db, modelId);
  const file = model.files.find((f) => f.path === path);
  if (file === undefined) {
    throw new NotFoundError(`Model ${modelId} has no file ${path}`, { detail: { modelId, path } });
  }
  return guard(db, modelId, () =>
    assemble(
      db,
      file.chunks.map((c) => c.hash),
      file.bytes,
      options,
      `${modelId}/${path}`,
    ),
  );
}

async function assemble(
  db: TabpoolDb,
  hashes: readonly string[],
  byteLength: number,
  options: ReadOptions,
  what: string,
): Promise<ArrayBuffer> {
  const first = hashes[0];
  if (hashes.length === 1 && first !== undefined) {
    const only = await readChunk(db, first, options);
    if (only.byteLength === byteLength) return only;
  }
  const out = new Uint8Array(byteLength);
  let at = 0;
  for (const hash of hashes) {
    const bytes = new Uint8Array(await readChunk(db, hash, options));
    if (at + bytes.byteLength > byteLength) break;
    out.set(bytes, at);
    at += bytes.byteLength;
  }
  if (at !== byteLength) {
    throw new IntegrityFailedError(`${what}: stored chunks hold ${at} of ${byteLength} bytes`, {
      detail: { at, byteLength },
    });
  }
  return out.buffer;
}

/**
 * Reads stored models back, chunk by chunk, each chunk verified against its SHA-256, with a few
 * chunk reads in flight (`prefetchChunks`). A tensor is assembled into one ArrayBuffer of exactly
 * its size (the shape GPU upload wants) — a one-chunk tensor is the chunk's own buffer — holding
 * at most that buffer plus the chunks in flight: never the model twice. A verification failure marks the model
 * `corrupt`, so it is not served again until `downloadModel` repairs it.
 */
import { prefetchChunks } from './chunk-prefetch';
import type { TabpoolDb, TensorRow } from './db';
import { atBoundary, IntegrityFailedError, isTabpoolError, NotFoundError } from './errors';
import { markCorrupt, useReadyModel } from './model-registry';

export interface ReadOptions {
  /** Check every chunk's SHA-256 (default true). */
  verify?: boolean;
  /** Chunk reads kept going ahead (default `DEFAULT_PREFETCH_WINDOW`); 0 reads one by one. */
  window?: number;
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
  const chunks = prefetchChunks(db, row.chunks, options, options.window);
  const data = await guard(db, modelId, () =>
    assemble(chunks, row.chunks.length, row.byteLength, `${modelId}:${name}`),
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
  // One prefetch over the whole model, so reads overlap across tensor boundaries too.
  const chunks = prefetchChunks(
    db,
    rows.flatMap((r) => r.chunks),
    options,
    options.window,
  );
  for (const row of rows) {
    const data = await guard(db, modelId, () =>
      assemble(chunks, row.chunks.length, row.byteLength, `${modelId}:${row.name}`),
    );
    yield { name: row.name, dtype: row.dtype, shape: row.shape, data };
  }
}

/** One stored chunk of a tensor: `data` goes at `byteOffset` inside the tensor. */
export interface TensorPiece {
  name: string;
  dtype: string;
  shape: number[];
  /** The whole tensor's size, so the first piece can size the destination. */
  byteLength: number;
  byteOffset: number;
  data: ArrayBuffer;
}

/**
 * Every tensor of a ready model as its stored chunks, in order, never joined: the upload loop that
 * writes each piece straight into its GPU buffer (`queue.writeBuffer(buf, byteOffset, data)`)
 * skips the copy that assembling a multi-chunk tensor costs.
 *
 * @example
 * for await (const p of readTensorPieces(db, id)) {
 *   if (p.byteOffset === 0) buffers.set(p.name, device.createBuffer({ size: p.byteLength, ... }));
 *   device.queue.writeBuffer(buffers.get(p.name), p.byteOffset, p.data);
 * }
 */
export async function* readTensorPieces(
  db: TabpoolDb,
  modelId: string,
  options: ReadOptions = {},
): AsyncGenerator<TensorPiece> {
  const rows = await listTensors(db, modelId);
  const chunks = prefetchChunks(
    db,
    rows.flatMap((r) => r.chunks),
    options,
    options.window,
  );
  for (const row of rows) {
    let byteOffset = 0;
    for (let i = 0; i < row.chunks.length; i++) {
      const next = await guard(db, modelId, () => chunks.next());
      if (next.done || byteOffset + next.value.byteLength > row.byteLength) {
        throw new IntegrityFailedError(`${modelId}:${row.name}: stored chunks do not fit`, {
          detail: { name: row.name, byteOffset, byteLength: row.byteLength },
        });
      }
      const { name, dtype, shape, byteLength } = row;
      yield { name, dtype, shape, byteLength, byteOffset, data: next.value };
      byteOffset += next.value.byteLength;
    }
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
  const chunks = prefetchChunks(
    db,
    file.chunks.map((c) => c.hash),
    options,
    options.window,
  );
  for (;;) {
    const next = await guard(db, modelId, () => chunks.next());
    if (next.done) return;
    yield next.value;
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
  const hashes = file.chunks.map((c) => c.hash);
  return guard(db, modelId, () =>
    assemble(
      prefetchChunks(db, hashes, options, options.window),
      hashes.length,
      file.bytes,
      `${modelId}/${path}`,
    ),
  );
}

/** Takes the next `count` chunks from `chunks` and joins them into `byteLength` bytes. */
async function assemble(
  chunks: AsyncGenerator<ArrayBuffer>,
  count: number,
  byteLength: number,
  what: string,
): Promise<ArrayBuffer> {
  const parts: ArrayBuffer[] = [];
  let out: Uint8Array<ArrayBuffer> | undefined;
  let at = 0;
  for (let i = 0; i < count; i++) {
    const next = await chunks.next();
    if (next.done) break;
    if (count === 1) {
      parts.push(next.value);
    } else {
      out ??= new Uint8Array(byteLength);
      if (at + next.value.byteLength <= byteLength) out.set(new Uint8Array(next.value), at);
    }
    at += next.value.byteLength;
  }
  if (at !== byteLength) {
    throw new IntegrityFailedError(`${what}: stored chunks hold ${at} of ${byteLength} bytes`, {
      detail: { at, byteLength },
    });
  }
  return parts[0] ?? out?.buffer ?? new ArrayBuffer(0);
}

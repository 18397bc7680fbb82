/**
 * The content-addressed chunk store: each run of bytes is stored once, keyed by its SHA-256, and
 * counted by how many model-file positions point at it. Identical tensors in different models
 * therefore cost their bytes once; a chunk row goes away when its last reference does.
 *
 * Writes happen together with the model row that references them (one transaction), so there is
 * never a chunk nobody owns nor a reference to a chunk that is not there.
 */
import type { ChunkRow, TabpoolDb } from './db';
import {
  atBoundary,
  IntegrityFailedError,
  ModelNotReadyError,
  NotFoundError,
  StorageFailedError,
} from './errors';
import { sha256Hex } from './hash';

export interface CommitChunkInput {
  modelId: string;
  path: string;
  /** Where the bytes start in the file; must equal the file's committed length. */
  offset: number;
  bytes: Uint8Array;
}

/**
 * Stores one chunk of a file that is being downloaded and appends it to the model's file record,
 * atomically. Returns the chunk's hash. An existing chunk with the same hash gains a reference
 * instead of a second copy (one marked corrupt gets these verified bytes instead).
 *
 * @example
 * const hash = await commitChunk(db, { modelId, path: 'model.safetensors', offset: 0, bytes });
 */
export async function commitChunk(db: TabpoolDb, input: CommitChunkInput): Promise<string> {
  const { modelId, path, offset, bytes } = input;
  // Hash and wrap before the transaction: awaiting crypto inside it would let IndexedDB commit.
  const hash = await sha256Hex(bytes);
  const blob = new Blob([bytes as Uint8Array<ArrayBuffer>]);
  await atBoundary(`storing chunk ${hash.slice(0, 12)} of ${modelId}/${path}`, () =>
    db.transaction('rw', db.models, db.chunks, async () => {
      const model = await db.models.get(modelId);
      if (model === undefined) throw new NotFoundError(`Model ${modelId} is not being stored`);
      if (model.state !== 'downloading') {
        throw new ModelNotReadyError(`Model ${modelId} is ${model.state}, not downloading`);
      }
      const file = model.files.find((f) => f.path === path);
      if (file === undefined) throw new NotFoundError(`Model ${modelId} has no file ${path}`);
      if (file.committedBytes !== offset) {
        // Another context is writing the same file; refuse rather than interleave.
        throw new StorageFailedError(
          `Chunk at ${offset} does not follow ${file.committedBytes} in ${modelId}/${path}`,
          { detail: { modelId, path, offset, committedBytes: file.committedBytes } },
        );
      }
      const existing = await db.chunks.get(hash);
      if (existing !== undefined && existing.corrupt === 0) {
        await db.chunks.update(hash, { refs: existing.refs + 1 });
      } else {
        const row: ChunkRow = {
          hash,
          bytes: bytes.byteLength,
          blob,
          refs: (existing?.refs ?? 0) + 1,
          corrupt: 0,
          createdAt: Date.now(),
        };
        await db.chunks.put(row);
      }
      file.chunks.push({ hash, offset, bytes: bytes.byteLength });
      file.committedBytes = offset + bytes.byteLength;
      // A download that keeps storing is alive: quota only reclaims ones left untouched.
      model.lastUsedAt = Date.now();
      await db.models.put(model);
    }),
  );
  return hash;
}

/**
 * Drops one reference per entry of `hashes` (a hash listed twice loses two) and deletes chunks
 * left with none. Must run inside a `rw` transaction over `chunks`; returns the bytes freed.
 */
export async function releaseChunks(db: TabpoolDb, hashes: readonly string[]): Promise<number> {
  const counts = new Map<string, number>();
  for (const h of hashes) counts.set(h, (counts.get(h) ?? 0) + 1);
  const rows = await db.chunks.bulkGet([...counts.keys()]);
  let freedBytes = 0;
  const toDelete: string[] = [];
  for (const row of rows) {
    if (row === undefined) continue;
    const refs = row.refs - (counts.get(row.hash) ?? 0);
    if (refs <= 0) {
      toDelete.push(row.hash);
      freedBytes += row.bytes;
    } else {
      await db.chunks.update(row.hash, { refs });
    }
  }
  await db.chunks.bulkDelete(toDelete);
  return freedBytes;
}

/**
 * Reads one chunk into a fresh ArrayBuffer and (by default) checks it against its hash. A
 * mismatch marks the chunk corrupt, so every model sharing it fails fast until it is rewritten.
 *
 * @example
 * const buffer = await readChunk(db, hash); // throws INTEGRITY_FAILED if the bytes changed
 */
export async function readChunk(
  db: TabpoolDb,
  hash: string,
  options: { verify?: boolean } = {},
): Promise<ArrayBuffer> {
  const row = await atBoundary(`reading chunk ${hash.slice(0, 12)}`, () => db.chunks.get(hash));
  if (row === undefined) throw new NotFoundError(`Chunk ${hash} is not stored`);
  if (row.corrupt === 1) {
    throw new IntegrityFailedError(`Chunk ${hash} is marked corrupt`, { detail: { hash } });
  }
  const buffer = await atBoundary(`reading chunk ${hash.slice(0, 12)}`, () =>
    row.blob.arrayBuffer(),
  );
  if (options.verify !== false) {
    const actual = buffer.byteLength === row.bytes ? await sha256Hex(buffer) : 'wrong-length';
    if (actual !== hash) {
      await atBoundary('marking a chunk corrupt', () => db.chunks.update(hash, { corrupt: 1 }));
      throw new IntegrityFailedError(`Chunk ${hash} fails verification`, {
        detail: { hash, actual, bytes: buffer.byteLength, expectedBytes: row.bytes },
      });
    }
  }
  return buffer;
}

/** Bytes actually held by chunk rows (each distinct chunk once). */
export async function storedChunkBytes(db: TabpoolDb): Promise<number> {
  let total = 0;
  await atBoundary('summing chunk sizes', () =>
    db.chunks.each((row) => {
      total += row.bytes;
    }),
  );
  return total;
}

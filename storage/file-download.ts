/**
 * Streams one file into the chunk store. Every chunk is committed (bytes + the model's record of
 * them) in one transaction as soon as it is complete, so what is stored is always a clean prefix
 * of the file; a dropped connection or a killed context resumes from that prefix with
 * `Range: bytes=N-` (and `If-Range`, so a file that changed on the server starts over).
 */
import { type ChunkPlan, createChunkPlan } from './chunk-plan';
import { commitChunk, readChunk } from './chunk-store';
import type { ModelFileRow, TabpoolDb } from './db';
import { AbortedError, IntegrityFailedError, isAbortError, isTabpoolError } from './errors';
import { createStreamHasher, type StreamHasher } from './hash';
import { resetFile } from './model-registry';
import { fetchOnce, type RetryPolicy, TransientFailure, withRetries } from './retry-policy';
import type { SafetensorsTensor } from './safetensors-header';

export interface FileDownloadInput {
  db: TabpoolDb;
  modelId: string;
  url: string;
  file: ModelFileRow;
  chunkBytes: number;
  fetch: typeof fetch;
  retry: RetryPolicy;
  signal?: AbortSignal;
  /** Bytes of this file received so far (stored + held in memory); may go back after a drop. */
  onBytes?: (fileBytes: number) => void;
}

export interface FileDownloadResult {
  /** Our own SHA-256 of the whole file. */
  sha256: string;
  /** Tensors of a safetensors file, [] otherwise. */
  tensors: SafetensorsTensor[];
}

interface Progress {
  offset: number;
  hasher: StreamHasher;
  plan: ChunkPlan;
}

/** Takes the first `n` bytes out of `pieces` (which must hold at least `n`) as one array. */
function take(pieces: Uint8Array[], n: number): Uint8Array {
  const out = new Uint8Array(n);
  let filled = 0;
  while (filled < n) {
    const piece = pieces[0];
    if (piece === undefined) throw new Error('take() past the bytes held');
    const used = Math.min(piece.byteLength, n - filled);
    out.set(piece.subarray(0, used), filled);
    filled += used;
    if (used === piece.byteLength) pieces.shift();
    else pieces[0] = piece.subarray(used);
  }
  return out;
}

/** The first `n` bytes held, without consuming them (only ever asked for a few). */
function peek(pieces: readonly Uint8Array[], n: number): Uint8Array {
  const out = new Uint8Array(n);
  let filled = 0;
  for (const piece of pieces) {
    if (filled >= n) break;
    const used = Math.min(piece.byteLength, n - filled);
    out.set(piece.subarray(0, used), filled);
    filled += used;
  }
  return out.subarray(0, filled);
}

/**
 * Downloads (or finishes downloading) one file of a model that `beginModel` created.
 *
 * @example
 * const { sha256 } = await downloadFile({ db, modelId, url, file, chunkBytes, fetch, retry });
 */
export async function downloadFile(input: FileDownloadInput): Promise<FileDownloadResult> {
  const { db, modelId, file, url, signal } = input;
  const fresh = (): Progress => ({
    offset: 0,
    hasher: createStreamHasher(),
    plan: createChunkPlan(file.path, file.bytes, input.chunkBytes),
  });
  const restart = async (): Promise<Progress> => {
    await resetFile(db, modelId, file.path);
    return fresh();
  };

  let p: Progress = (await restore(input, fresh())) ?? (await restart());

  await withRetries(input.retry, signal, async (progressed) => {
    if (p.offset < file.bytes) {
      const headers: Record<string, string> = {};
      if (p.offset > 0) {
        headers.range = `bytes=${p.offset}-`;
        if (file.etag !== undefined) headers['if-range'] = file.etag;
      }
      const res = await fetchOnce(input.fetch, url, { headers }, signal);
      if (p.offset > 0 && res.status !== 206) {
        // The server ignored the range or the file changed (If-Range): start the file over.
        await res.body?.cancel().catch(() => undefined);
        p = await restart();
        throw new TransientFailure(`${file.path}: server did not resume at ${headers.range}`);
      }
      const contentRange = res.headers.get('content-range');
      if (res.status === 206 && !contentRange?.startsWith(`bytes ${p.offset}-`)) {
        await res.body?.cancel().catch(() => undefined);
        throw new TransientFailure(`${file.path}: asked for ${p.offset}-, got ${contentRange}`);
      }
      try {
        await streamBody(input, res, p, progressed);
      } catch (e) {
        // Bytes that fail a check (a garbled safetensors header) may be a bad transfer: refetch.
        if (!(isTabpoolError(e) && e.code === 'INTEGRITY_FAILED')) throw e;
        p = await restart();
        throw new TransientFailure(e.message, { cause: e, finalError: e });
      }
    }
    const sha256 = p.hasher.hex();
    if (file.serverSha256 !== undefined && sha256 !== file.serverSha256) {
      p = await restart();
      const detail = { path: file.path, expected: file.serverSha256, actual: sha256 };
      throw new TransientFailure(`${file.path}: SHA-256 does not match the server's`, {
        finalError: new IntegrityFailedError(
          `${modelId}/${file.path} does not match the server's SHA-256`,
          { detail },
        ),
      });
    }
  });
  return { sha256: p.hasher.hex(), tensors: p.plan.tensors() };
}

/**
 * Rebuilds the hash and the chunk plan from the chunks already stored (reading them verifies them).
 * Returns undefined when a stored chunk is missing or bad: the file must start over.
 */
async function restore(input: FileDownloadInput, p: Progress): Promise<Progress | undefined> {
  for (const chunk of input.file.chunks) {
    if (chunk.offset !== p.offset) return undefined;
    try {
      const bytes = new Uint8Array(await readChunk(input.db, chunk.hash));
      p.plan.onChunk(p.offset, bytes);
      p.hasher.update(bytes);
      p.offset += bytes.byteLength;
    } catch (e) {
      // A missing or corrupt chunk, or a header that no longer parses: start the file over.
      if (isAbortError(e)) throw e;
      return undefined;
    }
  }
  return p.offset === input.file.committedBytes ? p : undefined;
}

/** Reads the body, committing each chunk as soon as the plan says it is complete. */
async function streamBody(
  input: FileDownloadInput,
  res: Response,
  p: Progress,
  progressed: () => void,
): Promise<void> {
  const { file, signal } = input;
  if (res.body === null) throw new TransientFailure(`${file.path}: response has no body`);
  const reader = res.body.getReader();
  const pieces: Uint8Array[] = [];
  let held = 0;
  let finished = false;
  try {
    for (;;) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (e) {
        if (signal?.aborted) throw new AbortedError('Cancelled', { cause: e });
        throw new TransientFailure(`${file.path}: connection dropped at ${p.offset + held}`, {
          cause: e,
        });
      }
      if (next.value !== undefined && next.value.byteLength > 0) {
        pieces.push(next.value);
        held += next.value.byteLength;
        if (p.offset + held > file.bytes) {
          throw new TransientFailure(`${file.path}: server sent more than ${file.bytes} bytes`);
        }
        input.onBytes?.(p.offset + held);
      }
      while (p.offset < file.bytes) {
        if (signal?.aborted) throw new AbortedError('Cancelled', { cause: signal.reason });
        const end = p.plan.chunkEnd(p.offset, peek(pieces, Math.min(held, 8)));
        if (end === undefined || p.offset + held < end) break;
        const bytes = take(pieces, end - p.offset);
        held -= bytes.byteLength;
        // The plan reads the safetensors header from its chunk: a bad one throws before it is stored.
        p.plan.onChunk(p.offset, bytes);
        const committed = commitChunk(input.db, {
          modelId: input.modelId,
          path: file.path,
          offset: p.offset,
          bytes,
        });
        // The whole-file hash (JS, the slowest step) runs while IndexedDB writes the chunk. If the
        // write fails the hasher is ahead of `offset`, but no write failure is retried with this
        // state: commitChunk only throws final errors (quota, storage, cancellation).
        p.hasher.update(bytes);
        await committed;
        p.offset = end;
        progressed();
      }
      if (next.done) break;
    }
    finished = true;
  } finally {
    // Free the connection when we stop early (too many bytes, a failed commit, cancellation).
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
  if (p.offset < file.bytes) {
    throw new TransientFailure(`${file.path}: body ended at ${p.offset + held} of ${file.bytes}`);
  }
}

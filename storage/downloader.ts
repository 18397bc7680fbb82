/**
 * Downloads a model from a Hugging Face-style server into the store:
 * check the file list → reserve space → `beginModel` (state `downloading`) → stream every file
 * into verified chunks → `finishModel` (state `ready`, tensor index) in one transaction.
 *
 * A model is served only when `ready`, so a crash at any point leaves at worst a `downloading`
 * row that the next `downloadModel` call resumes. Out of space, the partial model is deleted.
 */
import type { ChunkRef, ModelFileRow, ModelRow, TabpoolDb, TensorRow } from './db';
import { modelId as toModelId } from './db';
import {
  AbortedError,
  atBoundary,
  IntegrityFailedError,
  isQuotaError,
  QuotaExceededError,
  StorageFailedError,
} from './errors';
import { downloadFile } from './file-download';
import { checkRemoteFiles, hubFileUrl } from './hub-files';
import {
  beginModel,
  deleteModel,
  finishModel,
  getModel,
  sameRemote,
  useReadyModel,
} from './model-registry';
import { DEFAULT_RETRY, type RetryPolicy } from './retry-policy';
import type { SafetensorsTensor } from './safetensors-header';

/**
 * 8 MiB, the middle of the design's 4–16 MiB: in `storage/bench` (Chromium 156) Blob puts and gets
 * at 4, 8 and 16 MiB were within run-to-run noise; fewer, larger chunks mean fewer tensors that
 * span chunks (joining those costs a copy, see `readTensorPieces`).
 */
export const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;

export interface DownloadProgress {
  modelId: string;
  /** Bytes of the model received so far, resumed bytes included. */
  bytes: number;
  totalBytes: number;
  file: { path: string; bytes: number; totalBytes: number };
}

export interface DownloadModelOptions {
  db: TabpoolDb;
  /** e.g. `https://huggingface.co`, or a mirror. */
  baseUrl: string;
  repo: string;
  /** Branch, tag or commit; default `main`. */
  revision?: string;
  /** Paths inside the repo, e.g. `['config.json', 'model.safetensors']`. */
  files: readonly string[];
  chunkBytes?: number;
  retry?: Partial<RetryPolicy>;
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
  fetch?: typeof fetch;
  /**
   * Called with the bytes still to be stored, before any is written: frees space (LRU eviction)
   * or throws QUOTA_EXCEEDED. See `createQuota().reserve`.
   */
  reserve?: (bytes: number, modelId: string) => Promise<void>;
}

interface Running {
  files: string;
  done: Promise<ModelRow>;
  listeners: Set<(progress: DownloadProgress) => void>;
}

/** Downloads in flight in this context, per database and model: a second caller joins. */
const running = new WeakMap<TabpoolDb, Map<string, Running>>();

/**
 * Makes a model `ready` in the store, downloading what is missing. Returns at once (no network)
 * when the model is already ready. A call for a model this context is already downloading joins
 * that download (same file list required): it gets the progress events and the result, and its
 * own `signal` stops only its own wait.
 *
 * @example
 * const model = await downloadModel({
 *   db, baseUrl: 'https://huggingface.co', repo: 'Xenova/gpt2',
 *   files: ['config.json', 'model.safetensors'],
 *   onProgress: (p) => console.log(p.bytes / p.totalBytes),
 * });
 */
export function downloadModel(options: DownloadModelOptions): Promise<ModelRow> {
  const id = toModelId(options.repo, options.revision ?? 'main');
  const files = JSON.stringify(options.files);
  let byId = running.get(options.db);
  if (byId === undefined) {
    byId = new Map();
    running.set(options.db, byId);
  }
  const current = byId.get(id);
  if (current !== undefined) {
    if (current.files !== files) {
      return Promise.reject(
        new StorageFailedError(`${id} is already downloading with another file list`, {
          detail: { modelId: id },
        }),
      );
    }
    return join(current, options);
  }
  const listeners = new Set<(progress: DownloadProgress) => void>();
  if (options.onProgress) listeners.add(options.onProgress);
  const done = runDownload(id, {
    ...options,
    onProgress: (p) => {
      for (const listener of listeners) listener(p);
    },
  }).finally(() => byId.delete(id));
  byId.set(id, { files, done, listeners });
  return done;
}

function join(current: Running, options: DownloadModelOptions): Promise<ModelRow> {
  const { onProgress, signal } = options;
  if (onProgress) current.listeners.add(onProgress);
  const stopListening = () => {
    if (onProgress) current.listeners.delete(onProgress);
  };
  const waits: Promise<ModelRow>[] = [current.done];
  if (signal !== undefined) {
    waits.push(
      new Promise<never>((_, reject) => {
        const abort = () => reject(new AbortedError('Stopped waiting', { cause: signal.reason }));
        if (signal.aborted) abort();
        else signal.addEventListener('abort', abort, { once: true });
      }),
    );
  }
  return Promise.race(waits).finally(stopListening);
}

async function runDownload(id: string, options: DownloadModelOptions): Promise<ModelRow> {
  const { db, repo } = options;
  const revision = options.revision ?? 'main';
  const retry = { ...DEFAULT_RETRY, ...options.retry };
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;

  const existing = await atBoundary(`reading ${id}`, () => db.models.get(id));
  if (existing?.state === 'ready') return useReadyModel(db, id);

  const remote = await checkRemoteFiles({
    fetch: fetchImpl,
    baseUrl: options.baseUrl,
    repo,
    revision,
    paths: options.files,
    retry,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  const totalBytes = remote.files.reduce((sum, f) => sum + f.bytes, 0);
  const kept = (existing?.state === 'downloading' ? existing.files : [])
    .filter((old) => remote.files.some((f) => sameRemote(old, f)))
    .reduce((sum, f) => sum + f.committedBytes, 0);
  await options.reserve?.(totalBytes - kept, id);

  try {
    const row = await beginModel(db, {
      repo,
      revision,
      files: remote.files,
      ...(remote.commit === undefined ? {} : { commit: remote.commit }),
    });
    const done = new Map<string, number>(row.files.map((f) => [f.path, f.committedBytes]));
    const shas = new Map<string, string>();
    const tensorsByFile = new Map<string, SafetensorsTensor[]>();
    for (const file of row.files) {
      const result = await downloadFile({
        db,
        modelId: id,
        url: hubFileUrl(options.baseUrl, repo, revision, file.path),
        file,
        chunkBytes,
        fetch: fetchImpl,
        retry,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        onBytes: (fileBytes) => {
          done.set(file.path, fileBytes);
          let bytes = 0;
          for (const n of done.values()) bytes += n;
          options.onProgress?.({
            modelId: id,
            bytes,
            totalBytes,
            file: { path: file.path, bytes: fileBytes, totalBytes: file.bytes },
          });
        },
      });
      done.set(file.path, file.bytes);
      shas.set(file.path, result.sha256);
      tensorsByFile.set(file.path, result.tensors);
    }
    const stored = await getModel(db, id);
    const tensors = stored.files.flatMap((f) => tensorRows(id, f, tensorsByFile.get(f.path) ?? []));
    return await finishModel(db, id, shas, tensors);
  } catch (e) {
    if (!isQuotaError(e)) throw e;
    // Nothing half-written stays behind: give back what this model took, then report.
    const cleanup = await deleteModel(db, id).then(
      (freedBytes) => ({ cleanedUp: true, freedBytes }),
      () => ({ cleanedUp: false, freedBytes: 0 }),
    );
    throw new QuotaExceededError(`Out of storage space while downloading ${id}`, {
      cause: e,
      detail: { modelId: id, totalBytes, ...cleanup },
    });
  }
}

/**
 * The tensor index of one stored safetensors file: each tensor with exactly the chunks that hold
 * its bytes (the chunk plan cut the file at tensor boundaries).
 */
export function tensorRows(
  modelId: string,
  file: ModelFileRow,
  tensors: readonly SafetensorsTensor[],
): TensorRow[] {
  const byOffset = new Map<number, ChunkRef>(file.chunks.map((c) => [c.offset, c]));
  return tensors.map((t) => {
    const chunks: string[] = [];
    let at = t.begin;
    while (at < t.end) {
      const chunk = byOffset.get(at);
      if (chunk === undefined || at + chunk.bytes > t.end) {
        throw new IntegrityFailedError(`${modelId}/${file.path}: ${t.name} is not chunk-aligned`, {
          detail: { tensor: t.name, at },
        });
      }
      chunks.push(chunk.hash);
      at += chunk.bytes;
    }
    return {
      modelId,
      name: t.name,
      file: file.path,
      dtype: t.dtype,
      shape: t.shape,
      byteOffset: t.begin,
      byteLength: t.end - t.begin,
      chunks,
    };
  });
}

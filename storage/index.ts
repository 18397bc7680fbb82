/**
 * The storage layer's public API. Import from here (`storage/index.ts`), not from the files.
 * Used from the extension's own contexts only (service worker, offscreen document, pool tabs,
 * popup/options) — never from a content script, which runs in the page's origin.
 */
export { storedChunkBytes } from './chunk-store';
export type {
  BenchResultRow,
  ChunkRef,
  GrantRow,
  JournalRow,
  JournalState,
  ModelFileRow,
  ModelRow,
  ModelState,
  PerfRow,
  TabpoolDb,
  TensorRow,
} from './db';
export { createTabpoolDb, DB_NAME, modelId } from './db';
export type { DownloadModelOptions, DownloadProgress } from './downloader';
export { DEFAULT_CHUNK_BYTES, downloadModel } from './downloader';
export { isAbortError, isQuotaError, toStorageError } from './errors';
export { hubFileUrl } from './hub-files';
export { deleteModel, getModel, setPinned, useReadyModel } from './model-registry';
export type { ModelUsage, Quota, QuotaOptions, StorageUsage } from './quota';
export { createQuota } from './quota';
export type { ReadOptions, StoredTensor, TensorPiece } from './reader';
export {
  listTensors,
  readFile,
  readFileChunks,
  readTensor,
  readTensorPieces,
  readTensors,
} from './reader';
export type { RetryPolicy } from './retry-policy';
export { DEFAULT_RETRY } from './retry-policy';

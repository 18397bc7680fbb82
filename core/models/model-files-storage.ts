/**
 * Model files from the extension's model store (IndexedDB, `storage/`): what a host loads a
 * downloaded model from. Every chunk is verified as it is read.
 */
import { getModel, readFile, readFileChunks, type TabpoolDb } from '../../storage/index';
import { isTabpoolError } from '../protocol/errors';
import type { FileHead, ModelFiles } from './model-files';

/** The model store answers NOT_FOUND for a file the model lacks; here that reads as null. */
const isMissingFile = (e: unknown, name: string): boolean =>
  isTabpoolError(e) && e.code === 'NOT_FOUND' && e.detail?.path === name;

/**
 * The files of a stored, ready model (`<repo>@<revision>`, see `modelId`). A file the model does
 * not have reads as null; a model that is absent or not ready fails with NOT_FOUND or
 * MODEL_NOT_READY. `readHead` reads only the chunks the head needs.
 *
 * @example
 * const model = await loadModel(modelFilesFromStorage(db, 'Xenova/gpt2@main'), hal);
 */
export function modelFilesFromStorage(db: TabpoolDb, modelId: string): ModelFiles {
  return {
    id: modelId,
    async read(name) {
      try {
        return new Uint8Array(await readFile(db, modelId, name));
      } catch (e) {
        if (isMissingFile(e, name)) return null;
        throw e;
      }
    },
    async readHead(name, bytes): Promise<FileHead | null> {
      const row = await getModel(db, modelId);
      const file = row.files.find((f) => f.path === name);
      if (file === undefined) return null;
      const want = Math.min(bytes, file.bytes);
      const out = new Uint8Array(want);
      let at = 0;
      try {
        // Chunks come in file order; stop reading (and prefetching) once the head is covered.
        for await (const chunk of readFileChunks(db, modelId, name, { window: 0 })) {
          if (at >= want) break;
          const piece = new Uint8Array(chunk, 0, Math.min(chunk.byteLength, want - at));
          out.set(piece, at);
          at += piece.byteLength;
          if (at >= want) break;
        }
      } catch (e) {
        if (isMissingFile(e, name)) return null;
        throw e;
      }
      return { bytes: out.subarray(0, at), fileSize: file.bytes };
    },
  };
}

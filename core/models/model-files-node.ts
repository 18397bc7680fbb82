/**
 * Model files from a directory (a Hugging Face snapshot on disk), for Node: tests, the CLI and
 * fixtures. Kept apart from `model-files.ts` so `node:fs` never reaches the browser bundle.
 */
import { open, readFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { NotFoundError } from '../protocol/errors';
import type { FileHead, ModelFiles } from './model-files';

const isMissing = (e: unknown): boolean => {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
};

/**
 * The files under `dir` (a missing file reads as null). `readHead` reads only the start of a
 * file, so `openWeights` reads safetensors headers without the tensors.
 *
 * @example
 * const model = await loadModel(modelFilesFromDir('tests/fixtures/models/tiny-gpt2'), hal);
 */
export function modelFilesFromDir(dir: string): ModelFiles {
  const root = resolve(dir);
  const path = (name: string): string => {
    const p = resolve(join(root, name));
    if (p !== root && !p.startsWith(root + sep)) {
      throw new NotFoundError(`${name} is outside ${root}`, { detail: { file: name, dir: root } });
    }
    return p;
  };
  return {
    id: root,
    async read(name) {
      try {
        return new Uint8Array(await readFile(path(name)));
      } catch (e) {
        if (isMissing(e)) return null;
        throw e;
      }
    },
    async readHead(name, bytes): Promise<FileHead | null> {
      let handle: Awaited<ReturnType<typeof open>> | undefined;
      try {
        handle = await open(path(name), 'r');
        const { size } = await handle.stat();
        const buffer = new Uint8Array(Math.min(bytes, size));
        let at = 0;
        while (at < buffer.byteLength) {
          const { bytesRead } = await handle.read(buffer, at, buffer.byteLength - at, at);
          if (bytesRead === 0) break;
          at += bytesRead;
        }
        return { bytes: buffer.subarray(0, at), fileSize: size };
      } catch (e) {
        if (isMissing(e)) return null;
        throw e;
      } finally {
        await handle?.close();
      }
    },
  };
}

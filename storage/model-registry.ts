/**
 * Model rows: created `downloading` before the first byte is stored, turned `ready` in the same
 * transaction that checks every file is complete and writes the tensor index, deleted together with
 * their chunk references. Nothing else ever sets `ready`.
 */
import { releaseChunks } from './chunk-store';
import { type ModelFileRow, type ModelRow, modelId, type TabpoolDb, type TensorRow } from './db';
import { atBoundary, IntegrityFailedError, ModelNotReadyError, NotFoundError } from './errors';

/** What the server says a file is, checked before any download starts. */
export interface RemoteFile {
  path: string;
  bytes: number;
  serverSha256?: string;
  etag?: string;
}

export interface BeginModelInput {
  repo: string;
  revision: string;
  commit?: string;
  files: readonly RemoteFile[];
}

/** True when a stored file record still describes what the server serves (so it can resume). */
export const sameRemote = (a: ModelFileRow, b: RemoteFile): boolean =>
  a.path === b.path &&
  a.bytes === b.bytes &&
  a.serverSha256 === b.serverSha256 &&
  a.etag === b.etag;

const emptyFile = (f: RemoteFile): ModelFileRow => ({
  path: f.path,
  bytes: f.bytes,
  committedBytes: 0,
  chunks: [],
  ...(f.serverSha256 === undefined ? {} : { serverSha256: f.serverSha256 }),
  ...(f.etag === undefined ? {} : { etag: f.etag }),
});

/**
 * Starts (or picks up) storing a model. A `ready` model is returned untouched. A `downloading` one
 * keeps the progress of every file the server still describes the same way; files that changed,
 * and every file of a `corrupt` model, start over (their chunk references are released).
 *
 * @example
 * const row = await beginModel(db, { repo: 'Xenova/gpt2', revision: 'main', files });
 * if (row.state === 'ready') return;
 */
export async function beginModel(db: TabpoolDb, input: BeginModelInput): Promise<ModelRow> {
  const id = modelId(input.repo, input.revision);
  return atBoundary(`starting ${id}`, () =>
    db.transaction('rw', db.models, db.chunks, db.tensors, async () => {
      const now = Date.now();
      const existing = await db.models.get(id);
      if (existing?.state === 'ready') return existing;
      const files: ModelFileRow[] = [];
      const released: string[] = [];
      for (const remote of input.files) {
        const old = existing?.files.find((f) => f.path === remote.path);
        if (old !== undefined && existing?.state === 'downloading' && sameRemote(old, remote)) {
          files.push(old);
        } else {
          if (old !== undefined) released.push(...old.chunks.map((c) => c.hash));
          files.push(emptyFile(remote));
        }
      }
      for (const old of existing?.files ?? []) {
        if (!input.files.some((f) => f.path === old.path)) {
          released.push(...old.chunks.map((c) => c.hash));
        }
      }
      await releaseChunks(db, released);
      await db.tensors.where('modelId').equals(id).delete();
      const row: ModelRow = {
        id,
        repo: input.repo,
        revision: input.revision,
        state: 'downloading',
        pinned: existing?.pinned ?? 0,
        createdAt: existing?.createdAt ?? now,
        lastUsedAt: now,
        totalBytes: input.files.reduce((sum, f) => sum + f.bytes, 0),
        files,
        ...(input.commit === undefined ? {} : { commit: input.commit }),
      };
      await db.models.put(row);
      return row;
    }),
  );
}

/** Forgets a file's stored bytes (after a failed verification) so it downloads again from 0. */
export async function resetFile(db: TabpoolDb, id: string, path: string): Promise<void> {
  await atBoundary(`resetting ${id}/${path}`, () =>
    db.transaction('rw', db.models, db.chunks, async () => {
      const model = await db.models.get(id);
      const file = model?.files.find((f) => f.path === path);
      if (model === undefined || file === undefined) return;
      await releaseChunks(
        db,
        file.chunks.map((c) => c.hash),
      );
      file.chunks = [];
      file.committedBytes = 0;
      delete file.sha256;
      await db.models.put(model);
    }),
  );
}

/**
 * Marks a model `ready`: in one transaction, checks that every file's chunks cover it end to end,
 * records our own file hashes and writes the tensor index. If any check fails nothing changes.
 */
export async function finishModel(
  db: TabpoolDb,
  id: string,
  fileSha256: ReadonlyMap<string, string>,
  tensors: readonly TensorRow[],
): Promise<ModelRow> {
  return atBoundary(`finishing ${id}`, () =>
    db.transaction('rw', db.models, db.tensors, async () => {
      const model = await db.models.get(id);
      if (model === undefined) throw new NotFoundError(`Model ${id} vanished while finishing`);
      if (model.state !== 'downloading') {
        throw new ModelNotReadyError(`Model ${id} is ${model.state}, cannot finish`);
      }
      for (const file of model.files) {
        let end = 0;
        for (const c of file.chunks) {
          if (c.offset !== end) break;
          end += c.bytes;
        }
        const sha = fileSha256.get(file.path);
        if (end !== file.bytes || file.committedBytes !== file.bytes || sha === undefined) {
          throw new IntegrityFailedError(`${id}/${file.path} is incomplete`, {
            detail: { path: file.path, coveredBytes: end, bytes: file.bytes },
          });
        }
        file.sha256 = sha;
      }
      await db.tensors.where('modelId').equals(id).delete();
      await db.tensors.bulkPut([...tensors]);
      model.state = 'ready';
      model.lastUsedAt = Date.now();
      await db.models.put(model);
      return model;
    }),
  );
}

/**
 * Deletes a model, its tensor index and its chunk references; returns the bytes actually freed
 * (chunks shared with other models stay).
 *
 * @example
 * const freedBytes = await deleteModel(db, 'Xenova/gpt2@main');
 */
export async function deleteModel(db: TabpoolDb, id: string): Promise<number> {
  return atBoundary(`deleting ${id}`, () =>
    db.transaction('rw', db.models, db.chunks, db.tensors, async () => {
      const model = await db.models.get(id);
      if (model === undefined) return 0;
      const freed = await releaseChunks(
        db,
        model.files.flatMap((f) => f.chunks.map((c) => c.hash)),
      );
      await db.tensors.where('modelId').equals(id).delete();
      await db.models.delete(id);
      return freed;
    }),
  );
}

/** The model row, or NOT_FOUND. */
export async function getModel(db: TabpoolDb, id: string): Promise<ModelRow> {
  const row = await atBoundary(`reading ${id}`, () => db.models.get(id));
  if (row === undefined) throw new NotFoundError(`Model ${id} is not stored`, { detail: { id } });
  return row;
}

/** The model row if it is `ready` (MODEL_NOT_READY otherwise), stamped as just used for LRU. */
export async function useReadyModel(db: TabpoolDb, id: string): Promise<ModelRow> {
  const row = await getModel(db, id);
  if (row.state !== 'ready') {
    throw new ModelNotReadyError(`Model ${id} is ${row.state}`, {
      detail: { id, state: row.state },
    });
  }
  const lastUsedAt = Date.now();
  await atBoundary(`touching ${id}`, () => db.models.update(id, { lastUsedAt }));
  return { ...row, lastUsedAt };
}

/** Pins (never evicted) or unpins a model. */
export async function setPinned(db: TabpoolDb, id: string, pinned: boolean): Promise<void> {
  const changed = await atBoundary(`pinning ${id}`, () =>
    db.models.update(id, { pinned: pinned ? 1 : 0 }),
  );
  if (changed === 0) throw new NotFoundError(`Model ${id} is not stored`, { detail: { id } });
}

/** Marks a model corrupt (a read found bad bytes); `download` will fetch it again. */
export async function markCorrupt(db: TabpoolDb, id: string): Promise<void> {
  await atBoundary(`marking ${id} corrupt`, () => db.models.update(id, { state: 'corrupt' }));
}

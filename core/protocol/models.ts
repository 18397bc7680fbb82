/**
 * The model ops of the page protocol: `models.load` (download once into the shared store, with
 * progress events) and `models.list`. Pages name a repo and files; the server they come from is
 * the extension's setting, never the page's.
 */
import * as v from 'valibot';
import type { ModelRow } from '../../storage';
import { InvalidParamsError } from './errors';

/** `owner/name`, as on the Hub: letters, digits, `-`, `_`, `.`; no path tricks. */
const REPO = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;
/** A revision: a branch, tag or commit (no slashes: keeps the URL path to what we mean). */
const REVISION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;
/** A file path inside the repo: segments of safe characters, no `..`, no scheme, no leading `/`. */
const FILE = /^(?!.*\.\.)(?!\/)[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

export const MAX_MODEL_FILES = 64;

export const ModelsLoadParamsSchema = v.object({
  repo: v.pipe(v.string(), v.regex(REPO, 'repo must look like owner/name')),
  revision: v.optional(
    v.pipe(v.string(), v.regex(REVISION, 'revision is a branch, tag or commit')),
    'main',
  ),
  files: v.pipe(
    v.array(
      v.pipe(v.string(), v.maxLength(200), v.regex(FILE, 'files are plain paths inside the repo')),
    ),
    v.minLength(1),
    v.maxLength(MAX_MODEL_FILES),
  ),
});
export type ModelsLoadParams = v.InferOutput<typeof ModelsLoadParamsSchema>;

export function parseModelsLoadParams(params: unknown): ModelsLoadParams {
  const parsed = v.safeParse(ModelsLoadParamsSchema, params);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const path = issue?.path?.map((p) => String(p.key)).join('.') ?? '';
    throw new InvalidParamsError(`models.load params: ${path ? `${path}: ` : ''}${issue?.message}`);
  }
  return parsed.output;
}

/** A model as pages see it. */
export interface ModelSummary {
  id: string;
  repo: string;
  revision: string;
  state: 'downloading' | 'ready' | 'corrupt';
  /** Bytes of the model's files (logical; shared chunks count in every model that has them). */
  bytes: number;
  files: string[];
  pinned: boolean;
  lastUsedAt: number;
}

export interface ModelsLoadResult {
  model: ModelSummary;
}
export interface ModelsListResult {
  models: ModelSummary[];
}

/** Streamed before the final reply of `models.load`. */
export interface ProgressEvent {
  tabpool: number;
  id: string;
  event: 'progress';
  progress: {
    modelId: string;
    bytes: number;
    totalBytes: number;
    file: { path: string; bytes: number; totalBytes: number };
  };
}

/** A stored model row as pages see it. */
export function toModelSummary(row: ModelRow): ModelSummary {
  return {
    id: row.id,
    repo: row.repo,
    revision: row.revision,
    state: row.state,
    bytes: row.totalBytes,
    files: row.files.map((f) => f.path),
    pinned: row.pinned === 1,
    lastUsedAt: row.lastUsedAt,
  };
}

/**
 * Hugging Face-style file URLs and the file-list check that runs before any download:
 * every file must answer a HEAD with its size, or nothing is stored at all.
 */

import { DownloadFailedError } from './errors';
import { isSha256Hex } from './hash';
import type { RemoteFile } from './model-registry';
import { fetchOnce, type RetryPolicy, withRetries } from './retry-policy';

const encodePath = (p: string) => p.split('/').map(encodeURIComponent).join('/');

/**
 * @example
 * hubFileUrl('https://huggingface.co', 'Xenova/gpt2', 'main', 'onnx/model.onnx')
 * // 'https://huggingface.co/Xenova/gpt2/resolve/main/onnx/model.onnx'
 */
export function hubFileUrl(baseUrl: string, repo: string, revision: string, path: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  return `${base}/${encodePath(repo)}/resolve/${encodeURIComponent(revision)}/${encodePath(path)}`;
}

/** An ETag without its weak prefix and quotes. */
export const bareEtag = (etag: string): string => etag.replace(/^W\//, '').replace(/^"|"$/g, '');

/**
 * The file's SHA-256 as the Hub publishes it: LFS files carry it as `x-linked-etag` (or as the
 * ETag after the redirect). Git-stored files have a SHA-1 ETag, which is not returned.
 */
export function sha256FromHeaders(headers: Headers): string | undefined {
  for (const name of ['x-linked-etag', 'etag']) {
    const value = headers.get(name);
    if (value === null) continue;
    const bare = bareEtag(value).toLowerCase();
    if (isSha256Hex(bare)) return bare;
  }
  return undefined;
}

export interface CheckFilesInput {
  fetch: typeof fetch;
  baseUrl: string;
  repo: string;
  revision: string;
  paths: readonly string[];
  retry: RetryPolicy;
  signal?: AbortSignal;
}

/**
 * HEADs every file (with retries) and returns their sizes and hashes, plus the commit the server
 * resolved the revision to. Throws DOWNLOAD_FAILED naming the first file that cannot be fetched.
 */
export async function checkRemoteFiles(
  input: CheckFilesInput,
): Promise<{ files: RemoteFile[]; commit?: string }> {
  if (input.paths.length === 0) throw new DownloadFailedError('A model needs at least one file');
  if (new Set(input.paths).size !== input.paths.length) {
    throw new DownloadFailedError('The file list names a file twice', {
      detail: { paths: [...input.paths] },
    });
  }
  const files: RemoteFile[] = [];
  let commit: string | undefined;
  for (const path of input.paths) {
    const url = hubFileUrl(input.baseUrl, input.repo, input.revision, path);
    const res = await withRetries(input.retry, input.signal, () =>
      fetchOnce(input.fetch, url, { method: 'HEAD' }, input.signal),
    );
    const sizeHeader = res.headers.get('x-linked-size') ?? res.headers.get('content-length');
    const size = sizeHeader === null ? Number.NaN : Number(sizeHeader);
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new DownloadFailedError(`${path}: the server does not say how large it is`, {
        detail: { url },
      });
    }
    const file: RemoteFile = { path, bytes: size };
    const sha = sha256FromHeaders(res.headers);
    if (sha !== undefined) file.serverSha256 = sha;
    const etag = res.headers.get('etag');
    if (etag !== null && !etag.startsWith('W/')) file.etag = etag;
    files.push(file);
    commit ??= res.headers.get('x-repo-commit') ?? undefined;
  }
  return commit === undefined ? { files } : { files, commit };
}

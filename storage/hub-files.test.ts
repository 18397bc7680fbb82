import { describe, expect, it } from 'vitest';
import { bareEtag, checkRemoteFiles, hubFileUrl, sha256FromHeaders } from './hub-files';

const SHA = 'a'.repeat(64);
const retry = { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 };

/** A fetch that answers each path's HEAD with the given headers (or status). */
function fakeHub(files: Record<string, Record<string, string> | number>): typeof fetch {
  return async (url) => {
    const path = String(url).split('/resolve/main/')[1] ?? '';
    const answer = files[decodeURIComponent(path)] ?? 404;
    return typeof answer === 'number'
      ? new Response(null, { status: answer })
      : new Response(null, { status: 200, headers: answer });
  };
}

const check = (paths: string[], hub: typeof fetch) =>
  checkRemoteFiles({
    fetch: hub,
    baseUrl: 'https://hub.test/',
    repo: 'org/m',
    revision: 'main',
    paths,
    retry,
  });

describe('hub files', () => {
  it('builds resolve URLs, encoding each segment but keeping folders', () => {
    expect(hubFileUrl('https://huggingface.co/', 'Xenova/gpt2', 'main', 'onnx/model q.onnx')).toBe(
      'https://huggingface.co/Xenova/gpt2/resolve/main/onnx/model%20q.onnx',
    );
    expect(hubFileUrl('http://127.0.0.1:1', 'a/b', 'refs/pr/1', 'x')).toBe(
      'http://127.0.0.1:1/a/b/resolve/refs%2Fpr%2F1/x',
    );
  });

  it("reads the Hub's SHA-256 from x-linked-etag or a strong ETag, never a git SHA-1", () => {
    expect(sha256FromHeaders(new Headers({ 'x-linked-etag': `"${SHA}"`, etag: '"abc"' }))).toBe(
      SHA,
    );
    expect(sha256FromHeaders(new Headers({ etag: `W/"${SHA.toUpperCase()}"` }))).toBe(SHA);
    expect(sha256FromHeaders(new Headers({ etag: `"${'b'.repeat(40)}"` }))).toBeUndefined();
    expect(bareEtag('W/"x"')).toBe('x');
  });

  it('returns sizes, hashes, ETags and the resolved commit for every file', async () => {
    const result = await check(
      ['config.json', 'model.safetensors'],
      fakeHub({
        'config.json': { 'content-length': '12', etag: '"1234"', 'x-repo-commit': 'c1' },
        'model.safetensors': {
          'x-linked-size': '9000',
          'x-linked-etag': `"${SHA}"`,
          etag: 'W/"w"',
        },
      }),
    );
    expect(result).toEqual({
      commit: 'c1',
      files: [
        { path: 'config.json', bytes: 12, etag: '"1234"' },
        { path: 'model.safetensors', bytes: 9000, serverSha256: SHA },
      ],
    });
  });

  it('refuses empty or duplicate lists, files without a size, and missing files', async () => {
    const hub = fakeHub({ a: { 'content-length': '1' }, nosize: {} });
    await expect(check([], hub)).rejects.toMatchObject({ code: 'DOWNLOAD_FAILED' });
    await expect(check(['a', 'a'], hub)).rejects.toMatchObject({
      code: 'DOWNLOAD_FAILED',
      detail: { paths: ['a', 'a'] },
    });
    await expect(check(['a', 'nosize'], hub)).rejects.toThrow(/does not say how large/);
    await expect(check(['a', 'gone'], hub)).rejects.toMatchObject({
      code: 'DOWNLOAD_FAILED',
      detail: { status: 404 },
    });
  });
});

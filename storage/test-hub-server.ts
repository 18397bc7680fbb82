/**
 * A Hugging Face-shaped file server on 127.0.0.1 for tests and benchmarks (Node only):
 * `HEAD|GET /<repo>/resolve/<revision>/<path>` with `ETag`/`x-linked-etag` = the file's SHA-256,
 * `x-linked-size`, `x-repo-commit`, and `Range: bytes=N-` / `If-Range` support. Scripted faults
 * (dropped connections mid-body, wrong bytes, error statuses) apply to the next GETs of a file.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  /** Send this many body bytes, then destroy the socket. */
  | { kind: 'drop'; afterBytes: number }
  /** Answer with this status (and optional Retry-After) instead of the file. */
  | { kind: 'status'; status: number; retryAfter?: string }
  /** Serve the file with the byte at this file offset flipped. */
  | { kind: 'corrupt'; atByte: number };

export interface ServedRequest {
  method: string;
  path: string;
  range?: string;
  status: number;
  /** Body bytes written (before any drop). */
  bodyBytes: number;
}

export interface TestHubServer {
  baseUrl: string;
  /** Serves `bytes` at `<repo>/resolve/<revision>/<path>`; `lfs: false` sends no sha256 headers. */
  addFile(repo: string, revision: string, path: string, bytes: Uint8Array, lfs?: boolean): void;
  /** Queues faults for the next GET requests of that file, in order. */
  fail(repo: string, revision: string, path: string, ...faults: Fault[]): void;
  requests: ServedRequest[];
  close(): Promise<void>;
}

interface Served {
  bytes: Uint8Array;
  sha256: string;
  lfs: boolean;
  faults: Fault[];
}

const ROUTE = /^\/(.+)\/resolve\/([^/]+)\/(.+)$/;
const EXPOSED = 'etag, x-linked-etag, x-linked-size, x-repo-commit, content-range, content-length';

/**
 * @example
 * const hub = await startTestHubServer();
 * hub.addFile('org/model', 'main', 'config.json', bytes);
 * await fetch(`${hub.baseUrl}/org/model/resolve/main/config.json`);
 */
export async function startTestHubServer(): Promise<TestHubServer> {
  const files = new Map<string, Served>();
  const requests: ServedRequest[] = [];
  const key = (repo: string, revision: string, path: string) =>
    `${repo}/resolve/${revision}/${path}`;

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const method = req.method ?? 'GET';
    const range = req.headers.range;
    const log: ServedRequest = { method, path: url.pathname, status: 0, bodyBytes: 0 };
    if (range !== undefined) log.range = range;
    requests.push(log);
    const reply = (status: number, headers: Record<string, string> = {}, body?: Uint8Array) => {
      log.status = status;
      res.writeHead(status, headers);
      if (body !== undefined && method !== 'HEAD') {
        log.bodyBytes = body.length;
        res.end(body);
      } else res.end();
    };
    // Open to any origin, like the Hub, so a browser page on another port can download.
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-expose-headers', EXPOSED);
    if (method === 'OPTIONS') {
      return reply(204, {
        'access-control-allow-headers': 'range, if-range',
        'access-control-allow-methods': 'GET, HEAD',
      });
    }
    const match = ROUTE.exec(decodeURIComponent(url.pathname));
    const file = match ? files.get(key(match[1] ?? '', match[2] ?? '', match[3] ?? '')) : undefined;
    if (file === undefined) return reply(404, { 'x-error-code': 'EntryNotFound' });

    const etag = `"${file.lfs ? file.sha256 : file.sha256.slice(0, 40)}"`;
    const common: Record<string, string> = {
      etag,
      'accept-ranges': 'bytes',
      'x-repo-commit': 'c0ffee',
    };
    if (file.lfs) {
      common['x-linked-etag'] = etag;
      common['x-linked-size'] = String(file.bytes.length);
    }
    const fault = method === 'GET' ? file.faults.shift() : undefined;
    if (fault?.kind === 'status') {
      return reply(fault.status, fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
    }
    let body = file.bytes;
    if (fault?.kind === 'corrupt') {
      body = body.slice();
      body[fault.atByte] = (body[fault.atByte] ?? 0) ^ 0xff;
    }
    let start = 0;
    const ifRange = req.headers['if-range'];
    const rangeMatch = /^bytes=(\d+)-(\d*)$/.exec(range ?? '');
    if (rangeMatch && (ifRange === undefined || ifRange === etag)) {
      start = Number(rangeMatch[1]);
      const end = rangeMatch[2] ? Number(rangeMatch[2]) + 1 : body.length;
      if (start >= body.length || end > body.length || end <= start) {
        return reply(416, { 'content-range': `bytes */${body.length}` });
      }
      body = body.subarray(start, end);
      common['content-range'] = `bytes ${start}-${end - 1}/${file.bytes.length}`;
    }
    const status = common['content-range'] ? 206 : 200;
    const headers = { ...common, 'content-length': String(body.length) };
    if (fault?.kind === 'drop' && method === 'GET') {
      log.status = status;
      res.writeHead(status, headers);
      const sent = body.subarray(0, Math.min(fault.afterBytes, body.length));
      log.bodyBytes = sent.length;
      res.write(sent, () => res.socket?.destroy());
      return;
    }
    reply(status, headers, body);
  };

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    addFile(repo, revision, path, bytes, lfs = true) {
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      files.set(key(repo, revision, path), { bytes, sha256, lfs, faults: [] });
    },
    fail(repo, revision, path, ...faults) {
      const file = files.get(key(repo, revision, path));
      if (file === undefined) throw new Error(`No file ${path} to fail`);
      file.faults.push(...faults);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}

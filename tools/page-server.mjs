// Serves the demo and test pages on 127.0.0.1 (a free port): the pages a real site would be.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';

export const PAGES_DIR = resolve(import.meta.dirname, '../tests/pages');
/** The built page SDK (`npm run build:client`), served beside the pages as /tabpool-client.js. */
export const CLIENT_DIR = resolve(import.meta.dirname, '../dist/client');
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
};

/**
 * Serves files from `dirs`, the first that has the path winning.
 * @param {string[]} [dirs]
 * @returns {Promise<{ origin: string, close: () => Promise<void> }>}
 */
export async function servePages(dirs = [PAGES_DIR, CLIENT_DIR]) {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    for (const dir of dirs) {
      const file = join(dir, path === '/' ? 'index.html' : path);
      if (!file.startsWith(dir)) break;
      try {
        const body = await readFile(file);
        res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
        res.end(body);
        return;
      } catch {
        // not in this directory: try the next
      }
    }
    res.writeHead(404).end('not found');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', () => r(undefined)));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('server did not bind');
  return {
    origin: `http://127.0.0.1:${address.port}`,
    close: () => new Promise((r) => server.close(() => r(undefined))),
  };
}

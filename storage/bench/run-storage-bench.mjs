// Storage benchmark in headless Chromium (proposed as `npm run bench:storage`):
// `node storage/bench/run-storage-bench.mjs [MiB] [chunkMiB]` — default a 256 MiB model in 8 MiB
// chunks. Serves the model from the test Hub server and the page through Vite, both on 127.0.0.1,
// then prints MB/s for the store, the Cache API and OPFS, and the store's read ratio to the best.
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { createServer } from 'vite';
import { ensureChromium } from '../../tools/chromium.mjs';

const root = resolve(import.meta.dirname, '../..');
const totalMiB = Number(process.argv[2] ?? 256);
const chunkMiB = Number(process.argv[3] ?? 8);
const MiB = 1024 * 1024;

const vite = await createServer({
  root,
  configFile: false,
  logLevel: 'error',
  server: { host: '127.0.0.1', port: 0 },
  plugins: [
    {
      name: 'bench-page',
      configureServer: (server) => {
        server.middlewares.use('/bench.html', (_req, res) => {
          res.setHeader('content-type', 'text/html');
          res.end(
            '<!doctype html><script type="module">' +
              "import { runStorageBench } from '/storage/bench/storage-bench.ts';" +
              'window.runStorageBench = runStorageBench;</script>',
          );
        });
      },
    },
  ],
});
await vite.listen();
const { startTestHubServer } = await vite.ssrLoadModule('/storage/test-hub-server.ts');
const { encodeSafetensors } = await vite.ssrLoadModule('/storage/safetensors-header.ts');

// 32 distinct tensors (random bytes: nothing deduplicates) adding up to the model size.
const tensorCount = 32;
const tensors = {};
for (let i = 0; i < tensorCount; i++) {
  const data = new Uint8Array((totalMiB * MiB) / tensorCount);
  for (let at = 0; at < data.length; at += 65536)
    randomFillSync(data, at, Math.min(65536, data.length - at));
  tensors[`layers.${i}.weight`] = { dtype: 'F32', shape: [data.length / 4], data };
}
const file = encodeSafetensors(tensors);
const hub = await startTestHubServer();
hub.addFile('bench/model', 'main', 'model.safetensors', file);

// A persistent profile on disk, as the extension has: an incognito context keeps storage in
// memory with a small quota, which would measure the wrong thing.
const profile = mkdtempSync(join(tmpdir(), 'tabpool-bench-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: ensureChromium(),
  headless: true,
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update'],
});
try {
  const page = await context.newPage();
  const { port } = vite.httpServer.address();
  await page.goto(`http://127.0.0.1:${port}/bench.html`);
  await page.waitForFunction(() => 'runStorageBench' in window, undefined, { timeout: 60_000 });
  const rows = await page.evaluate((o) => window.runStorageBench(o), {
    hubBaseUrl: hub.baseUrl,
    repo: 'bench/model',
    file: 'model.safetensors',
    chunkBytes: chunkMiB * MiB,
    readRuns: 3,
  });
  const version = await page.evaluate(() => navigator.userAgent.match(/Chrome\/([\d.]+)/)?.[1]);
  console.log(
    `Chromium ${version}, ${(file.length / MiB).toFixed(0)} MiB model, ${chunkMiB} MiB chunks, reads: median of 3`,
  );
  console.log('| step | MB/s | ms |');
  console.log('| --- | ---: | ---: |');
  for (const r of rows) console.log(`| ${r.step} | ${r.mbPerS} | ${r.ms} |`);
  const rate = (step) => rows.find((r) => r.step === step)?.mbPerS ?? 0;
  const best = Math.max(rate('Cache API: read'), rate('OPFS: read'));
  const ratio = (step) => `${(rate(step) / best).toFixed(2)}×`;
  console.log(
    `store read / best of Cache API and OPFS read: verified ${ratio('store: read tensors, verified')}, ` +
      `unverified ${ratio('store: read tensors, unverified')}, ` +
      `pieces unverified ${ratio('store: read tensor pieces (no join), unverified')}`,
  );
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
  await hub.close();
  await vite.close();
}

// `npm run bench:pool`: pool throughput in headless Chromium with 1, 2 and 4 hosts (the offscreen
// document plus 0, 1, 3 pool tabs, set through the pool-size setting), on the CPU backend, for a
// batch of 192×192×192 matmuls sent 16 at a time through an SDK session. The peer is the same
// batch computed in the page itself, one after another, in the same run.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { allowInPopup, launchWithExtension } from './launch.mjs';
import { servePages } from './page-server.mjs';

const root = resolve(import.meta.dirname, '..');
const jobs = Number(process.env.BENCH_JOBS ?? 96);
if (process.env.TABPOOL_SKIP_BUILD !== '1') {
  for (const target of ['build:chrome', 'build:client']) {
    execFileSync('npm', ['run', '--silent', target], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
}

const server = await servePages();
const browser = await launchWithExtension({ headless: true });
try {
  const setPoolTabs = async (n) => {
    const popup = await browser.context.newPage();
    await popup.goto(`chrome-extension://${browser.extensionId}/popup.html`);
    await popup.evaluate(
      (poolTabs) => chrome.storage.local.set({ 'tabpool.settings': { poolTabs } }),
      n,
    );
    await popup.close();
  };
  const page = await browser.context.newPage();
  await page.goto(`${server.origin}/sdk.html`);
  await page.waitForFunction(() => window.sdkLoaded);
  const access = page.evaluate(async () => {
    window.client = await window.sdk.connect();
    return window.client.call('access');
  });
  await allowInPopup(browser.context, browser.extensionId, server.origin);
  if ((await access).state !== 'granted') throw new Error('access not granted');

  const rows = [];
  for (const hosts of [1, 2, 4]) {
    await setPoolTabs(hosts - 1);
    await page.waitForFunction(
      async (hosts) =>
        (await window.client.status()).hosts.filter((h) => h.state === 'ready').length === hosts,
      hosts,
      { polling: 200, timeout: 60_000 },
    );
    const r = await page.evaluate(async (jobs) => {
      const n = 192;
      const a = new Float32Array(n * n).fill(0.5);
      const b = new Float32Array(n * n).fill(0.25);
      const run = () => window.client.matmul(a, b, n, n, n);
      for (let i = 0; i < 8; i++) await run(); // warm-up
      const t0 = performance.now();
      let next = 0;
      const used = new Set();
      const worker = async () => {
        while (next < jobs) {
          next++;
          const out = await run();
          if (Math.abs(out.c[0] - n * 0.125) > 1e-3) throw new Error('wrong result');
          used.add(out.host.id);
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      const poolMs = performance.now() - t0;
      // Peer: the same jobs in the page, one after another (what a page alone would do).
      const t1 = performance.now();
      for (let j = 0; j < jobs; j++) {
        const c = new Float32Array(n * n);
        for (let i = 0; i < n; i++)
          for (let p = 0; p < n; p++) {
            const av = a[i * n + p];
            for (let q = 0; q < n; q++) c[i * n + q] += av * b[p * n + q];
          }
      }
      const pageMs = performance.now() - t1;
      return { poolMs, pageMs, hostsUsed: used.size };
    }, jobs);
    rows.push({ hosts, ...r });
  }
  const version = browser.context.browser()?.version() ?? '';
  console.log(
    `bench:pool — Chromium ${version}, headless, ${jobs} matmuls of 192³ (CPU backend), 16 in flight`,
  );
  console.log('hosts  hosts used  pool jobs/s  in-page jobs/s  pool ÷ in-page  ÷ 1 host');
  const base = rows[0].poolMs;
  for (const r of rows) {
    const poolRate = (jobs / r.poolMs) * 1000;
    const pageRate = (jobs / r.pageMs) * 1000;
    console.log(
      `${String(r.hosts).padEnd(7)}${String(r.hostsUsed).padEnd(12)}${poolRate.toFixed(1).padStart(11)}${pageRate.toFixed(1).padStart(16)}${(poolRate / pageRate).toFixed(2).padStart(15)}×${(base / r.poolMs).toFixed(2).padStart(9)}×`,
    );
  }
} finally {
  await browser.close();
  await server.close();
}

// `npm run bench:path`: round-trip times through the whole request path in headless Chromium —
// page → content script → service worker → host → back — for a small and a 1 MiB request,
// per host kind (the offscreen document's tensors ride its runtime Port, structured-cloned; a
// pool tab's ride a MessagePort), against the same work done inside the page as the peer.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { allowInPopup, launchWithExtension } from './launch.mjs';
import { PAGES_DIR, servePages } from './page-server.mjs';

const root = resolve(import.meta.dirname, '..');
const runs = Number(process.env.BENCH_RUNS ?? 50);
if (process.env.TABPOOL_SKIP_BUILD !== '1') {
  execFileSync('npx', ['wxt', 'build', '-b', 'chrome'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
const server = await servePages([PAGES_DIR]);
const browser = await launchWithExtension({ headless: true });
try {
  const page = await browser.context.newPage();
  await page.goto(`${server.origin}/index.html`);
  await page.waitForFunction(() => 'tabpool' in window);
  const access = page.evaluate(() => window.tabpool.call('access'));
  await allowInPopup(browser.context, browser.extensionId, server.origin);
  if ((await access).state !== 'granted') throw new Error('access was not granted');
  // Wait for both hosts so requests alternate between them.
  await page.waitForFunction(
    async () =>
      (await window.tabpool.call('status')).hosts.filter((h) => h.state === 'ready').length >= 2,
    undefined,
    { timeout: 30_000, polling: 200 },
  );
  const results = await page.evaluate(async (runs) => {
    const { call } = window.tabpool;
    const median = (xs) => {
      const s = [...xs].sort((a, b) => a - b);
      return s[Math.floor(s.length / 2)];
    };
    const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];
    const tensor = (values, shape) => ({ dtype: 'float32', shape, data: values.buffer });
    const cases = {
      small: () => ({
        a: tensor(Float32Array.from([1, 2]), [1, 2]),
        b: tensor(Float32Array.from([3, 4]), [2, 1]),
      }),
      // 1 MiB in (a: 262144 × 1 f32), 1 MiB back (c: 262144 × 1): the transport dominates.
      '1MiB': () => ({
        a: tensor(new Float32Array(262144).fill(1.5), [262144, 1]),
        b: tensor(Float32Array.from([2]), [1, 1]),
      }),
    };
    const out = [];
    for (const [name, make] of Object.entries(cases)) {
      for (let i = 0; i < 6; i++) await call('matmul', make()); // warm up both hosts
      const byKind = {};
      const local = [];
      for (let i = 0; i < runs * 2; i++) {
        const params = make();
        const t0 = performance.now();
        const r = await call('matmul', params, { transfer: [params.a.data, params.b.data] });
        const dt = performance.now() - t0;
        if (new Float32Array(r.c.data)[0] !== (name === 'small' ? 11 : 3))
          throw new Error('wrong result');
        byKind[r.host.kind] = [...(byKind[r.host.kind] ?? []), dt];
        // Peer: the same product computed in the page itself, no extension involved.
        const p = make();
        const a = new Float32Array(p.a.data);
        const b = new Float32Array(p.b.data);
        const [m, k] = p.a.shape;
        const n = p.b.shape[1];
        const t1 = performance.now();
        const c = new Float32Array(m * n);
        for (let x = 0; x < m; x++)
          for (let q = 0; q < k; q++)
            for (let y = 0; y < n; y++) c[x * n + y] += a[x * k + q] * b[q * n + y];
        local.push(performance.now() - t1);
      }
      for (const [kind, xs] of Object.entries(byKind)) {
        out.push({
          case: name,
          via: `pool → ${kind}`,
          n: xs.length,
          medianMs: median(xs),
          p90Ms: p90(xs),
        });
      }
      out.push({
        case: name,
        via: 'in-page (peer)',
        n: local.length,
        medianMs: median(local),
        p90Ms: p90(local),
      });
    }
    const hello = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await call('hello');
      hello.push(performance.now() - t0);
    }
    out.push({
      case: 'hello',
      via: 'service worker only',
      n: runs,
      medianMs: median(hello),
      p90Ms: p90(hello),
    });
    return out;
  }, runs);

  const version = browser.context.browser()?.version() ?? 'Chromium';
  console.log(`bench:path — ${version}, headless, ${runs * 2} requests per case (median, p90)`);
  console.log('case    via                       n     median ms   p90 ms   vs in-page');
  for (const r of results) {
    const peer = results.find((x) => x.case === r.case && x.via === 'in-page (peer)');
    // performance.now() is coarsened to 0.1 ms in pages: below that a ratio means nothing.
    let ratio = '';
    if (peer && r !== peer) {
      ratio =
        peer.medianMs >= 0.1 ? `${(r.medianMs / peer.medianMs).toFixed(1)}×` : 'peer < 0.1 ms';
    }
    console.log(
      `${r.case.padEnd(8)}${r.via.padEnd(26)}${String(r.n).padEnd(6)}${r.medianMs.toFixed(2).padStart(9)}${r.p90Ms.toFixed(2).padStart(9)}   ${ratio}`,
    );
  }
} finally {
  await browser.close();
  await server.close();
}

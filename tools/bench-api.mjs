// `npm run bench:api`: page API round trips in headless Chromium, p50/p99, for 16 B and 1 MiB:
//   - session:  the SDK's private MessagePort (bridge frame) → service worker → host → back
//   - relay:    window.postMessage → content script → runtime Port (structured clone) → … → back
//   - peer:     runtime messaging with base64 strings (what extensions do without binary
//               messaging), an echo from an extension page through the service worker
// Every case runs in the same browser, same run. Targets (issue 5): 16 B p50 ≤ 0.5 ms,
// 1 MiB p50 ≤ 2 ms on the session path.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { allowInPopup, launchWithExtension } from './launch.mjs';
import { servePages } from './page-server.mjs';

const root = resolve(import.meta.dirname, '..');
const runs = Number(process.env.BENCH_RUNS ?? 200);
if (process.env.TABPOOL_SKIP_BUILD !== '1') {
  for (const target of ['build:chrome', 'build:client']) {
    execFileSync('npm', ['run', '--silent', target], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { n: s.length, p50: at(0.5), p99: at(0.99) };
};

const server = await servePages();
const browser = await launchWithExtension({ headless: true });
try {
  const page = await browser.context.newPage();
  await page.goto(`${server.origin}/sdk.html`);
  await page.waitForFunction(() => window.sdkLoaded);
  const access = page.evaluate(async () => {
    const client = await window.sdk.connect();
    window.client = client;
    return client.call('access');
  });
  await allowInPopup(browser.context, browser.extensionId, server.origin);
  if ((await access).state !== 'granted') throw new Error('access not granted');
  await page.waitForFunction(
    async () => (await window.client.status()).hosts.filter((h) => h.state === 'ready').length >= 2,
    undefined,
    { polling: 200, timeout: 30_000 },
  );

  const pageTimes = await page.evaluate(async (runs) => {
    const { client } = window;
    // 16 B: a [1,2]·[2,1] matmul sends 16 bytes of tensors. 1 MiB: 262144×1 · 1×1, 1 MiB each way.
    const cases = {
      '16 B': () => [Float32Array.of(1, 2), Float32Array.of(3, 4), 1, 2, 1],
      '1 MiB': () => [new Float32Array(262144).fill(1), Float32Array.of(2), 262144, 1, 1],
    };
    const relay = (a, b, m, k, n) =>
      new Promise((resolve, reject) => {
        const id = `r${Math.random()}`;
        const on = (e) => {
          if (e.data?.id !== id || !('ok' in e.data)) return;
          removeEventListener('message', on);
          e.data.ok ? resolve(e.data.result) : reject(e.data.error);
        };
        addEventListener('message', on);
        postMessage(
          {
            tabpool: 1,
            id,
            op: 'matmul',
            params: {
              a: { dtype: 'float32', shape: [m, k], data: a.buffer },
              b: { dtype: 'float32', shape: [k, n], data: b.buffer },
            },
          },
          location.origin,
          [a.buffer],
        );
      });
    const out = {};
    for (const [name, make] of Object.entries(cases)) {
      for (const [path, fn] of [
        ['session', (a, b, m, k, n) => client.matmul(a, b, m, k, n, { transferInputs: true })],
        // The same bytes to the service worker and back, no host: the transport floor.
        [
          'session echo (no host)',
          (a) => client.call('echo', { data: a.buffer }, { transfer: [a.buffer] }),
        ],
        ['relay', relay],
      ]) {
        for (let i = 0; i < 20; i++) await fn(...make()); // warm-up
        const times = [];
        for (let i = 0; i < runs; i++) {
          const args = make();
          const t0 = performance.now();
          await fn(...args);
          times.push(performance.now() - t0);
        }
        out[`${path}|${name}`] = times;
      }
    }
    return out;
  }, runs);

  // The peer: base64 over runtime messaging, from an extension page through the service worker.
  const extPage = await browser.context.newPage();
  await extPage.goto(`chrome-extension://${browser.extensionId}/popup.html`);
  const peerTimes = await extPage.evaluate(async (runs) => {
    const port = chrome.runtime.connect({ name: 'tabpool-echo' });
    const toB64 = (bytes) => {
      let s = '';
      for (let i = 0; i < bytes.length; i += 0x8000)
        s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return btoa(s);
    };
    const fromB64 = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const roundTrip = (bytes) =>
      new Promise((resolve) => {
        port.onMessage.addListener(function on(m) {
          port.onMessage.removeListener(on);
          resolve(fromB64(m.b64));
        });
        port.postMessage({ b64: toB64(bytes) });
      });
    const out = {};
    for (const [name, size] of [
      ['16 B', 16],
      ['1 MiB', 1 << 20],
    ]) {
      const times = [];
      for (let i = 0; i < runs + 20; i++) {
        const bytes = new Uint8Array(size).fill(7);
        const t0 = performance.now();
        const back = await roundTrip(bytes);
        if (back.length !== size) throw new Error('echo lost bytes');
        if (i >= 20) times.push(performance.now() - t0);
      }
      out[`base64 runtime messaging|${name}`] = times;
    }
    port.disconnect();
    return out;
  }, runs);

  const version = browser.context.browser()?.version() ?? '';
  console.log(
    `bench:api — Chromium ${version}, headless, ${runs} round trips per row (after 20 warm-up)`,
  );
  console.log('path                          size     p50 ms    p99 ms   p50 vs base64 peer');
  const all = { ...pageTimes, ...peerTimes };
  for (const size of ['16 B', '1 MiB']) {
    const peer = stats(all[`base64 runtime messaging|${size}`]);
    for (const path of ['session', 'session echo (no host)', 'relay', 'base64 runtime messaging']) {
      const s = stats(all[`${path}|${size}`]);
      const ratio = path.startsWith('base64') ? '' : `${(peer.p50 / s.p50).toFixed(1)}× faster`;
      console.log(
        `${path.padEnd(30)}${size.padEnd(7)}${s.p50.toFixed(2).padStart(8)}${s.p99.toFixed(2).padStart(10)}   ${ratio}`,
      );
    }
  }
} finally {
  await browser.close();
  await server.close();
}

/**
 * Fault injection with the built extension in headless Chromium: requests stream from a page
 * while hosts are killed, closed, hung, the worker is stopped and storage.session is full.
 * Every request must end exactly once, before its deadline, with the right result or a typed
 * error. TABPOOL_FAULT_REQUESTS sets the total (1,000 by default; more for a soak).
 *
 * `device.destroy()` needs no hook in the extension: a test-side init script wraps
 * `GPUAdapter.prototype.requestDevice` in extension pages to keep the devices it hands out, and
 * that phase switches the hosts to WebGPU (SwiftShader here) through the backend setting.
 * Not here: a corrupt stored chunk (storage's suite checks reads of one fail INTEGRITY_FAILED).
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Harness, readyKinds, startGrantedHarness, waitForHosts } from './harness';

const TOTAL = Number(process.env.TABPOOL_FAULT_REQUESTS ?? 1000);
const DEADLINE_MS = 15_000;
/** Time a reply may take from the coordinator to the page's listener after the deadline. */
const HOP_GRACE_MS = 250;

let h: Harness;
let page: Page;

beforeAll(async () => {
  ({ h, page } = await startGrantedHarness());
  await page.evaluate(installDriver);
  // Pages opened from now on (the pool tab after it is replaced) keep their GPU devices where
  // the test can reach them; web pages cannot (this runs through the browser's test driver).
  await h.context.addInitScript(() => {
    if (typeof GPUAdapter === 'undefined' || !location.protocol.startsWith('chrome-extension')) {
      return;
    }
    const devices: GPUDevice[] = [];
    (globalThis as { __faultDevices?: GPUDevice[] }).__faultDevices = devices;
    const request = GPUAdapter.prototype.requestDevice;
    GPUAdapter.prototype.requestDevice = async function (this: GPUAdapter, ...args) {
      const device = await request.apply(this, args);
      devices.push(device);
      return device;
    };
  });
});

afterAll(async () => {
  await h?.close();
});

interface PhaseCounts {
  sent: number;
  ok: number;
  wrong: number;
  lost: number;
  late: number;
  duplicates: number;
  errors: Record<string, number>;
  /** Results per host kind: which hosts carried the phase. */
  hosts: Record<string, number>;
  /** Slowest request of the phase (ms): a fault that bit shows here. */
  slowestMs: number;
  /** The first few typed errors, with their messages. */
  notes: string[];
}

/** Runs in the page: streams exact-integer matmuls and checks each answer against its own. */
function installDriver(): void {
  const w = window as unknown as Record<string, unknown>;
  const replies = new Map<string, number>();
  const waiting = new Map<string, (m: unknown) => void>();
  window.addEventListener('message', (event) => {
    const m = event.data as { id?: string; ok?: boolean } | null;
    if (event.source !== window || !m || typeof m.id !== 'string' || !('ok' in m)) return;
    replies.set(m.id, (replies.get(m.id) ?? 0) + 1);
    waiting.get(m.id)?.(m);
    waiting.delete(m.id);
  });
  w.faultDone = 0;
  w.faultRun = async (
    phase: string,
    n: number,
    concurrency: number,
    deadlineMs: number,
    graceMs: number,
  ) => {
    const counts = {
      sent: 0,
      ok: 0,
      wrong: 0,
      lost: 0,
      late: 0,
      duplicates: 0,
      errors: {},
      hosts: {},
      slowestMs: 0,
      notes: [] as string[],
    };
    const errors = counts.errors as Record<string, number>;
    const hosts = counts.hosts as Record<string, number>;
    const ids: string[] = [];
    w.faultDone = 0;
    const one = async (i: number) => {
      const [m, k, p] = [3 + (i % 4), 5, 4];
      const a = Float32Array.from({ length: m * k }, (_, j) => ((i * 7 + j * 3) % 9) - 4);
      const b = Float32Array.from({ length: k * p }, (_, j) => ((i * 5 + j) % 7) - 3);
      const want = new Float64Array(m * p);
      for (let r = 0; r < m; r++)
        for (let q = 0; q < k; q++)
          for (let c = 0; c < p; c++)
            want[r * p + c] = (want[r * p + c] ?? 0) + (a[r * k + q] ?? 0) * (b[q * p + c] ?? 0);
      const id = `${phase}-${i}`;
      ids.push(id);
      const started = performance.now();
      const reply = await new Promise<unknown>((resolve) => {
        const timer = setTimeout(() => resolve(null), deadlineMs + 5_000);
        waiting.set(id, (msg) => {
          clearTimeout(timer);
          resolve(msg);
        });
        window.postMessage(
          {
            tabpool: 1,
            id,
            op: 'matmul',
            deadlineMs,
            params: {
              a: { dtype: 'float32', shape: [m, k], data: a.buffer },
              b: { dtype: 'float32', shape: [k, p], data: b.buffer },
            },
          },
          window.location.origin,
          [a.buffer, b.buffer],
        );
      });
      counts.sent++;
      const tookMs = performance.now() - started;
      counts.slowestMs = Math.max(counts.slowestMs, Math.round(tookMs));
      const r = reply as {
        ok: boolean;
        result?: { c: { data: ArrayBuffer }; host: { kind: string } };
        error?: { code: string; message: string };
      } | null;
      if (r?.ok && r.result) hosts[r.result.host.kind] = (hosts[r.result.host.kind] ?? 0) + 1;
      if (!r) counts.lost++;
      else if (r.ok) {
        const got = new Float32Array(r.result?.c.data ?? new ArrayBuffer(0));
        const right = got.length === want.length && got.every((v, j) => v === want[j]);
        if (right) counts.ok++;
        else counts.wrong++;
      } else {
        const code = r.error?.code ?? 'NONE';
        errors[code] = (errors[code] ?? 0) + 1;
        if (counts.notes.length < 5) counts.notes.push(`${id}: ${code}: ${r.error?.message}`);
      }
      if (r && tookMs > deadlineMs + graceMs) counts.late++;
      w.faultDone = (w.faultDone as number) + 1;
    };
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < n) await one(next++);
      }),
    );
    // Late duplicates would arrive after their request ended: give them a moment to show.
    await new Promise((r) => setTimeout(r, 300));
    for (const id of ids) if ((replies.get(id) ?? 0) > 1) counts.duplicates++;
    return counts;
  };
}

const done = () => page.evaluate(() => (window as unknown as { faultDone: number }).faultDone);

/** Waits until `count` requests of the running phase have ended (so the fault hits mid-run). */
async function afterRequests(count: number): Promise<void> {
  while ((await done()) < count) await new Promise((r) => setTimeout(r, 20));
}

const extensionPage = async () => {
  const p = await h.context.newPage();
  await p.goto(`chrome-extension://${h.extensionId}/popup.html`);
  return p;
};

type Fault = {
  name: string;
  prepare?: () => Promise<void>;
  inject: () => Promise<void>;
  heal?: () => Promise<void>;
};

const poolTab = () => h.context.pages().find((p) => p.url().endsWith('/pool.html'));

/** Sets the hosts' backend preference and waits until every ready host runs on `backend`. */
async function useBackend(preferredBackend: string, backend: string): Promise<void> {
  const ext = await extensionPage();
  await ext.evaluate(async (preferredBackend) => {
    const local = (
      globalThis as unknown as {
        chrome: {
          storage: {
            local: {
              get(k: string): Promise<Record<string, object>>;
              set(v: object): Promise<void>;
            };
          };
        };
      }
    ).chrome.storage.local;
    const settings = (await local.get('tabpool.settings'))['tabpool.settings'] ?? {};
    await local.set({ 'tabpool.settings': { ...settings, preferredBackend } });
  }, preferredBackend);
  await ext.close();
  await waitForHosts(
    page,
    (hosts) =>
      readyKinds(hosts).join() === 'offscreen,tab' &&
      hosts.every((x) => x.state !== 'ready' || (x as { backend?: string }).backend === backend),
    60_000,
  );
}
const faults: Fault[] = [
  { name: 'none', inject: async () => {} },
  {
    name: 'kill pool tab',
    inject: async () => {
      await h.context
        .pages()
        .find((p) => p.url().endsWith('/pool.html'))
        ?.close();
    },
  },
  {
    name: 'close offscreen document',
    inject: async () => {
      const ext = await extensionPage();
      // chrome.offscreen is for the worker only: ask it through the worker's own context.
      const worker = h.context.serviceWorkers()[0];
      await worker?.evaluate(() =>
        (
          globalThis as unknown as { chrome: { offscreen: { closeDocument(): Promise<void> } } }
        ).chrome.offscreen.closeDocument(),
      );
      await ext.close();
    },
  },
  {
    name: 'device.destroy() in a host',
    prepare: () => useBackend('webgpu', 'webgpu'),
    inject: async () => {
      const destroyed = await poolTab()?.evaluate(() => {
        const devices = (globalThis as { __faultDevices?: GPUDevice[] }).__faultDevices ?? [];
        for (const d of devices) d.destroy();
        return devices.length;
      });
      if (!destroyed) throw new Error('no GPU device to destroy in the pool tab');
    },
    heal: () => useBackend('auto', 'cpu'),
  },
  {
    name: 'hang a host',
    inject: async () => {
      // The pool tab's thread spins past the heartbeat timeout: it answers nothing.
      const tab = h.context.pages().find((p) => p.url().endsWith('/pool.html'));
      void tab?.evaluate(() => {
        const until = Date.now() + 8_000;
        while (Date.now() < until) {}
      });
    },
  },
  {
    name: 'fill storage.session quota',
    inject: async () => {
      const ext = await extensionPage();
      await ext.evaluate(async () => {
        const s = (
          globalThis as unknown as {
            chrome: { storage: { session: { set(x: object): Promise<void> } } };
          }
        ).chrome.storage.session;
        const block = 'x'.repeat(1 << 20);
        for (let i = 0; i < 16; i++) {
          try {
            await s.set({ [`fault.fill.${i}`]: block });
          } catch {
            return; // full: the journal's next writes fail
          }
        }
      });
      await ext.close();
    },
    heal: async () => {
      const ext = await extensionPage();
      await ext.evaluate(async () => {
        const s = (
          globalThis as unknown as {
            chrome: { storage: { session: { remove(k: string[]): Promise<void> } } };
          }
        ).chrome.storage.session;
        await s.remove(Array.from({ length: 16 }, (_, i) => `fault.fill.${i}`));
      });
      await ext.close();
    },
  },
  {
    name: 'stop the service worker',
    inject: async () => {
      const cdp = await h.context.newCDPSession(page);
      await cdp.send('ServiceWorker.enable');
      await cdp.send('ServiceWorker.stopAllWorkers');
      await cdp.detach();
    },
  },
];

/** TABPOOL_FAULTS=name,name runs only those faults (for a quick look at one). */
const only = process.env.TABPOOL_FAULTS?.split(',');
const chosen = only ? faults.filter((f) => only.includes(f.name)) : faults;

it(`ends ${TOTAL} requests spread over ${faults.length - 1} faults exactly once, right and in time`, async () => {
  const perPhase = Math.ceil(TOTAL / chosen.length);
  const rows: (PhaseCounts & { fault: string })[] = [];
  for (const fault of chosen) {
    await waitForHosts(page, (hosts) => readyKinds(hosts).join() === 'offscreen,tab', 60_000);
    await fault.prepare?.();
    const run = page.evaluate(
      ([name, n, deadline, grace]) =>
        (
          window as unknown as {
            faultRun(p: string, n: number, c: number, d: number, g: number): Promise<PhaseCounts>;
          }
        ).faultRun(name, n, 8, deadline, grace),
      [fault.name.replaceAll(' ', '-'), perPhase, DEADLINE_MS, HOP_GRACE_MS] as const,
    );
    await afterRequests(Math.floor(perPhase / 4));
    await fault.inject();
    const counts = await run;
    await fault.heal?.();
    rows.push({ fault: fault.name, ...counts });
  }
  console.log(
    `fault suite: ${rows.reduce((n, r) => n + r.sent, 0)} requests, deadline ${DEADLINE_MS} ms\n` +
      'fault                        sent    ok  typed errors              wrong  lost  late  dup  slowest ms  served by\n' +
      rows
        .map(
          (r) =>
            `${r.fault.padEnd(28)}${String(r.sent).padStart(5)}${String(r.ok).padStart(6)}  ${
              Object.entries(r.errors)
                .map(([c, n]) => `${c}:${n}`)
                .join(' ')
                .padEnd(24) || '-'.padEnd(24)
            }${String(r.wrong).padStart(6)}${String(r.lost).padStart(6)}${String(r.late).padStart(6)}${String(r.duplicates).padStart(5)}${String(r.slowestMs).padStart(12)}  ${Object.entries(
              r.hosts,
            )
              .map(([k, n]) => `${k}:${n}`)
              .join(' ')}`,
        )
        .join('\n') +
      rows.flatMap((r) => r.notes.map((n) => `\n  ${n}`)).join(''),
  );
  for (const r of rows) {
    expect(r, r.fault).toMatchObject({ wrong: 0, lost: 0, late: 0, duplicates: 0 });
    expect(r.sent, r.fault).toBe(perPhase);
    // Typed errors are allowed only where the fault leaves no way to finish the request.
    for (const code of Object.keys(r.errors)) {
      expect(['HOST_LOST', 'COORDINATOR_LOST', 'TIMEOUT'], `${r.fault}: ${code}`).toContain(code);
    }
  }
  const okShare = rows.reduce((n, r) => n + r.ok, 0) / rows.reduce((n, r) => n + r.sent, 0);
  expect(okShare).toBeGreaterThan(0.95);
}, 600_000);

/**
 * Fault injection with the built extension in headless Chromium: requests stream from a page
 * while hosts are killed, closed, hung, the worker is stopped and storage.session is full.
 * Every request must end exactly once, before its deadline, with the right result or a typed
 * error. TABPOOL_FAULT_REQUESTS sets the total (1,000 by default; more for a soak).
 *
 * `device.destroy()` needs no hook in the extension: a test-side init script wraps
 * `GPUAdapter.prototype.requestDevice` in extension pages to keep the devices it hands out, and
 * that phase switches the hosts to WebGPU (SwiftShader here) through the backend setting.
 * A quarter of the requests are `embed` on a tiny BERT served from a hub on 127.0.0.1, checked
 * against the same model run in Node. Two faults hit model storage: a stored weight chunk is
 * overwritten in the extension's IndexedDB (and the model dropped from the hosts' memory), and
 * the store is full — through the user's store limit (settings), since the extension holds
 * `unlimitedStorage`, so Chromium ignores CDP `Storage.overrideQuotaForOrigin` for its origin
 * (estimate() kept reporting ~74 GB) and the browser's own quota cannot be reached in a test.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestHubServer, type TestHubServer } from '../../storage/test-hub-server';
import {
  type Harness,
  readyKinds,
  startGrantedHarness,
  type TabpoolWindow,
  waitForHosts,
} from './harness';
import { MODEL_FILES, quiet, reference, serveTinyModels } from './tiny-models';

const TOTAL = Number(process.env.TABPOOL_FAULT_REQUESTS ?? 1000);
const DEADLINE_MS = 15_000;
/** Time a reply may take from the coordinator to the page's listener after the deadline. */
const HOP_GRACE_MS = 250;

let h: Harness;
let hub: TestHubServer;
let page: Page;
const EMBED_MODEL = 'test/tiny-bert';
/** A model first downloaded while the store is full (the 'fill the model store' fault). */
const QUOTA_MODEL = 'test/tiny-gpt2';
const EMBED_TEXTS = Array.from({ length: 8 }, (_, i) => `fault text ${i} ${'ab'.repeat(i)}`);
/** What happened to the storage faults' own loads, printed under the table. */
const storageNotes: string[] = [];

beforeAll(async () => {
  hub = await startTestHubServer();
  serveTinyModels(hub);
  ({ h, page } = await startGrantedHarness());
  const popup = await h.openPopup();
  await popup.evaluate(
    (baseUrl) =>
      (
        globalThis as unknown as {
          chrome: { storage: { local: { set(i: unknown): Promise<void> } } };
        }
      ).chrome.storage.local.set({ 'tabpool.settings': { modelBaseUrl: baseUrl } }),
    hub.baseUrl,
  );
  await popup.close();
  expect(await loadModel(EMBED_MODEL)).toMatchObject({ ok: true, state: 'ready' });
  // The user pinned it (the options page's toggle): no download evicts it to make room.
  await onExtensionDb('pin', EMBED_MODEL);
  const want = await reference.embed(
    { model: EMBED_MODEL, texts: EMBED_TEXTS, pooling: 'mean', normalize: true },
    quiet,
  );
  await page.evaluate(installDriver);
  await page.evaluate(
    ([model, texts, flat]) => {
      const hidden = flat.length / texts.length;
      (window as unknown as Record<string, unknown>).faultEmbeds = {
        model,
        texts,
        want: texts.map((_, i) => flat.slice(i * hidden, (i + 1) * hidden)),
      };
    },
    [EMBED_MODEL, EMBED_TEXTS, [...new Float32Array(want.embeddings.data)]] as const,
  );
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
  await hub?.close();
});

/** `models.load` from the page: its end state, or its error code. */
async function loadModel(repo: string): Promise<{ ok: boolean; state?: string; code?: string }> {
  return page.evaluate(
    async ([repo, files]) => {
      const t = (
        window as unknown as {
          tabpool: { call(o: string, p: unknown, x: unknown): Promise<unknown> };
        }
      ).tabpool;
      try {
        const r = (await t.call('models.load', { repo, files }, { timeoutMs: 60_000 })) as {
          model: { state: string };
        };
        return { ok: true, state: r.model.state };
      } catch (e) {
        return { ok: false, code: (e as { code?: string }).code ?? String(e) };
      }
    },
    [repo, MODEL_FILES] as const,
  );
}

/** Stored models' states, from the page (`models.list`). */
async function modelStates(): Promise<Record<string, string>> {
  const { models } = (await page.evaluate(() =>
    (window as unknown as { tabpool: { call(o: string): Promise<unknown> } }).tabpool.call(
      'models.list',
    ),
  )) as { models: { id: string; state: string }[] };
  return Object.fromEntries(models.map((m) => [m.id, m.state]));
}

/**
 * Pins a stored model, or overwrites bytes of one of its stored weight chunks, straight in the
 * extension's IndexedDB (raw, from an extension page: the test reaches in the way a user's toggle
 * or a disk fault would, not through storage/). Returns the chunk touched, if any.
 */
async function onExtensionDb(action: 'pin' | 'corrupt', repo: string): Promise<string> {
  const ext = await extensionPage();
  const out = await ext.evaluate(
    async ([action, id]) => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const r = indexedDB.open('tabpool');
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
      const ask = <T>(r: IDBRequest<T>) =>
        new Promise<T>((resolve, reject) => {
          r.onsuccess = () => resolve(r.result);
          r.onerror = () => reject(r.error);
        });
      try {
        const model = await ask(db.transaction('models').objectStore('models').get(id));
        if (action === 'pin') {
          await ask(
            db
              .transaction('models', 'readwrite')
              .objectStore('models')
              .put({ ...model, pinned: 1 }),
          );
          return '';
        }
        const file = (model.files as { path: string; chunks: { hash: string }[] }[]).find((f) =>
          f.path.endsWith('.safetensors'),
        );
        const hash = file?.chunks.at(-1)?.hash ?? '';
        const row = await ask(db.transaction('chunks').objectStore('chunks').get(hash));
        const bytes = new Uint8Array(await (row.blob as Blob).arrayBuffer());
        for (let j = bytes.length >> 1; j < Math.min(bytes.length, (bytes.length >> 1) + 64); j++) {
          bytes[j] = (bytes[j] ?? 0) ^ 0x5a;
        }
        await ask(
          db
            .transaction('chunks', 'readwrite')
            .objectStore('chunks')
            .put({ ...row, blob: new Blob([bytes]) }),
        );
        return hash;
      } finally {
        db.close();
      }
    },
    [action, `${repo}@main`] as const,
  );
  await ext.close();
  return out;
}

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
    const embeds = w.faultEmbeds as { model: string; texts: string[]; want: number[][] };
    const one = async (i: number) => {
      if (i % 4 === 1) return oneEmbed(i);
      const [m, k, p] = [3 + (i % 4), 5, 4];
      const a = Float32Array.from({ length: m * k }, (_, j) => ((i * 7 + j * 3) % 9) - 4);
      const b = Float32Array.from({ length: k * p }, (_, j) => ((i * 5 + j) % 7) - 3);
      const want = new Float64Array(m * p);
      for (let r = 0; r < m; r++)
        for (let q = 0; q < k; q++)
          for (let c = 0; c < p; c++)
            want[r * p + c] = (want[r * p + c] ?? 0) + (a[r * k + q] ?? 0) * (b[q * p + c] ?? 0);
      const params = {
        a: { dtype: 'float32', shape: [m, k], data: a.buffer },
        b: { dtype: 'float32', shape: [k, p], data: b.buffer },
      };
      await send(i, 'matmul', params, [a.buffer, b.buffer], (result) => {
        const r = result as { c: { data: ArrayBuffer }; host: { kind: string } };
        hosts[r.host.kind] = (hosts[r.host.kind] ?? 0) + 1;
        const got = new Float32Array(r.c.data);
        return got.length === want.length && got.every((v, j) => v === want[j]);
      });
    };
    /** A model request: one text's embedding, within float tolerance of Node's. */
    const oneEmbed = async (i: number) => {
      const t = i % embeds.texts.length;
      const want = embeds.want[t] ?? [];
      await send(i, 'embed', { model: embeds.model, texts: [embeds.texts[t]] }, [], (result) => {
        hosts.model = (hosts.model ?? 0) + 1;
        const got = new Float32Array(
          (result as { embeddings: { data: ArrayBuffer } }).embeddings.data,
        );
        return (
          got.length === want.length && got.every((v, j) => Math.abs(v - (want[j] ?? 0)) < 1e-4)
        );
      });
    };
    const send = async (
      i: number,
      op: string,
      params: unknown,
      transfer: Transferable[],
      right: (result: unknown) => boolean,
    ) => {
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
          { tabpool: 1, id, op, deadlineMs, params },
          window.location.origin,
          transfer,
        );
      });
      counts.sent++;
      const tookMs = performance.now() - started;
      counts.slowestMs = Math.max(counts.slowestMs, Math.round(tookMs));
      const r = reply as {
        ok: boolean;
        result?: unknown;
        error?: { code: string; message: string };
      } | null;
      if (!r) counts.lost++;
      else if (r.ok) {
        if (right(r.result)) counts.ok++;
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

/** Merges `patch` into the stored settings, as the options page's Save does. */
async function patchSettings(patch: Record<string, unknown>): Promise<void> {
  const ext = await extensionPage();
  await ext.evaluate(async (patch) => {
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
    await local.set({ 'tabpool.settings': { ...settings, ...patch } });
  }, patch);
  await ext.close();
}

const poolTab = () => h.context.pages().find((p) => p.url().endsWith('/pool.html'));

/** Sets the hosts' backend preference and waits until every ready host runs on `backend`. */
async function useBackend(preferredBackend: string, backend: string): Promise<void> {
  await patchSettings({ preferredBackend });
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
    name: 'corrupt a stored chunk',
    // Before the phase: matmuls finish faster than the raw write and unload take, and every
    // model request of the phase should meet the bad chunk.
    prepare: async () => {
      const hash = await onExtensionDb('corrupt', EMBED_MODEL);
      if (!hash) throw new Error('no stored chunk to corrupt');
      // Drop it from the hosts' memory: the next request reads the stored bytes again.
      await page.evaluate(
        (model) => (window as unknown as TabpoolWindow).tabpool.call('models.unload', { model }),
        EMBED_MODEL,
      );
    },
    inject: async () => {},
    heal: async () => {
      const before = (await modelStates())[`${EMBED_MODEL}@main`];
      // The page loads it again, as the MODEL_NOT_READY it got tells it to: the bad bytes are
      // fetched again from the hub.
      const again = await loadModel(EMBED_MODEL);
      storageNotes.push(
        `corrupt chunk: model ${before} after the phase; models.load again: ${again.state ?? again.code}`,
      );
      expect(before).toBe('corrupt');
      expect(again).toMatchObject({ ok: true, state: 'ready' });
    },
  },
  {
    name: 'fill the model store',
    // The user's limit on the model store (settings) set below what is already stored: the
    // extension holds `unlimitedStorage`, so Chromium's own quota is tens of GB and ignores CDP
    // overrides — the limit is how a full store happens to a tabpool user. A page's download of a
    // model not yet stored must end QUOTA_EXCEEDED having stored nothing, while every other
    // request (the stored model's included) goes on; with the limit lifted the same load works.
    prepare: async () => patchSettings({ maxStorageBytes: 1 }),
    inject: async () => {
      const full = await loadModel(QUOTA_MODEL);
      const state = (await modelStates())[`${QUOTA_MODEL}@main`];
      storageNotes.push(
        `store full: models.load ${QUOTA_MODEL}: ${full.ok ? full.state : full.code}; stored state: ${state ?? 'none'}`,
      );
      expect(full).toMatchObject({ ok: false, code: 'QUOTA_EXCEEDED' });
      expect(state).toBeUndefined();
    },
    heal: async () => {
      await patchSettings({ maxStorageBytes: 0 });
      const again = await loadModel(QUOTA_MODEL);
      storageNotes.push(
        `store limit lifted: models.load ${QUOTA_MODEL}: ${again.state ?? again.code}`,
      );
      expect(again).toMatchObject({ ok: true, state: 'ready' });
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
      rows.flatMap((r) => r.notes.map((n) => `\n  ${n}`)).join('') +
      storageNotes.map((n) => `\n  ${n}`).join(''),
  );
  for (const r of rows) {
    expect(r, r.fault).toMatchObject({ wrong: 0, lost: 0, late: 0, duplicates: 0 });
    expect(r.sent, r.fault).toBe(perPhase);
    // Typed errors are allowed only where the fault leaves no way to finish the request.
    for (const code of Object.keys(r.errors)) {
      // Bad stored bytes can't give a right answer until the page loads the model again.
      const allowed = ['HOST_LOST', 'COORDINATOR_LOST', 'TIMEOUT'];
      if (r.fault === 'corrupt a stored chunk') allowed.push('INTEGRITY_FAILED', 'MODEL_NOT_READY');
      expect(allowed, `${r.fault}: ${code}`).toContain(code);
    }
  }
  const okShare = rows.reduce((n, r) => n + r.ok, 0) / rows.reduce((n, r) => n + r.sent, 0);
  expect(okShare).toBeGreaterThan(0.95);
}, 600_000);

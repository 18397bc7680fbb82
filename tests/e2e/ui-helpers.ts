/**
 * Helpers for the popup and dashboard end-to-end tests: a proxy that holds a download mid-body,
 * and a reader for what our pages show.
 */
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { randomModelFiles } from '../../core/models/testing/random-models';
import type { TestHubServer } from '../../storage/test-hub-server';
import type { Harness } from './harness';

const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts');

/** A full-page screenshot under test-artifacts/, by a stable name. */
export const shot = (p: Page, name: string) => {
  mkdirSync(ARTIFACTS, { recursive: true });
  return p.screenshot({ path: resolve(ARTIFACTS, name), fullPage: true });
};

export type Call = { tabpool: { call(op: string, p?: unknown, o?: unknown): Promise<unknown> } };
export type ChromeGlobal = {
  chrome: {
    storage: { local: { set(v: object): Promise<void> } };
    action: { getBadgeText(d: object): Promise<string> };
  };
};

/** A small random BERT (about 425 KB of weights) the dashboard suites download and benchmark. */
export const SLOW_REPO = 'test/slow-bert';
export function serveSlowModel(hub: TestHubServer): void {
  const files = randomModelFiles(
    'bert',
    { hidden: 64, layers: 2, heads: 4, intermediate: 128, vocab: 500, maxPositions: 64 },
    21,
    0.5,
  );
  for (const [name, body] of Object.entries(files)) {
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    hub.addFile(SLOW_REPO, 'main', name, bytes, name.endsWith('.safetensors'));
  }
}

/** Points the extension's model server at `baseUrl`: a setting, as a person would change it. */
export const setModelServer = (extensionPage: Page, baseUrl: string) =>
  extensionPage.evaluate(
    (url) =>
      (globalThis as unknown as ChromeGlobal).chrome.storage.local.set({
        'tabpool.settings': { modelBaseUrl: url },
      }),
    baseUrl,
  );

export async function openDashboard(h: Harness): Promise<Page> {
  const dash = await h.context.newPage();
  await dash.setViewportSize({ width: 900, height: 900 });
  await dash.goto(`chrome-extension://${h.extensionId}/options.html`);
  return dash;
}

/**
 * A proxy in front of the hub that sends the first `holdFraction` of one file's body, then waits
 * for `release()`: a download caught in the middle, for as long as the test needs.
 */
export async function startGatedProxy(upstream: string, gatedPath: string, holdFraction: number) {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let onHeld!: () => void;
  const held = new Promise<void>((r) => (onHeld = r));
  const server: Server = createServer(async (req, res) => {
    const headers: Record<string, string> = {};
    for (const name of ['range', 'if-range']) {
      const v = req.headers[name];
      if (typeof v === 'string') headers[name] = v;
    }
    const up = await fetch(`${upstream}${req.url}`, { method: req.method ?? 'GET', headers });
    const out: Record<string, string> = {};
    up.headers.forEach((v, k) => {
      if (k !== 'transfer-encoding' && k !== 'connection' && k !== 'keep-alive') out[k] = v;
    });
    res.writeHead(up.status, out);
    const body = new Uint8Array(await up.arrayBuffer());
    if (req.method !== 'GET' || !req.url?.endsWith(gatedPath) || body.length === 0) {
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const cut = Math.floor(body.length * holdFraction);
    res.write(body.subarray(0, cut));
    onHeld();
    await released;
    res.end(body.subarray(cut));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    held,
    release,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** What a page of ours (popup or dashboard) shows, read from the DOM a person sees. */
export const readView = (p: Page) =>
  p.evaluate(() => {
    const text = (el: Element | null | undefined) => el?.textContent ?? '';
    return {
      state: document.querySelector<HTMLElement>('[data-pool-state]')?.dataset.poolState ?? '',
      headline: text(document.querySelector('[data-field="headline"]')),
      hosts: [...document.querySelectorAll<HTMLElement>('.host')].map((el) => ({
        kind: text(el.querySelector('.host__kind')),
        state: el.dataset.state ?? '',
        breaker: el.dataset.breaker ?? '',
        backend: text(el.querySelector('[data-field="backend"]')),
        queue: text(el.querySelector('[data-field="queue"]')),
        memory: text(el.querySelector('[data-field="memory"]')),
        models: text(el.querySelector('[data-field="models"]')),
        heartbeat: text(el.querySelector('[data-field="heartbeat"]')),
      })),
      charts: [...document.querySelectorAll<HTMLElement>('figure.chart')].map((f) => ({
        label: f.getAttribute('aria-label') ?? '',
        points: Number(f.dataset.points),
        canvas: f.querySelector('canvas') !== null,
      })),
    };
  });

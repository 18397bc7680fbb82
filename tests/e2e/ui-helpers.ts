/**
 * Helpers for the popup and dashboard end-to-end tests: a proxy that holds a download mid-body,
 * and a reader for what our pages show.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';

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

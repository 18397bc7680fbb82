/**
 * The dashboard's benchmark runner in Chromium: kernel and model benchmarks run through real host
 * tasks on every host and backend, stored in IndexedDB, charted over time, exported as CSV/JSON.
 */
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHubServer, type TestHubServer } from '../../storage/test-hub-server';
import { type Harness, startGrantedHarness } from './harness';
import {
  type Call,
  openDashboard,
  SLOW_REPO,
  serveSlowModel,
  setModelServer,
  shot,
} from './ui-helpers';

let h: Harness;
let dash: Page;
let hub: TestHubServer;

beforeAll(async () => {
  hub = await startTestHubServer();
  serveSlowModel(hub);
  let page: Page;
  ({ h, page } = await startGrantedHarness());
  const popup = await h.openPopup();
  await setModelServer(popup, hub.baseUrl);
  await popup.close();
  const loaded = await page.evaluate(
    (repo) =>
      (window as unknown as Call).tabpool.call('models.load', {
        repo,
        files: ['config.json', 'model.safetensors'],
      }),
    SLOW_REPO,
  );
  expect(loaded).toMatchObject({ model: { state: 'ready' } });
  dash = await openDashboard(h);
}, 180_000);

afterAll(async () => {
  await h?.close();
  await hub?.close();
});

describe('benchmark runner', () => {
  it('runs on every host and backend, stores and charts the results, exports CSV and JSON', async () => {
    await dash.$eval('#benchmarks', (el) => el.scrollIntoView());
    const id = `${SLOW_REPO}@main`;
    await dash.check(`input[name="model-${id}"]`);
    await dash.click('.bench button[type="submit"]');
    await dash.waitForFunction(
      () => document.querySelector('[data-field="bench-status"]')?.textContent?.startsWith('Done'),
      undefined,
      { timeout: 90_000 },
    );
    expect(await dash.textContent('[data-field="bench-status"]')).toBe('Done: 2 hosts');
    // A second, kernel-only run: the history chart then has two points in time.
    await dash.uncheck(`input[name="model-${id}"]`);
    await dash.click('.bench button[type="submit"]');
    await dash.waitForFunction(
      () =>
        document.querySelector('[data-field="bench-status"]')?.textContent === 'Done: 2 hosts' &&
        document.querySelectorAll('.bench__table tbody tr').length === 4,
      undefined,
      { timeout: 90_000 },
    );
    // The latest run: matmul 64³ on each host, on the CPU and on the (software) WebGPU adapter.
    const latest = await dash.$$eval('.bench__table tbody tr', (rows) =>
      rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent ?? '')),
    );
    expect(
      latest.map((r) => `${r[0]} | ${r[1]?.replace(/\(.*\)/, '(…)')} | ${r[2]}`).sort(),
    ).toEqual([
      'Offscreen document | CPU | matmul 64x64x64',
      'Offscreen document | WebGPU (…) | matmul 64x64x64',
      'Pool tab | CPU | matmul 64x64x64',
      'Pool tab | WebGPU (…) | matmul 64x64x64',
    ]);
    for (const r of latest) expect(Number(r[3])).toBeGreaterThan(0);

    // Stored in the tabpool database: run 1 had matmul + the model, run 2 matmul only.
    const stored = await dash.evaluate(
      () =>
        new Promise<{ name: string; backend: string; ms: number }[]>((res, rej) => {
          const open = indexedDB.open('tabpool');
          open.onerror = () => rej(open.error);
          open.onsuccess = () => {
            const all = open.result
              .transaction('benchResults')
              .objectStore('benchResults')
              .getAll();
            all.onsuccess = () => {
              res(all.result);
              open.result.close();
            };
          };
        }),
    );
    expect(stored).toHaveLength(2 * 2 * 2 + 2 * 2);
    expect(stored.filter((r) => r.name === id)).toHaveLength(4);
    expect(stored.every((r) => r.ms > 0)).toBe(true);

    // Charted over time: matmul 64³, four lines (2 backends × 2 host kinds), two runs each.
    const chart = await dash.$eval('.bench__history figure.chart', (f) => ({
      points: Number((f as HTMLElement).dataset.points),
      series: Number((f as HTMLElement).dataset.series),
      canvas: f.querySelector('canvas') !== null,
    }));
    expect(chart).toEqual({ points: 8, series: 4, canvas: true });
    await dash.selectOption('select[name="historyCase"]', `${id} 1x16 tokens`);
    expect(await dash.getAttribute('.bench__history figure.chart', 'data-points')).toBe('4');
    await dash.selectOption('select[name="historyCase"]', 'matmul 64x64x64');
    await shot(dash, 'dashboard-benchmarks.png');

    const [download] = await Promise.all([
      dash.waitForEvent('download'),
      dash.click('button:has-text("Export CSV")'),
    ]);
    expect(download.suggestedFilename()).toBe('tabpool-benchmarks.csv');
    const csv = readFileSync((await download.path()) as string, 'utf8')
      .trimEnd()
      .split('\r\n');
    expect(csv[0]).toBe(
      'run_id,at,host_kind,host_id,backend,adapter,suite,name,shape,ms,gflops,iterations',
    );
    expect(csv).toHaveLength(1 + stored.length);
    for (const line of csv.slice(1)) {
      expect(line).toMatch(/^[0-9a-f-]{36},\d{4}-\d\d-\d\dT[\d:.]+Z,(offscreen|tab),/);
    }
    expect(csv.filter((l) => l.includes(`,model,${id},1x16 tokens,`))).toHaveLength(4);

    const [json] = await Promise.all([
      dash.waitForEvent('download'),
      dash.click('button:has-text("Export JSON")'),
    ]);
    expect(json.suggestedFilename()).toBe('tabpool-benchmarks.json');
    const rows = JSON.parse(readFileSync((await json.path()) as string, 'utf8'));
    expect(rows).toHaveLength(stored.length);
    expect(Object.keys(rows[0]).sort()).toEqual([
      'adapter',
      'at',
      'backend',
      'gflops',
      'hostId',
      'hostKind',
      'iterations',
      'ms',
      'name',
      'runId',
      'shape',
      'suite',
    ]);
  });
});

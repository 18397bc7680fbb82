/**
 * The options page in Chromium: a person changes the pool size and the backend, and the running
 * pool follows; the allowed sites are listed there too.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, readyKinds, startHarness, waitForHosts } from './harness';

const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts');

let h: Harness;
let page: Page;
let options: Page;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  h = await startHarness();
  page = await h.openPage();
  await h.grant(page);
  await waitForHosts(page, (hosts) => readyKinds(hosts).join() === 'offscreen,tab');
  options = await h.context.newPage();
  await options.setViewportSize({ width: 720, height: 760 });
  await options.goto(`chrome-extension://${h.extensionId}/options.html`);
});

afterAll(async () => {
  await h?.close();
});

describe('options page', () => {
  it('shows the settings and the sites allowed', async () => {
    await options.waitForSelector('input[name="poolTabs"]');
    expect(await options.inputValue('input[name="poolTabs"]')).toBe('1');
    expect(await options.inputValue('select[name="preferredBackend"]')).toBe('auto');
    await options.waitForSelector(`.grants__item[data-origin="${h.origin}"]`);
    expect(await options.textContent('[data-field="storage"]')).toMatch(/stored/);
  });

  it('grows the pool to three tabs when the user says so, and shrinks it back', async () => {
    await options.fill('input[name="poolTabs"]', '3');
    await options.click('button[type="submit"]');
    await options.waitForSelector('.settings__status:has-text("Saved.")');
    const grown = await waitForHosts(
      page,
      (hosts) => readyKinds(hosts).join() === 'offscreen,tab,tab,tab',
    );
    expect(readyKinds(grown)).toEqual(['offscreen', 'tab', 'tab', 'tab']);
    expect(h.context.pages().filter((p) => p.url().endsWith('/pool.html'))).toHaveLength(3);
    await options.screenshot({ path: resolve(ARTIFACTS, 'options.png') });

    await options.fill('input[name="poolTabs"]', '1');
    await options.click('button[type="submit"]');
    const shrunk = await waitForHosts(
      page,
      (hosts) => readyKinds(hosts).join() === 'offscreen,tab',
    );
    expect(readyKinds(shrunk)).toEqual(['offscreen', 'tab']);
    // Retired tabs are closed, not respawned.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(h.context.pages().filter((p) => p.url().endsWith('/pool.html'))).toHaveLength(1);
  });

  it('switches the hosts to WebGPU and back when the backend setting changes', async () => {
    await options.selectOption('select[name="preferredBackend"]', 'webgpu');
    await options.click('button[type="submit"]');
    type S = { hosts: { state: string; backend: string }[] };
    const backends = async () =>
      (
        (await page.evaluate(() =>
          (window as unknown as { tabpool: { call(op: string): Promise<unknown> } }).tabpool.call(
            'status',
          ),
        )) as S
      ).hosts
        .filter((x) => x.state === 'ready')
        .map((x) => x.backend);
    const start = Date.now();
    while ((await backends()).some((b) => b !== 'webgpu')) {
      if (Date.now() - start > 30_000) throw new Error('hosts did not switch');
      await new Promise((r) => setTimeout(r, 100));
    }
    await options.selectOption('select[name="preferredBackend"]', 'cpu');
    await options.click('button[type="submit"]');
    while ((await backends()).some((b) => b !== 'cpu'))
      await new Promise((r) => setTimeout(r, 100));
    expect(await backends()).toEqual(['cpu', 'cpu']);
  });

  it('closes idle pool tabs after the idle time and reopens them when work comes', async () => {
    await options.fill('input[name="idleRetireSeconds"]', '2');
    await options.click('button[type="submit"]');
    const poolTabs = () => h.context.pages().filter((p) => p.url().endsWith('/pool.html')).length;
    const start = Date.now();
    while (poolTabs() > 0) {
      if (Date.now() - start > 20_000) throw new Error('idle pool tab was not retired');
      await new Promise((r) => setTimeout(r, 200));
    }
    // Only host #0 is left, and it still serves; the work brings the pool tab back.
    const served = await page.evaluate(async () => {
      const t = (
        window as unknown as {
          tabpool: {
            matmul(...a: unknown[]): Promise<{ c: Float32Array; host: { kind: string } }>;
          };
        }
      ).tabpool;
      const r = await t.matmul(Float32Array.of(6), Float32Array.of(7), 1, 1, 1);
      return { c: r.c[0], kind: r.host.kind };
    });
    expect(served).toEqual({ c: 42, kind: 'offscreen' });
    await waitForHosts(page, (hosts) => readyKinds(hosts).join() === 'offscreen,tab');
    await options.fill('input[name="idleRetireSeconds"]', '0');
    await options.click('button[type="submit"]');
  });

  it('refuses a model server that is not http(s)', async () => {
    await options.fill('input[name="modelBaseUrl"]', 'ftp://example.com/models');
    await options.click('button[type="submit"]');
    await options.waitForSelector('.settings__status:has-text("must be an http(s) URL")');
    const stored = await options.evaluate(() =>
      (
        globalThis as unknown as {
          chrome: {
            storage: {
              local: { get(k: string): Promise<Record<string, { modelBaseUrl?: string }>> };
            };
          };
        }
      ).chrome.storage.local.get('tabpool.settings'),
    );
    expect(stored['tabpool.settings']?.modelBaseUrl).toBe('https://huggingface.co');
  });

  it('chooses the language model pages get, and refuses a bad one', async () => {
    await options.fill('input[name="modelBaseUrl"]', 'https://huggingface.co');
    await options.fill('input[name="languageModelRepo"]', '../etc');
    await options.click('button[type="submit"]');
    await options.waitForSelector('.settings__status:has-text("owner/name")');
    await options.fill('input[name="languageModelRepo"]', 'me/tiny-stories');
    await options.click('button[type="submit"]');
    await options.waitForSelector('.settings__status:has-text("Saved")');
    const stored = await options.evaluate(() =>
      (
        globalThis as unknown as {
          chrome: {
            storage: {
              local: { get(k: string): Promise<Record<string, { languageModel?: unknown }>> };
            };
          };
        }
      ).chrome.storage.local.get('tabpool.settings'),
    );
    expect(stored['tabpool.settings']?.languageModel).toEqual({
      repo: 'me/tiny-stories',
      revision: 'main',
      files: [
        'config.json',
        'model.safetensors',
        'tokenizer.json',
        'tokenizer_config.json',
        'generation_config.json',
      ],
    });
  });
});

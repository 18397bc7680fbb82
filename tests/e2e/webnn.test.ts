/**
 * WebNN in a real Chromium (`--enable-features=WebMachineLearningNeuralNetwork`): the page
 * asks for a context through the HAL (webnn-probe.ts, bundled here with rolldown and served
 * from 127.0.0.1, a secure context). Where the browser can create one, the mapped ops'
 * conformance cases run on it against the CPU reference; where it cannot (this machine's
 * Chromium: navigator.ml is there, createContext fails), that test is skipped and says
 * "did not run: <the browser's error>", and the fallback itself is checked: the HAL keeps the
 * browser's error and runs on its other backends.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { build } from 'rolldown';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChromium } from '../../tools/chromium.mjs';
import type { ProbeResult } from './webnn-probe';

let browser: Browser;
let server: Server;
let result: ProbeResult;

beforeAll(async () => {
  const bundle = await build({
    input: resolve(import.meta.dirname, 'webnn-probe.ts'),
    platform: 'browser',
    logLevel: 'warn',
    write: false,
    output: { format: 'esm' },
  });
  const code = bundle.output[0].code;
  server = createServer((req, res) => {
    if (req.url === '/probe.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(code);
    } else {
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<!doctype html><script type="module" src="/probe.js"></script>');
    }
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const executablePath = findChromium();
  if (!executablePath) throw new Error('No Chromium found (tools/chromium.mjs)');
  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--enable-features=WebMachineLearningNeuralNetwork'],
  });
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  await page.waitForFunction(() => 'webnnProbe' in globalThis);
  result = await page.evaluate(() =>
    (globalThis as unknown as { webnnProbe: () => Promise<ProbeResult> }).webnnProbe(),
  );
});

afterAll(async () => {
  await browser?.close();
  server?.close();
});

describe('WebNN in Chromium', () => {
  it('exposes navigator.ml and MLGraphBuilder with the feature flag', () => {
    expect(result.hasMl).toBe(true);
    expect(result.hasBuilder).toBe(true);
  });

  it('falls back with the browser’s reason when createContext fails, else puts WebNN first', () => {
    if (result.browserError) {
      expect(result.backends).not.toContain('webnn');
      expect(result.webnnError).toBe(`createContext failed: ${result.browserError}`);
    } else {
      expect(result.backends[0]).toBe('webnn');
      expect(result.webnnError).toBeNull();
    }
  });

  it('runs the mapped ops on a real WebNN context within the conformance tolerances', (ctx) => {
    if (result.browserError) {
      console.warn(`webnn: did not run: ${result.browserError}`);
      ctx.skip(`did not run: ${result.browserError}`);
    }
    expect(result.cases.length).toBeGreaterThan(50);
    expect(result.cases.filter((c) => c.mismatch)).toEqual([]);
  });
});

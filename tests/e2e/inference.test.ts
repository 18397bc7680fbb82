/**
 * Models running for pages, in Chromium with the built extension: a page loads small
 * random-weight models (a byte-level GPT-2 and a BERT classifier, served by a Hugging Face-shaped
 * server on 127.0.0.1) and uses them through the SDK only — generate (streamed), embed,
 * classify, run, the LanguageModel surface — on the hosts' model Workers. Every answer is checked
 * against the same model run in Node; cancellation, bad models and revoked access are typed.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHubServer, type TestHubServer } from '../../storage/test-hub-server';
import { type Harness, openSdkPageWithModels, startHarness, writeSettings } from './harness';
import { MODEL_FILES, quiet, reference, serveTinyModels } from './tiny-models';

type Progress = { bytes: number; totalBytes: number };
type Sdk = {
  connect(): Promise<Client>;
  createLanguageModel(
    c: Client,
    s: unknown,
  ): {
    availability(): Promise<string>;
    create(o: unknown): Promise<{
      prompt(s: string): Promise<string>;
      promptStreaming(s: string): ReadableStream<string>;
      destroy(): void;
    }>;
  };
};
type Client = {
  call(op: string, p?: unknown): Promise<unknown>;
  models: {
    load(
      p: unknown,
      o?: { onProgress?: (p: Progress) => void },
    ): Promise<{ model: { id: string; state: string } }>;
  };
  generate(
    m: string,
    p: string,
    o?: unknown,
  ): AsyncGenerator<string, { text: string; tokens: number; finishReason: string }>;
  embed(m: string, t: string[]): Promise<Float32Array[]>;
  classify(m: string, t: string[], o?: unknown): Promise<{ label: string; score: number }[][]>;
  run(
    m: string,
    i: unknown,
    o?: unknown,
  ): Promise<Record<string, { data: Float32Array; shape: number[] }>>;
};
type W = { sdk: Sdk; client: Client };

let h: Harness;
let hub: TestHubServer;
let page: Page;
const FILES = MODEL_FILES;

beforeAll(async () => {
  hub = await startTestHubServer();
  serveTinyModels(hub);
  h = await startHarness();
  await writeSettings(h, {
    modelBaseUrl: hub.baseUrl,
    languageModel: { repo: 'test/tiny-llama', revision: 'main', files: FILES },
  });
  page = await openSdkPageWithModels(h, { 'test/tiny-gpt2': FILES, 'test/tiny-bert': FILES });
}, 180_000);

afterAll(async () => {
  await h?.close();
  await hub?.close();
});

const generateInPage = (model: string, prompt: string, options: Record<string, unknown>) =>
  page.evaluate(
    async ([model, prompt, options]) => {
      const pieces: string[] = [];
      const t0 = performance.now();
      const gen = (window as unknown as W).client.generate(model, prompt, options);
      let r = await gen.next();
      while (!r.done) {
        pieces.push(r.value);
        r = await gen.next();
      }
      return { pieces, result: r.value, ms: performance.now() - t0 };
    },
    [model, prompt, options] as const,
  );

describe('models serving pages', () => {
  it('generates the text the model gives in Node, streamed piece by piece', async () => {
    const options = { maxTokens: 24, temperature: 0.9, topK: 50, seed: 5 };
    const { pieces, result, ms } = await generateInPage(
      'test/tiny-gpt2',
      'Hello, tabpool',
      options,
    );
    console.info(
      `chromium: 24-token generation ${ms.toFixed(0)} ms (model in the host's Worker, CPU)`,
    );
    const want = await reference.generate(
      {
        model: 'test/tiny-gpt2',
        prompt: 'Hello, tabpool',
        maxTokens: 24,
        temperature: 0.9,
        topK: 50,
        topP: 1,
        seed: 5,
        stop: [],
        addSpecialTokens: true,
      },
      quiet,
    );
    expect(result).toEqual(want);
    expect(pieces.join('')).toBe(want.text);
    expect(pieces.length).toBeGreaterThan(1);
  });

  it('embeds and classifies as the model does in Node', async () => {
    const texts = ['a short one', 'and another, longer text'];
    const got = await page.evaluate(async (texts) => {
      const { client } = window as unknown as W;
      const e = await client.embed('test/tiny-bert', texts);
      return {
        embeddings: e.map((v) => [...v]),
        labels: await client.classify('test/tiny-bert', texts, { topK: 2 }),
      };
    }, texts);
    const want = await reference.embed(
      { model: 'test/tiny-bert', texts, pooling: 'mean', normalize: true },
      quiet,
    );
    const flat = new Float32Array(want.embeddings.data);
    for (const [i, x] of got.embeddings.flat().entries())
      expect(x).toBeCloseTo(flat[i] as number, 4);
    const classes = await reference.classify({ model: 'test/tiny-bert', texts, topK: 2 }, quiet);
    expect(got.labels.map((r) => r.map((x) => x.label))).toEqual(
      classes.results.map((r) => r.map((x) => x.label)),
    );
  });

  it('runs named int32 inputs and returns logits', async () => {
    const out = await page.evaluate(async () => {
      const r = await (window as unknown as W).client.run('test/tiny-gpt2', {
        input_ids: { data: Int32Array.of(72, 105, 33), shape: [1, 3] },
      });
      return { shape: r.logits?.shape, first: r.logits ? [...r.logits.data.slice(0, 4)] : [] };
    });
    expect(out.shape).toEqual([1, 3, 260]);
    const ids = Int32Array.of(72, 105, 33);
    const want = await reference.run(
      {
        model: 'test/tiny-gpt2',
        inputs: { input_ids: { dtype: 'int32', shape: [1, 3], data: ids.buffer } },
      },
      quiet,
    );
    const logits = new Float32Array((want.outputs.logits as { data: ArrayBuffer }).data);
    for (const [i, x] of out.first.entries()) expect(x).toBeCloseTo(logits[i] as number, 4);
  });

  it('cancels a generation when the page breaks out of the loop, and keeps serving', async () => {
    const r = await page.evaluate(async () => {
      const { client } = window as unknown as W;
      const controller = new AbortController();
      const pieces: string[] = [];
      let code = '';
      try {
        for await (const piece of client.generate('test/tiny-gpt2', 'x', {
          maxTokens: 100,
          temperature: 1,
          signal: controller.signal,
        })) {
          pieces.push(piece);
          if (pieces.length === 3) controller.abort();
        }
      } catch (e) {
        code = (e as { code: string }).code;
      }
      let n = 0;
      for await (const _ of client.generate('test/tiny-gpt2', 'y', { maxTokens: 4 })) {
        n++;
        break; // leaving the loop cancels too
      }
      const after = await client.embed('test/tiny-bert', ['still here']);
      return { code, pieces: pieces.length, n, dims: after[0]?.length };
    });
    expect(r).toEqual({ code: 'ABORTED', pieces: 3, n: 1, dims: 32 });
  });

  it('speaks the LanguageModel surface: availability, download progress, prompt, streaming', async () => {
    const r = await page.evaluate(async (files) => {
      const { sdk, client } = window as unknown as W;
      const LanguageModel = sdk.createLanguageModel(client, { repo: 'test/tiny-llama', files });
      const before = await LanguageModel.availability();
      const progress: number[] = [];
      const session = await LanguageModel.create({
        temperature: 0.7,
        topK: 20,
        maxTokens: 12,
        seed: 1,
        monitor: (m: EventTarget) =>
          m.addEventListener('downloadprogress', (e) =>
            progress.push((e as unknown as { loaded: number }).loaded),
          ),
      });
      const after = await LanguageModel.availability();
      const answer = await session.prompt('Say something');
      const chunks: string[] = [];
      const reader = session.promptStreaming('And more').getReader();
      for (let c = await reader.read(); !c.done; c = await reader.read()) chunks.push(c.value);
      session.destroy();
      let destroyed = '';
      await session.prompt('again').catch((e: { code: string }) => {
        destroyed = e.code;
      });
      return { before, after, progress, answer, chunks: chunks.length, destroyed };
    }, FILES);
    expect(r.before).toBe('downloadable');
    expect(r.after).toBe('available');
    expect(r.progress.at(-1)).toBe(1);
    expect(r.progress.length).toBeGreaterThan(1);
    expect(typeof r.answer).toBe('string');
    expect(r.chunks).toBeGreaterThan(0);
    expect(r.destroyed).toBe('ABORTED');
  });

  it('serves the README sample page, which uses only the SDK', async () => {
    const sample = await h.openPage(
      '/generate.html?model=test/tiny-gpt2&classifier=test/tiny-bert&prompt=Hello&seed=2',
    );
    await sample.waitForSelector('body[data-done]', { timeout: 60_000 });
    const report = JSON.parse((await sample.textContent('#report')) ?? '{}');
    const want = await reference.generate(
      {
        model: 'test/tiny-gpt2',
        prompt: 'Hello',
        maxTokens: 24,
        temperature: 0.8,
        topK: 0,
        topP: 1,
        seed: 2,
        stop: [],
        addSpecialTokens: true,
      },
      quiet,
    );
    expect(report.generate).toMatchObject({ text: want.text, tokens: want.tokens });
    expect(await sample.textContent('#out')).toBe(want.text);
    expect(report).toMatchObject({ embedDims: 32, availability: 'available' });
    expect(report.best.label).toMatch(/^LABEL_[012]$/);
    expect(typeof report.prompt).toBe('string');
    await sample.screenshot({ path: 'test-artifacts/sample-generate.png' });
    await sample.close();
  });

  it("gives a page written for Chrome's built-in AI a working LanguageModel global", async () => {
    const ai = await h.context.newPage();
    await ai.goto(`${h.origin}/chrome-ai.html`);
    await ai.waitForFunction(() => 'LanguageModel' in window);
    await ai.click('#ask');
    await ai.waitForSelector('body[data-done]', { timeout: 60_000 });
    const text = (await ai.textContent('#report')) ?? '';
    const report = JSON.parse(text.startsWith('{') ? text : JSON.stringify({ error: text }));
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ after: 'available' });
    expect(['downloadable', 'available']).toContain(report.availability);
    expect(report.progress.at(-1)).toBe(1);
    expect(typeof report.answer).toBe('string');
    expect(report.chunks).toBeGreaterThan(0);
    await ai.close();
  });

  it('runs the models on WebGPU inside the extension, matching the CPU in Node', async () => {
    // The hosts' model Workers switch to the adapter (SwiftShader here) when the setting asks.
    const popup = await h.openPopup();
    await popup.evaluate(
      ({ baseUrl, FILES }) =>
        (
          globalThis as unknown as {
            chrome: { storage: { local: { set(i: unknown): Promise<void> } } };
          }
        ).chrome.storage.local.set({
          'tabpool.settings': {
            modelBaseUrl: baseUrl,
            preferredBackend: 'webgpu',
            languageModel: { repo: 'test/tiny-llama', revision: 'main', files: FILES },
          },
        }),
      { baseUrl: hub.baseUrl, FILES },
    );
    await popup.close();
    const ids = Int32Array.of(72, 101, 108, 108, 111, 44, 32, 119);
    for (const model of ['test/tiny-gpt2', 'test/tiny-bert', 'test/tiny-llama']) {
      if (model === 'test/tiny-llama') {
        await page.evaluate(
          ([files]) =>
            (window as unknown as W).client.models.load({ repo: 'test/tiny-llama', files }),
          [FILES] as const,
        );
      }
      let got: { backend: string; logits: number[]; shape: number[] } | null = null;
      for (let attempt = 0; attempt < 50; attempt++) {
        got = await page.evaluate(
          async ([model, ids]) => {
            const r = (await (window as unknown as W).client.call('run', {
              model,
              inputs: {
                input_ids: {
                  dtype: 'int32',
                  shape: [1, ids.length],
                  data: Int32Array.from(ids).buffer,
                },
              },
              outputs: ['last_hidden_state'],
            })) as {
              backend: string;
              outputs: { last_hidden_state: { data: ArrayBuffer; shape: number[] } };
            };
            const t = r.outputs.last_hidden_state;
            return { backend: r.backend, logits: [...new Float32Array(t.data)], shape: t.shape };
          },
          [model, [...ids]] as const,
        );
        if (got.backend === 'webgpu') break;
        await new Promise((r) => setTimeout(r, 200)); // the setting reaches the hosts
      }
      expect(got?.backend, model).toBe('webgpu');
      const want = await reference.run(
        {
          model,
          inputs: {
            input_ids: { dtype: 'int32', shape: [1, ids.length], data: ids.slice().buffer },
          },
          outputs: ['last_hidden_state'],
        },
        quiet,
      );
      const ref = new Float32Array((want.outputs.last_hidden_state as { data: ArrayBuffer }).data);
      const err = (got?.logits ?? []).reduce(
        (m, x, i) => Math.max(m, Math.abs(x - (ref[i] as number))),
        0,
      );
      expect(got?.shape).toEqual(want.outputs.last_hidden_state?.shape);
      expect(err, `${model} last_hidden_state on WebGPU in the extension`).toBeLessThan(1e-4);
    }
  });

  it('answers bad model requests with typed errors', async () => {
    const codes = await page.evaluate(async () => {
      const { client } = window as unknown as W;
      const code = (p: Promise<unknown>) =>
        p.then(
          () => 'ok',
          (e: { code: string }) => e.code,
        );
      return {
        unknown: await code(client.embed('test/nothing', ['x'])),
        badRef: await code(client.call('generate', { model: '../../etc', prompt: 'x' })),
        noHead: await code(client.classify('test/tiny-gpt2', ['x'])),
        tooLong: await code(
          client.call('generate', { model: 'test/tiny-gpt2', prompt: 'z'.repeat(500) }),
        ),
        wrongDtype: await code(
          client.call('run', {
            model: 'test/tiny-gpt2',
            inputs: { input_ids: { dtype: 'float32', shape: [1, 1], data: new ArrayBuffer(4) } },
          }),
        ),
      };
    });
    expect(codes).toEqual({
      unknown: 'NOT_FOUND',
      badRef: 'INVALID_PARAMS',
      noHead: 'INVALID_PARAMS',
      tooLong: 'INVALID_PARAMS',
      wrongDtype: 'INVALID_PARAMS',
    });
  });
});

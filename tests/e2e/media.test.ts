/**
 * Whisper and CLIP serving pages, in Chromium with the built extension: a page loads the PyTorch
 * fixtures (tests/fixtures/models/whisper and clip, served by a Hugging Face-shaped server on
 * 127.0.0.1) and uses them through the SDK only — `transcribe` (tokens streamed) must give
 * transformers' generated ids, zero-shot `classify` the softmax of the reference logits_per_image.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSafetensorsHeader, readFloat32, readInt32 } from '../../core/models/safetensors';
import { startTestHubServer, type TestHubServer } from '../../storage/test-hub-server';
import { type Harness, openSdkPageWithModels, startHarness, writeSettings } from './harness';

const FIXTURES = resolve(import.meta.dirname, '../fixtures/models');
const FILES: Record<string, string[]> = {
  whisper: [
    'config.json',
    'generation_config.json',
    'model.safetensors',
    'preprocessor_config.json',
    'tokenizer.json',
    'tokenizer_config.json',
  ],
  clip: ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'],
};

function tensors(model: string, file: string) {
  const bytes = new Uint8Array(readFileSync(join(FIXTURES, model, file)));
  const header = parseSafetensorsHeader(bytes, { file });
  return {
    f32: (name: string) => Array.from(readFloat32(bytes, header, name)),
    i32: (name: string) => Array.from(readInt32(bytes, header, name)),
    shape: (name: string) => header.tensors.get(name)?.shape as number[],
  };
}

type Token = { id: number; text: string };
type Client = {
  call(op: string, p?: unknown): Promise<unknown>;
  models: { load(p: unknown): Promise<{ model: { state: string } }> };
  transcribe(
    m: string,
    s: Float32Array,
    o?: unknown,
  ): Promise<{ text: string; tokens: number[]; finishReason: string }>;
  classify(m: string, i: unknown, o?: unknown): Promise<{ label: string; score: number }[][]>;
  embed(m: string, i: unknown): Promise<Float32Array[]>;
};
type W = { sdk: { connect(): Promise<Client> }; client: Client };

let h: Harness;
let hub: TestHubServer;
let page: Page;

beforeAll(async () => {
  hub = await startTestHubServer();
  for (const [name, files] of Object.entries(FILES)) {
    for (const f of files) {
      const bytes = new Uint8Array(readFileSync(join(FIXTURES, name, f)));
      hub.addFile(`test/${name}`, 'main', f, bytes, f.endsWith('.safetensors'));
    }
  }
  h = await startHarness();
  await writeSettings(h, { modelBaseUrl: hub.baseUrl });
  page = await openSdkPageWithModels(
    h,
    Object.fromEntries(Object.entries(FILES).map(([name, files]) => [`test/${name}`, files])),
  );
}, 180_000);

afterAll(async () => {
  await h?.close();
  await hub?.close();
});

describe('Whisper and CLIP serving pages', () => {
  it("transcribes the fixture's audio to transformers' generated ids, token by token", async () => {
    const input = tensors('whisper', 'inputs.safetensors');
    const want = tensors('whisper', 'reference.safetensors').i32('generated_ids');
    const got = await page.evaluate(
      async ([samples, maxTokens]) => {
        const tokens: Token[] = [];
        const r = await (window as unknown as W).client.transcribe(
          'test/whisper',
          Float32Array.from(samples),
          { maxTokens, onToken: (t: Token) => tokens.push(t) },
        );
        return { r, streamed: tokens };
      },
      [input.f32('audio'), want.length] as const,
    );
    expect(got.r.tokens).toEqual(want);
    expect(got.streamed.map((t) => t.id)).toEqual(want);
    expect(got.streamed.map((t) => t.text).join('')).toBe(got.r.text);
  });

  it('refuses audio over 30 s with PAYLOAD_TOO_LARGE before any work', async () => {
    const code = await page.evaluate(async () => {
      try {
        await (window as unknown as W).client.transcribe(
          'test/whisper',
          new Float32Array(30 * 16_000 + 1),
        );
        return 'resolved';
      } catch (e) {
        return (e as { code?: string }).code;
      }
    });
    expect(code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('ranks labels per image by the softmax of logits_per_image; embeds images as image_embeds', async () => {
    const input = tensors('clip', 'inputs.safetensors');
    const logits = tensors('clip', 'reference.safetensors').f32('logits_per_image');
    const labels = ['a photo of a cat', 'Hello world, the pool keeps running when tabs die.'];
    const { results, embeds } = await page.evaluate(
      async ([data, shape, labels]) => {
        const { client } = window as unknown as W;
        const pixels = { data: Float32Array.from(data), shape };
        return {
          results: await client.classify('test/clip', pixels, { labels }),
          embeds: (await client.embed('test/clip', pixels)).map((e) => [...e]),
        };
      },
      [input.f32('pixel_values'), input.shape('pixel_values'), labels] as const,
    );
    const wantEmbeds = tensors('clip', 'reference.safetensors').f32('image_embeds');
    for (const [i, x] of embeds.flat().entries()) expect(x).toBeCloseTo(wantEmbeds[i] as number, 4);
    expect(results).toHaveLength(3);
    for (const [r, ranked] of results.entries()) {
      const row = [logits[r * 2] as number, logits[r * 2 + 1] as number];
      const max = Math.max(...row);
      const sum = row.reduce((a, x) => a + Math.exp(x - max), 0);
      for (const { label, score } of ranked) {
        const i = labels.indexOf(label);
        expect(score).toBeCloseTo(Math.exp((row[i] as number) - max) / sum, 4);
      }
    }
  });
});

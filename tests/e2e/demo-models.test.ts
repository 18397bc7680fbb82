/**
 * The demo's trained models (tools/train/) through tabpool, in Chromium with the built extension:
 * a page downloads them from a Hugging Face-shaped server on 127.0.0.1 and, through the SDK only,
 * classifies the whole held-out MNIST split (1,500 digits the ViT never saw in training) and
 * generates and embeds with the KJV GPT-2. PyTorch's answers on the same files are in each
 * model's eval.json (written by the training scripts): the accuracy must agree within 0.1 point
 * and every prediction, greedy text and similarity must be the same.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHubServer, type TestHubServer } from '../../storage/test-hub-server';
import { addDemoModels, DEMO_MODELS, DEMO_MODELS_DIR } from '../../tools/demo-models.mjs';
import { type Harness, openSdkPageWithModels, startHarness, writeSettings } from './harness';

type Tensor = { data: Float32Array; shape: number[] };
type Client = {
  call(op: string, p?: unknown): Promise<unknown>;
  models: { load(p: unknown): Promise<{ model: { state: string } }> };
  classify(m: string, input: Tensor, o?: unknown): Promise<{ label: string; score: number }[][]>;
  generate(m: string, p: string, o?: unknown): AsyncGenerator<string, { text: string }>;
  embed(m: string, t: string[]): Promise<Float32Array[]>;
};
type W = { sdk: { connect(): Promise<Client> }; client: Client };

const VIT = 'tabpool-demo/mnist-vit';
const GPT = 'tabpool-demo/kjv-gpt2';
const evalOf = (dir: string) =>
  JSON.parse(readFileSync(join(DEMO_MODELS_DIR, dir, 'eval.json'), 'utf8'));
const vitEval = evalOf('mnist-vit') as { test_accuracy: number; predictions: number[] };
const gptEval = evalOf('kjv-gpt2') as {
  greedy: { prompt: string; text: string }[];
  similarity: { sentences: string[]; cosine: number[][] };
};

/** The held-out split: images U8 [n, 28, 28] and labels U8 [n] from its safetensors file. */
function heldOut(): { images: Uint8Array; labels: Uint8Array; count: number } {
  const bytes = new Uint8Array(readFileSync(join(DEMO_MODELS_DIR, 'mnist-test.safetensors')));
  const headerBytes = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerBytes)));
  const at = (name: string) => {
    const [begin, end] = header[name].data_offsets as [number, number];
    return bytes.subarray(8 + headerBytes + begin, 8 + headerBytes + end);
  };
  return { images: at('images'), labels: at('labels'), count: header.labels.shape[0] };
}

let h: Harness;
let hub: TestHubServer;
let page: Page;

beforeAll(async () => {
  hub = await startTestHubServer();
  addDemoModels(hub);
  h = await startHarness();
  await writeSettings(h, { modelBaseUrl: hub.baseUrl });
  page = await openSdkPageWithModels(
    h,
    Object.fromEntries(Object.entries(DEMO_MODELS).map(([repo, { files }]) => [repo, files])),
  );
}, 180_000);

afterAll(async () => {
  await h?.close();
  await hub?.close();
});

describe('trained demo models through tabpool', () => {
  it('classifies the held-out digits as PyTorch does: same accuracy, same predictions', async () => {
    const { images, labels, count } = heldOut();
    expect(vitEval.predictions).toHaveLength(count);
    const started = Date.now();
    const got = await page.evaluate(
      async ([model, base64, count]) => {
        const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
        const { client } = window as unknown as W;
        const predictions: number[] = [];
        const batch = 100;
        const classifyFrom = async (i: number) => {
          const n = Math.min(batch, count - i);
          // The preprocessing the model was trained with: pixel = byte / 255, one channel.
          const data = Float32Array.from(bytes.subarray(i * 784, (i + n) * 784), (b) => b / 255);
          const results = await client.classify(
            model,
            { data, shape: [n, 1, 28, 28] },
            { topK: 1, deadlineMs: 120_000 },
          );
          results.forEach(([best], r) => {
            predictions[i + r] = Number(best?.label);
          });
        };
        // Two requests in flight, so both hosts of the pool can work.
        let next = 0;
        const worker = async () => {
          while (next < count) {
            const i = next;
            next += batch;
            await classifyFrom(i);
          }
        };
        await Promise.all([worker(), worker()]);
        return predictions;
      },
      [VIT, Buffer.from(images).toString('base64'), count] as const,
    );
    const ms = Date.now() - started;
    const { hosts } = (await page.evaluate(() =>
      (window as unknown as W).client.call('status'),
    )) as { hosts: { kind: string; backend: string; served: number }[] };
    const where = hosts.map((x) => `${x.kind} ${x.backend} served ${x.served}`).join(', ');
    const correct = got.filter((p, i) => p === labels[i]).length;
    const accuracy = correct / count;
    const differ = got.filter((p, i) => p !== vitEval.predictions[i]).length;
    console.log(
      `held-out MNIST (${count} digits): PyTorch ${(vitEval.test_accuracy * 100).toFixed(2)}%, ` +
        `tabpool in Chromium ${(accuracy * 100).toFixed(2)}% (${correct}/${count}); ` +
        `${differ} predictions differ; ${ms} ms for ${count / 100} classify calls of 100 (hosts: ${where})`,
    );
    expect(Math.abs(accuracy - vitEval.test_accuracy)).toBeLessThanOrEqual(0.001);
    expect(got).toEqual(vitEval.predictions);
  }, 300_000);

  it("generates PyTorch's greedy text, streamed", async () => {
    for (const { prompt, text } of gptEval.greedy) {
      const pieces = await page.evaluate(
        async ([model, prompt]) => {
          const out: string[] = [];
          const { client } = window as unknown as W;
          for await (const piece of client.generate(model, prompt, { maxTokens: 40 })) {
            out.push(piece);
          }
          return out;
        },
        [GPT, prompt] as const,
      );
      expect(pieces.length).toBeGreaterThan(10);
      expect(pieces.join('')).toBe(text);
    }
  });

  it("embeds sentences with PyTorch's similarities", async () => {
    const { sentences, cosine } = gptEval.similarity;
    const vectors = await page.evaluate(
      async ([model, sentences]) =>
        (await (window as unknown as W).client.embed(model, sentences)).map((v) => [...v]),
      [GPT, sentences] as const,
    );
    for (const [i, a] of vectors.entries()) {
      for (const [j, b] of vectors.entries()) {
        const dot = a.reduce((s, x, k) => s + x * (b[k] as number), 0);
        expect(Math.abs(dot - (cosine[i]?.[j] as number))).toBeLessThan(1e-4);
      }
    }
  });
});

// The demo's trained models (tools/train/, committed under tools/demo/models/) as a Hugging
// Face-shaped hub on 127.0.0.1, so the extension downloads them the way it downloads any model.
// Used by `npm run demo` and by the e2e test that checks their accuracy through tabpool.
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DIGITS, TEXT } from './demo/models.js';

const root = resolve(import.meta.dirname, '..');
export const DEMO_MODELS_DIR = resolve(root, 'tools/demo/models');

/** Repo → folder and the files a page asks tabpool to load (eval.json is PyTorch's answers). */
export const DEMO_MODELS = Object.fromEntries(
  [DIGITS, TEXT].map(({ repo, dir, files }) => [repo, { dir, files }]),
);

/**
 * Puts every demo model on `hub` under revision `main`.
 * @param {{ addFile(repo: string, revision: string, path: string, bytes: Uint8Array, lfs?: boolean): void }} hub
 */
export function addDemoModels(hub) {
  for (const [repo, { dir, files }] of Object.entries(DEMO_MODELS)) {
    for (const name of files) {
      const bytes = new Uint8Array(readFileSync(join(DEMO_MODELS_DIR, dir, name)));
      hub.addFile(repo, 'main', name, bytes, name.endsWith('.safetensors'));
    }
  }
}

/**
 * Starts storage/test-hub-server.ts (bundled for plain Node with rolldown, as tools/infer.mjs
 * does) with the demo models on it.
 * @returns {Promise<{ baseUrl: string, close: () => Promise<void> }>}
 */
export async function serveDemoModels() {
  const { build } = await import('rolldown');
  const out = resolve(root, 'node_modules/.cache/tabpool/test-hub-server.mjs');
  await mkdir(dirname(out), { recursive: true });
  await build({
    input: resolve(root, 'storage/test-hub-server.ts'),
    platform: 'node',
    logLevel: 'warn',
    output: { file: out, format: 'esm' },
  });
  const { startTestHubServer } = await import(pathToFileURL(out).href);
  const hub = await startTestHubServer();
  addDemoModels(hub);
  return hub;
}

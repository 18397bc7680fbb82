#!/usr/bin/env node
// npm run infer -- <model-dir> --inputs <in.safetensors> --out <out.safetensors> [--backend cpu|webgpu] [--generate N]
// Bundles core/models/cli/infer.ts with rolldown (webgpu left external) and runs it.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'rolldown';

const root = resolve(import.meta.dirname, '..');
const out = resolve(root, 'node_modules/.cache/tabpool/infer.mjs');
mkdirSync(dirname(out), { recursive: true });
await build({
  input: resolve(root, 'core/models/cli/infer.ts'),
  platform: 'node',
  external: ['webgpu'],
  logLevel: 'warn',
  output: { file: out, format: 'esm' },
});
process.argv[1] = out;
await import(pathToFileURL(out).href);

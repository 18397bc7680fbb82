#!/usr/bin/env node
// npm run bench:cpu [-- --quick]: bundles cpu-bench.ts with rolldown and runs it in Node.
// onnxruntime-web stays external (loaded from node_modules by the peer at run time).
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'rolldown';

const root = resolve(import.meta.dirname, '../..');
const out = resolve(root, 'node_modules/.cache/tabpool/bench-cpu.mjs');
mkdirSync(dirname(out), { recursive: true });
await build({
  input: resolve(import.meta.dirname, 'cpu-bench.ts'),
  platform: 'node',
  external: ['onnxruntime-web'],
  logLevel: 'warn',
  output: { file: out, format: 'esm' },
});
await import(pathToFileURL(out).href);

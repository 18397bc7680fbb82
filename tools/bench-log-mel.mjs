#!/usr/bin/env node
// npm run bench:log-mel — Whisper's log-mel front end: our FFT beside a DFT-as-matmul peer.
// Bundles core/models/bench/bench-log-mel.ts with rolldown and runs it.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'rolldown';

const root = resolve(import.meta.dirname, '..');
const out = resolve(root, 'node_modules/.cache/tabpool/bench-log-mel.mjs');
mkdirSync(dirname(out), { recursive: true });
await build({
  input: resolve(root, 'core/models/bench/bench-log-mel.ts'),
  platform: 'node',
  external: ['webgpu'],
  logLevel: 'warn',
  output: { file: out, format: 'esm' },
});
await import(pathToFileURL(out).href);

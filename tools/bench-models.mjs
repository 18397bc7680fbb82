#!/usr/bin/env node
// npm run bench:models [-- --full] [-- --bundle-only --out .gpu/bench-models.mjs]
// Bundles core/models/bench/bench-models.ts (webgpu left external) with rolldown and runs it.
// On the GPU machine: `source .gpu/gpu-env.sh && python3 core/models/bench/torch-models.py > /tmp/base.json
//   && TABPOOL_BENCH_BASELINE=/tmp/base.json node .gpu/bench-models.mjs --full`.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'rolldown';

const root = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const outIndex = args.indexOf('--out');
const out = resolve(
  root,
  outIndex >= 0 ? args[outIndex + 1] : 'node_modules/.cache/tabpool/bench-models.mjs',
);
mkdirSync(dirname(out), { recursive: true });
await build({
  input: resolve(root, 'core/models/bench/bench-models.ts'),
  platform: 'node',
  external: ['webgpu'],
  logLevel: 'warn',
  output: { file: out, format: 'esm' },
});
if (args.includes('--bundle-only')) console.log(`bundled ${out}`);
else await import(pathToFileURL(out).href);

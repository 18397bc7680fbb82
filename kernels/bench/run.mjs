#!/usr/bin/env node
// npm run bench:kernels [-- --full] [-- --bundle-only --out .gpu/bench.mjs]
// Bundles kernels/bench/bench-kernels.ts (webgpu left external) with rolldown, Vite's bundler,
// then runs it (`--conformance`: the conformance cases instead, outside vitest; `--quant`: the
// quantized-kernel benchmark alone). `--bundle-only --out .gpu/bench.mjs` prepares the H100 run described in
// ../shared/gpu/README.md: there, `source .gpu/gpu-env.sh && node .gpu/bench.mjs --full`.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'rolldown';

const root = resolve(import.meta.dirname, '../..');
const args = process.argv.slice(2);
const outIndex = args.indexOf('--out');
const out = resolve(
  root,
  outIndex >= 0 ? args[outIndex + 1] : 'node_modules/.cache/tabpool/bench-kernels.mjs',
);
mkdirSync(dirname(out), { recursive: true });
const entry = args.includes('--conformance')
  ? 'conformance-report.ts'
  : args.includes('--quant')
    ? 'quant-main.ts'
    : 'bench-kernels.ts';
await build({
  input: resolve(import.meta.dirname, entry),
  platform: 'node',
  external: ['webgpu'],
  logLevel: 'warn',
  output: { file: out, format: 'esm' },
});
if (args.includes('--bundle-only')) {
  console.log(`bundled ${out}`);
} else {
  await import(pathToFileURL(out).href);
}

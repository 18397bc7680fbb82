/**
 * ONNX Runtime Web's WebGPU execution provider in Node on Dawn, for the model benchmark: the
 * encoder exported by torch-compare.py, on the same weights as ours. Runs in a child process of
 * bench-compare.ts so its device and wasm heap stay apart from ours, and writes a JSON result
 * (with `error` instead of numbers when ORT fails, so the benchmark still reports the rest).
 *
 * Two things make ORT Web run here: `navigator.gpu` (Dawn's GPU object), and a
 * `GPUQueue.writeBuffer` that never hands Dawn memory on a SharedArrayBuffer (ORT's wasm heap):
 * Dawn's Node binding crashes (SIGSEGV) on one. Note `SharedArrayBuffer.prototype.slice` returns
 * another SharedArrayBuffer, so the copy must go through a fresh ArrayBuffer.
 *
 * Builds: `jsep` is ort.mjs (the JavaScript WebGPU EP, ort-wasm-simd-threaded.jsep.wasm);
 * `webgpu` is ort.webgpu.mjs, which in 1.30 is the C++ WebGPU EP
 * (ort-wasm-simd-threaded.asyncify.wasm).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { nodeGpu } from '../../../kernels/testing/node-gpu';

export const ORT_BUILDS = ['jsep', 'webgpu'] as const;
export type OrtBuild = (typeof ORT_BUILDS)[number];

const FILES: Record<OrtBuild, { module: string; wasm: string; glue: string }> = {
  jsep: {
    module: 'ort.mjs',
    wasm: 'ort-wasm-simd-threaded.jsep.wasm',
    glue: 'ort-wasm-simd-threaded.jsep.mjs',
  },
  webgpu: {
    module: 'ort.webgpu.mjs',
    wasm: 'ort-wasm-simd-threaded.asyncify.wasm',
    glue: 'ort-wasm-simd-threaded.asyncify.mjs',
  },
};

/** The parts of onnxruntime-web's API used here (the module is loaded from a path at run time). */
interface OrtTensor {
  readonly dims: readonly number[];
  getData(): Promise<Float32Array>;
  dispose(): void;
}
interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface OrtModule {
  env: {
    logLevel?: string;
    wasm: { wasmPaths?: string; numThreads?: number; proxy?: boolean };
    versions?: Record<string, string>;
  };
  Tensor: new (type: 'int64', data: BigInt64Array, dims: number[]) => OrtTensor;
  InferenceSession: {
    create(model: Uint8Array, options: Record<string, unknown>): Promise<OrtSession>;
  };
}

export interface OrtOptions {
  build: OrtBuild;
  onnx: string;
  /** JSON array of token ids. */
  ids: string;
  /** Our last_hidden_state (raw f32), to compare against; optional. */
  ours: string | null;
  json: string;
  runs: number;
  /** Folder holding ORT Web's dist files (wasm possibly as .wasm.xz). */
  ortDir: string;
}

export interface OrtResult {
  build: OrtBuild;
  version?: string;
  createMs?: number;
  firstRunMs?: number;
  /** Inside the first run: the wait for its first readback (the GPU work, compiles included). */
  firstMapMs?: number;
  coldMs?: number;
  medianMs?: number;
  minMs?: number;
  runs?: number;
  maxAbsDiffVsOurs?: number;
  error?: string;
}

/** Copies any SharedArrayBuffer-backed data before Dawn sees it. */
function patchWriteBuffer(): void {
  const proto = (globalThis as unknown as { GPUQueue: { prototype: GPUQueue } }).GPUQueue.prototype;
  const original = proto.writeBuffer;
  proto.writeBuffer = function (
    this: GPUQueue,
    buffer: GPUBuffer,
    offset: number,
    data: AllowSharedBufferSource,
    dataOffset?: number,
    size?: number,
  ) {
    if (data instanceof SharedArrayBuffer) {
      const start = dataOffset ?? 0;
      const n = size ?? data.byteLength - start;
      const copy = new Uint8Array(n);
      copy.set(new Uint8Array(data, start, n));
      return original.call(this, buffer, offset, copy);
    }
    if (ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer) {
      // dataOffset and size count elements of a typed array (bytes for a DataView).
      const bpe = (data as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
      const start = data.byteOffset + (dataOffset ?? 0) * bpe;
      const n = size !== undefined ? size * bpe : data.byteLength - (dataOffset ?? 0) * bpe;
      const copy = new Uint8Array(n);
      copy.set(new Uint8Array(data.buffer, start, n));
      return original.call(this, buffer, offset, copy);
    }
    return original.call(this, buffer, offset, data as BufferSource, dataOffset, size);
  } as GPUQueue['writeBuffer'];
}

/** Times the first mapAsync (ORT's first readback): where a cold first run spends its time. */
function watchFirstMap(): { ms: number | null } {
  const seen = { ms: null as number | null };
  const proto = (globalThis as unknown as { GPUBuffer: { prototype: GPUBuffer } }).GPUBuffer
    .prototype;
  const original = proto.mapAsync;
  proto.mapAsync = function (this: GPUBuffer, ...a: Parameters<GPUBuffer['mapAsync']>) {
    const t0 = performance.now();
    const p = original.apply(this, a);
    if (seen.ms === null) {
      seen.ms = -1;
      p.then(() => {
        seen.ms = performance.now() - t0;
      });
    }
    return p;
  } as GPUBuffer['mapAsync'];
  return seen;
}

/** The wasm file, unpacked from `.xz` (as prepared for the GPU machine) when needed. */
function ensureWasm(dir: string, name: string): void {
  const path = join(dir, name);
  if (existsSync(path)) return;
  if (!existsSync(`${path}.xz`)) throw new Error(`${path} is missing`);
  writeFileSync(path, execFileSync('xz', ['-dc', `${path}.xz`], { maxBuffer: 1 << 30 }));
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

export async function runOrtChild(o: OrtOptions): Promise<void> {
  const result: OrtResult = { build: o.build };
  const write = () => writeFileSync(o.json, JSON.stringify(result));
  try {
    const files = FILES[o.build];
    if (!files) throw new Error(`Unknown ORT build ${o.build}`);
    ensureWasm(o.ortDir, files.wasm);
    const found = await nodeGpu();
    if (!found.gpu) throw new Error(`No WebGPU adapter: ${found.reason}`);
    patchWriteBuffer();
    const firstMap = watchFirstMap();
    Object.defineProperty(globalThis, 'navigator', {
      value: { gpu: found.gpu },
      configurable: true,
      writable: true,
    });
    const ort = (await import(pathToFileURL(join(o.ortDir, files.module)).href)) as OrtModule;
    ort.env.wasm.wasmPaths = pathToFileURL(`${o.ortDir}/`).href;
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    ort.env.logLevel = 'error';
    result.version = ort.env.versions?.web;
    const ids: number[] = JSON.parse(readFileSync(o.ids, 'utf8'));
    const model = new Uint8Array(readFileSync(o.onnx));
    const t0 = performance.now();
    const session = await ort.InferenceSession.create(model, {
      executionProviders: ['webgpu'],
      graphOptimizationLevel: 'all',
    });
    const t1 = performance.now();
    result.createMs = t1 - t0;
    const input = new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]);
    const name = session.outputNames.includes('last_hidden_state')
      ? 'last_hidden_state'
      : (session.outputNames[0] as string);
    const runOnce = async (): Promise<Float32Array> => {
      const out = await session.run({ [session.inputNames[0] as string]: input });
      const data = await (out[name] as OrtTensor).getData();
      for (const t of Object.values(out)) t.dispose();
      return data;
    };
    const first = await runOnce();
    const t2 = performance.now();
    result.firstRunMs = t2 - t1;
    result.coldMs = t2 - t0;
    result.firstMapMs = firstMap.ms ?? undefined;
    if (o.ours && existsSync(o.ours)) {
      const b = readFileSync(o.ours);
      const ours = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
      let diff = ours.length === first.length ? 0 : Number.POSITIVE_INFINITY;
      for (let i = 0; i < Math.min(ours.length, first.length); i++) {
        diff = Math.max(diff, Math.abs((ours[i] as number) - (first[i] as number)));
      }
      result.maxAbsDiffVsOurs = diff;
    }
    write();
    for (let i = 0; i < 3; i++) await runOnce();
    const times: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      const a = performance.now();
      await runOnce();
      times.push(performance.now() - a);
    }
    result.medianMs = median(times);
    result.minMs = Math.min(...times);
    result.runs = times.length;
    await session.release();
  } catch (e) {
    result.error = String((e as Error)?.stack ?? e).slice(0, 2000);
  }
  write();
}

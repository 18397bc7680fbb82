/**
 * The storage benchmark's browser half (`run-storage-bench.mjs` loads it into headless Chromium):
 * downloads a model from the local Hub-shaped server through the store, writes it again from
 * memory, reads it back tensor by tensor, and puts the same bytes through the Cache API and OPFS.
 * Returns MB/s per step; the driver prints the table.
 */
import Dexie from 'dexie';
import { createTabpoolDb, type TabpoolDb } from '../db';
import { downloadModel } from '../downloader';
import { createStreamHasher, sha256Hex } from '../hash';
import { deleteModel } from '../model-registry';
import { readTensorPieces, readTensors } from '../reader';

export interface StorageBenchOptions {
  hubBaseUrl: string;
  repo: string;
  file: string;
  chunkBytes: number;
  readRuns: number;
}

export interface BenchRow {
  step: string;
  bytes: number;
  ms: number;
  mbPerS: number;
}

const MB = 1e6;
const row = (step: string, bytes: number, ms: number): BenchRow => ({
  step,
  bytes,
  ms: Math.round(ms),
  mbPerS: Math.round(bytes / MB / (ms / 1000)),
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function timeReads(runs: number, read: () => Promise<number>): Promise<[number, number]> {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    bytes = await read();
    times.push(performance.now() - t0);
  }
  return [bytes, median(times)];
}

/** A fetch that serves one in-memory file as the Hub would, so a store write has no network. */
function memoryFetch(bytes: ArrayBuffer, sha256: string): typeof fetch {
  return async (_url, init) => {
    const headers = {
      'content-length': String(bytes.byteLength),
      etag: `"${sha256}"`,
      'x-linked-etag': `"${sha256}"`,
    };
    return new Response(init?.method === 'HEAD' ? null : bytes, { status: 200, headers });
  };
}

async function readStore(
  db: TabpoolDb,
  id: string,
  verify: boolean,
  window?: number,
): Promise<number> {
  let bytes = 0;
  const options = window === undefined ? { verify } : { verify, window };
  for await (const t of readTensors(db, id, options)) bytes += t.data.byteLength;
  return bytes;
}

async function readPieces(db: TabpoolDb, id: string, verify: boolean): Promise<number> {
  let bytes = 0;
  for await (const p of readTensorPieces(db, id, { verify })) bytes += p.data.byteLength;
  return bytes;
}

/** The pieces of the write and read paths alone: hashing, and raw IndexedDB Blob vs ArrayBuffer. */
async function partRows(source: ArrayBuffer, chunkBytes: number): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  for (let at = 0; at < source.byteLength; at += chunkBytes) {
    chunks.push(new Uint8Array(source, at, Math.min(chunkBytes, source.byteLength - at)));
  }
  let t0 = performance.now();
  const hasher = createStreamHasher();
  for (const c of chunks) hasher.update(c);
  hasher.hex();
  rows.push(
    row('part: SHA-256 streaming (@noble/hashes)', source.byteLength, performance.now() - t0),
  );
  t0 = performance.now();
  for (const c of chunks) await sha256Hex(c);
  rows.push(
    row('part: SHA-256 per chunk (crypto.subtle)', source.byteLength, performance.now() - t0),
  );
  for (const kind of ['Blob', 'ArrayBuffer'] as const) {
    const db = new Dexie(`tabpool-bench-raw-${kind}-${Date.now()}`);
    db.version(1).stores({ c: 'k' });
    const table = db.table('c');
    t0 = performance.now();
    for (const [k, c] of chunks.entries()) {
      const v = kind === 'Blob' ? new Blob([c]) : c.slice().buffer;
      await db.transaction('rw', table, () => table.put({ k, v }));
    }
    rows.push(
      row(`part: IndexedDB put, ${kind} values`, source.byteLength, performance.now() - t0),
    );
    t0 = performance.now();
    let bytes = 0;
    for (let k = 0; k < chunks.length; k++) {
      const { v } = await table.get(k);
      bytes += (v instanceof Blob ? await v.arrayBuffer() : (v as ArrayBuffer)).byteLength;
    }
    rows.push(row(`part: IndexedDB get, ${kind} values`, bytes, performance.now() - t0));
    db.close();
    await Dexie.delete(db.name);
  }
  return rows;
}

export async function runStorageBench(o: StorageBenchOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const db = createTabpoolDb(`tabpool-bench-${Date.now()}`);
  const url = `${o.hubBaseUrl}/${o.repo}/resolve/main/${o.file}`;

  let t0 = performance.now();
  const source = await (await fetch(url)).arrayBuffer();
  rows.push(row('fetch only (loopback, no storage)', source.byteLength, performance.now() - t0));

  t0 = performance.now();
  const model = await downloadModel({
    db,
    baseUrl: o.hubBaseUrl,
    repo: o.repo,
    files: [o.file],
    chunkBytes: o.chunkBytes,
  });
  rows.push(row('store: download + hash + write', source.byteLength, performance.now() - t0));
  const sha256 = model.files[0]?.sha256 ?? '';

  await deleteModel(db, model.id);
  t0 = performance.now();
  await downloadModel({
    db,
    baseUrl: 'http://memory',
    repo: o.repo,
    files: [o.file],
    chunkBytes: o.chunkBytes,
    fetch: memoryFetch(source, sha256),
  });
  rows.push(row('store: write from memory (+ hash)', source.byteLength, performance.now() - t0));

  const id = model.id;
  const reads: Array<[string, () => Promise<number>]> = [
    ['store: read tensors, verified', () => readStore(db, id, true)],
    ['store: read tensors, verified, no prefetch', () => readStore(db, id, true, 0)],
    ['store: read tensor pieces (no join), verified', () => readPieces(db, id, true)],
    ['store: read tensors, unverified', () => readStore(db, id, false)],
    ['store: read tensors, unverified, no prefetch', () => readStore(db, id, false, 0)],
    ['store: read tensor pieces (no join), unverified', () => readPieces(db, id, false)],
  ];
  for (const [step, read] of reads) {
    const [bytes, ms] = await timeReads(o.readRuns, read);
    rows.push(row(step, bytes, ms));
  }

  const cache = await caches.open('tabpool-bench');
  t0 = performance.now();
  await cache.put(url, new Response(source));
  rows.push(row('Cache API: write', source.byteLength, performance.now() - t0));
  const [cached, cachedMs] = await timeReads(o.readRuns, async () => {
    const res = await cache.match(url);
    return (await (res as Response).arrayBuffer()).byteLength;
  });
  rows.push(row('Cache API: read', cached, cachedMs));

  const dir = await navigator.storage.getDirectory();
  const handle = await dir.getFileHandle('tabpool-bench.bin', { create: true });
  t0 = performance.now();
  const writable = await handle.createWritable();
  await writable.write(source);
  await writable.close();
  rows.push(row('OPFS: write', source.byteLength, performance.now() - t0));
  const [opfs, opfsMs] = await timeReads(
    o.readRuns,
    async () => (await (await handle.getFile()).arrayBuffer()).byteLength,
  );
  rows.push(row('OPFS: read', opfs, opfsMs));

  rows.push(...(await partRows(source, o.chunkBytes)));

  await caches.delete('tabpool-bench');
  await dir.removeEntry('tabpool-bench.bin');
  db.close();
  await indexedDB.deleteDatabase(db.name);
  return rows;
}

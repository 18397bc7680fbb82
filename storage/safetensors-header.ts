/**
 * Reads the header of a `.safetensors` file: 8 bytes little-endian header length N, then N bytes
 * of JSON `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: {...} }`, then the
 * tensor data. Offsets in the JSON are relative to the end of the header.
 */
import { IntegrityFailedError } from './errors';

/** The format's own cap on the header (100 MB); anything larger is not a safetensors file. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsTensor {
  name: string;
  dtype: string;
  shape: number[];
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Where tensor data starts (8 + header length). */
  dataStart: number;
  /** Sorted by `begin`. */
  tensors: SafetensorsTensor[];
  metadata: Record<string, string>;
}

const fail = (why: string, detail: Record<string, unknown> = {}) =>
  new IntegrityFailedError(`Not a valid safetensors header: ${why}`, { detail });

/**
 * The byte length of the header chunk (8 + N) from the file's first 8 bytes.
 *
 * @example
 * headerEnd(first8Bytes, fileBytes) // e.g. 8 + 1234
 */
export function headerEnd(first8: Uint8Array, fileBytes: number): number {
  if (first8.byteLength < 8) throw fail('shorter than 8 bytes');
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES) || Number(n) + 8 > fileBytes) {
    throw fail('header length out of range', { headerBytes: n.toString(), fileBytes });
  }
  return 8 + Number(n);
}

const isDims = (v: unknown): v is number[] =>
  Array.isArray(v) && v.every((d) => Number.isSafeInteger(d) && d >= 0);

/**
 * Parses the header chunk (the file's first `headerEnd` bytes) and checks every tensor lies inside
 * the file without overlapping another.
 *
 * @example
 * const { tensors } = parseSafetensorsHeader(headerChunk, fileBytes);
 */
export function parseSafetensorsHeader(bytes: Uint8Array, fileBytes: number): SafetensorsHeader {
  const dataStart = headerEnd(bytes, fileBytes);
  if (bytes.byteLength < dataStart) throw fail('header cut short');
  let json: unknown;
  try {
    json = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)),
    );
  } catch (e) {
    throw new IntegrityFailedError('Not a valid safetensors header: unreadable JSON', { cause: e });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fail('not an object');
  const tensors: SafetensorsTensor[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(json)) {
    if (name === '__metadata__') {
      metadata = value as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = (value ?? {}) as Record<string, unknown>;
    if (typeof dtype !== 'string' || !isDims(shape) || !isDims(offsets) || offsets.length !== 2) {
      throw fail(`bad entry for ${name}`, { name });
    }
    const [b = 0, e = 0] = offsets;
    if (b > e || dataStart + e > fileBytes) throw fail(`${name} out of range`, { name, b, e });
    tensors.push({ name, dtype, shape, begin: dataStart + b, end: dataStart + e });
  }
  tensors.sort((x, y) => x.begin - y.begin || x.end - y.end);
  for (let i = 1; i < tensors.length; i++) {
    const prev = tensors[i - 1];
    const cur = tensors[i];
    if (prev !== undefined && cur !== undefined && cur.begin < prev.end && cur.begin !== cur.end) {
      throw fail(`${cur.name} overlaps ${prev.name}`, { name: cur.name });
    }
  }
  return { dataStart, tensors, metadata };
}

/**
 * Builds a safetensors file (used by tests and benchmarks to make models).
 *
 * @example
 * encodeSafetensors({ w: { dtype: 'F32', shape: [2], data: new Uint8Array(8) } })
 */
export function encodeSafetensors(
  tensors: Record<string, { dtype: string; shape: number[]; data: Uint8Array }>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = {
      dtype: t.dtype,
      shape: t.shape,
      data_offsets: [offset, offset + t.data.length],
    };
    offset += t.data.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of Object.values(tensors)) {
    out.set(t.data, at);
    at += t.data.length;
  }
  return out;
}

/**
 * Reads and writes `.safetensors` files: 8 bytes little-endian header length N, then N bytes of
 * UTF-8 JSON `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: {…} }`, then
 * the data section (offsets relative to its start). Pure TypeScript: runs in extension pages,
 * workers and Node. Readers convert one tensor at a time and never copy the whole file.
 *
 * Typed arrays are read and written in host byte order: little-endian on every platform a
 * browser runs on, as the format is.
 */
import { BadModelFileError, InvalidParamsError, NotFoundError } from '../protocol/errors';

export type SafetensorsDType =
  | 'F64'
  | 'F32'
  | 'F16'
  | 'BF16'
  | 'I64'
  | 'I32'
  | 'I16'
  | 'I8'
  | 'U8'
  | 'BOOL';

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Byte offsets within the data section. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  /** Where the data section starts in the file: 8 + N. */
  dataOffset: number;
  /** The file name errors report (`options.file`). */
  file: string;
}

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Readonly<Record<SafetensorsDType, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** The format's own cap on the header (100 MB, as the Rust library); larger is not safetensors. */
export const MAX_HEADER_BYTES = 100_000_000;

const isDType = (v: unknown): v is SafetensorsDType =>
  typeof v === 'string' && Object.hasOwn(DTYPE_BYTES, v);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(file: string, message: string, detail: Record<string, unknown> = {}, cause?: unknown) {
  return new BadModelFileError(`${file}: ${message}`, {
    detail: { file, ...detail },
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * The length of the header chunk (8 + N) from a file's first 8 bytes: what to read before
 * `parseSafetensorsHeader` when the file is too large to read whole.
 *
 * @example
 * const first8 = await readRange(path, 0, 8);
 * const header = parseSafetensorsHeader(await readRange(path, 0, safetensorsHeaderLength(first8)));
 */
export function safetensorsHeaderLength(
  first8: Uint8Array,
  options: { file?: string; fileSize?: number } = {},
): number {
  const file = options.file ?? 'safetensors';
  if (first8.byteLength < 8) {
    throw bad(file, `shorter than 8 bytes (${first8.byteLength}): not a safetensors file`, {
      bytes: first8.byteLength,
    });
  }
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw bad(file, `header length ${n} is over the ${MAX_HEADER_BYTES}-byte cap`, {
      headerBytes: n.toString(),
    });
  }
  const end = 8 + Number(n);
  if (options.fileSize !== undefined && end > options.fileSize) {
    throw bad(file, `header length ${n} runs past the end of the ${options.fileSize}-byte file`, {
      headerBytes: Number(n),
      fileSize: options.fileSize,
    });
  }
  return end;
}

/**
 * Validates and returns the header. `bytes` may be the first 8 + N bytes or the whole file;
 * `fileSize` bounds the tensors' offsets (when absent and `bytes` runs past the header, `bytes`
 * is taken to be the whole file). Every failure is a BAD_MODEL_FILE naming the file and tensor.
 *
 * @example
 * const header = parseSafetensorsHeader(bytes, { file: 'model.safetensors' });
 * const w = readFloat32(bytes, header, 'wte.weight');
 */
export function parseSafetensorsHeader(
  bytes: Uint8Array,
  options: { file?: string; fileSize?: number } = {},
): SafetensorsHeader {
  const file = options.file ?? 'safetensors';
  const dataOffset = safetensorsHeaderLength(bytes, options);
  if (bytes.byteLength < dataOffset) {
    throw bad(file, `header needs ${dataOffset} bytes, only ${bytes.byteLength} given`, {
      headerBytes: dataOffset - 8,
      bytes: bytes.byteLength,
    });
  }
  const fileSize =
    options.fileSize ??
    (bytes.byteLength > dataOffset ? bytes.byteLength : Number.POSITIVE_INFINITY);
  const dataBytes = fileSize - dataOffset;

  let json: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataOffset));
    json = JSON.parse(text);
  } catch (e) {
    throw bad(file, 'header is not UTF-8 JSON', {}, e);
  }
  if (!isObject(json)) throw bad(file, 'header is not a JSON object');

  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(json)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(file, value);
      continue;
    }
    const info = parseEntry(file, name, value);
    if (info.end > dataBytes) {
      throw bad(
        file,
        `tensor ${name} ends at ${info.end}, past the ${dataBytes}-byte data section`,
        { tensor: name, end: info.end, dataBytes },
      );
    }
    tensors.set(name, info);
  }
  checkOverlaps(file, tensors);
  return { tensors, metadata, dataOffset, file };
}

function parseMetadata(file: string, value: unknown): Record<string, string> {
  if (value === null) return {};
  if (!isObject(value))
    throw bad(file, '__metadata__ is not an object', { tensor: '__metadata__' });
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      throw bad(file, `__metadata__.${k} is not a string`, { tensor: '__metadata__', key: k });
    }
    out[k] = v;
  }
  return out;
}

function parseEntry(file: string, name: string, value: unknown): TensorInfo {
  if (!isObject(value)) throw bad(file, `tensor ${name} is not an object`, { tensor: name });
  const { dtype, shape, data_offsets: offsets } = value;
  if (!isDType(dtype)) {
    throw bad(file, `tensor ${name} has unknown dtype ${JSON.stringify(dtype)}`, {
      tensor: name,
      dtype: String(dtype),
    });
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw bad(file, `tensor ${name} has a shape that is not a list of non-negative integers`, {
      tensor: name,
    });
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
    offsets[0] > offsets[1]
  ) {
    throw bad(file, `tensor ${name} has data_offsets that are not [begin ≤ end]`, {
      tensor: name,
    });
  }
  const [begin, end] = offsets as [number, number];
  let elements = 1;
  for (const d of shape as number[]) elements *= d;
  const expected = elements * DTYPE_BYTES[dtype];
  if (!Number.isSafeInteger(expected) || end - begin !== expected) {
    throw bad(
      file,
      `tensor ${name} (${dtype} [${shape.join(', ')}]) needs ${expected} bytes, its offsets hold ${end - begin}`,
      { tensor: name, expectedBytes: expected, bytes: end - begin },
    );
  }
  return { name, dtype, shape: [...(shape as number[])], begin, end };
}

/** Tensors may leave holes between them but never share a byte (empty tensors share none). */
function checkOverlaps(file: string, tensors: Map<string, TensorInfo>): void {
  const sorted = [...tensors.values()]
    .filter((t) => t.end > t.begin)
    .sort((a, b) => a.begin - b.begin);
  let last: TensorInfo | undefined;
  for (const t of sorted) {
    if (last !== undefined && t.begin < last.end) {
      throw bad(file, `tensor ${t.name} overlaps tensor ${last.name}`, {
        tensor: t.name,
        other: last.name,
      });
    }
    if (last === undefined || t.end > last.end) last = t;
  }
}

/** The tensor's bytes inside `file`, checked to be there. */
function tensorBytes(
  file: Uint8Array,
  header: SafetensorsHeader,
  name: string,
): { info: TensorInfo; bytes: Uint8Array } {
  const info = header.tensors.get(name);
  if (info === undefined) {
    throw new NotFoundError(`${header.file} has no tensor ${name}`, {
      detail: { file: header.file, tensor: name },
    });
  }
  const start = header.dataOffset + info.begin;
  const end = header.dataOffset + info.end;
  if (end > file.byteLength) {
    throw bad(header.file, `tensor ${name} ends at byte ${end}, the file has ${file.byteLength}`, {
      tensor: name,
      end,
      fileSize: file.byteLength,
    });
  }
  return { info, bytes: file.subarray(start, end) };
}

/** A typed view of `bytes`: no copy when aligned on a little-endian host, else an aligned copy. */
function view<T>(
  bytes: Uint8Array,
  width: number,
  make: (buffer: ArrayBufferLike, byteOffset: number, length: number) => T,
): T {
  if (bytes.byteOffset % width === 0)
    return make(bytes.buffer, bytes.byteOffset, bytes.byteLength / width);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return make(copy.buffer, 0, bytes.byteLength / width);
}

let f16Table: Uint32Array | undefined;

/** f16 bits → f32 bits for all 65,536 halves (exact: every half is a float). */
function halfTable(): Uint32Array {
  if (f16Table) return f16Table;
  const t = new Uint32Array(65536);
  const f = new Float32Array(t.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) {
      // Zero or subnormal: mant × 2^-24, exact in f32.
      f[h] = (sign ? -1 : 1) * mant * 2 ** -24;
    } else if (exp === 31) {
      t[h] = (sign | 0x7f800000 | (mant << 13)) >>> 0;
    } else {
      t[h] = (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
    }
  }
  f16Table = t;
  return t;
}

/** Converts f16 bit patterns to f32 values, exactly. */
export function f16ToF32(bits: Uint16Array): Float32Array {
  const table = halfTable();
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i] as number] as number;
  return new Float32Array(out.buffer);
}

/** Converts bf16 bit patterns to f32 values, exactly (bf16 is the top half of an f32). */
export function bf16ToF32(bits: Uint16Array): Float32Array {
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = (bits[i] as number) << 16;
  return new Float32Array(out.buffer);
}

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/** f32 → f16 bits, rounding to nearest even (as PyTorch); NaN stays NaN. */
export function f32ToF16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    scratch[0] = values[i] as number;
    const x = scratchBits[0] as number;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 31) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - e;
      let h = mant >>> shift;
      const rest = mant & ((1 << shift) - 1);
      const half = 1 << (shift - 1);
      if (rest > half || (rest === half && h & 1)) h++;
      out[i] = sign | h;
      continue;
    }
    let h = (e << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++; // may carry into the exponent: fine
    out[i] = sign | h;
  }
  return out;
}

/** f32 → bf16 bits, rounding to nearest even; NaN stays NaN. */
export function f32ToBf16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    scratch[0] = values[i] as number;
    const x = scratchBits[0] as number;
    if ((x & 0x7fffffff) > 0x7f800000) {
      out[i] = (x >>> 16) | 0x40;
      continue;
    }
    out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}

/**
 * A float tensor (F32, F16, BF16, F64) as a fresh Float32Array; halves convert exactly, F64
 * rounds to nearest. NOT_FOUND when absent; BAD_MODEL_FILE for an integer dtype.
 *
 * @example
 * const wte = readFloat32(bytes, header, 'wte.weight');
 */
export function readFloat32(
  file: Uint8Array,
  header: SafetensorsHeader,
  name: string,
): Float32Array {
  const { info, bytes } = tensorBytes(file, header, name);
  switch (info.dtype) {
    case 'F32': {
      const out = new Float32Array(bytes.byteLength / 4);
      new Uint8Array(out.buffer).set(bytes);
      return out;
    }
    case 'F16':
      return f16ToF32(view(bytes, 2, (b, o, n) => new Uint16Array(b, o, n)));
    case 'BF16':
      return bf16ToF32(view(bytes, 2, (b, o, n) => new Uint16Array(b, o, n)));
    case 'F64':
      return Float32Array.from(view(bytes, 8, (b, o, n) => new Float64Array(b, o, n)));
    default:
      throw bad(header.file, `tensor ${name} is ${info.dtype}, not a float tensor`, {
        tensor: name,
        dtype: info.dtype,
      });
  }
}

/**
 * An integer tensor (I64, I32, I16, I8, U8, BOOL) as a fresh Int32Array. BAD_MODEL_FILE for an
 * I64 value outside int32, a BOOL byte other than 0/1, or a float dtype.
 *
 * @example
 * const ids = readInt32(bytes, header, 'input_ids');
 */
export function readInt32(file: Uint8Array, header: SafetensorsHeader, name: string): Int32Array {
  const { info, bytes } = tensorBytes(file, header, name);
  switch (info.dtype) {
    case 'I64': {
      const words = view(bytes, 4, (b, o, n) => new Int32Array(b, o, n));
      const out = new Int32Array(words.length / 2);
      for (let i = 0; i < out.length; i++) {
        // Little-endian words: low then high. It fits int32 iff high is low's sign extension.
        const lo = words[2 * i] as number;
        const hi = words[2 * i + 1] as number;
        if (hi !== lo >> 31) {
          throw bad(header.file, `tensor ${name} holds a value outside int32 at index ${i}`, {
            tensor: name,
            index: i,
          });
        }
        out[i] = lo;
      }
      return out;
    }
    case 'I32': {
      const out = new Int32Array(bytes.byteLength / 4);
      new Uint8Array(out.buffer).set(bytes);
      return out;
    }
    case 'I16':
      return Int32Array.from(view(bytes, 2, (b, o, n) => new Int16Array(b, o, n)));
    case 'I8':
      return Int32Array.from(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    case 'U8':
      return Int32Array.from(bytes);
    case 'BOOL': {
      const i = bytes.findIndex((b) => b > 1);
      if (i >= 0) {
        throw bad(
          header.file,
          `tensor ${name} holds a BOOL byte that is not 0 or 1 at index ${i}`,
          {
            tensor: name,
            index: i,
          },
        );
      }
      return Int32Array.from(bytes);
    }
    default:
      throw bad(header.file, `tensor ${name} is ${info.dtype}, not an integer tensor`, {
        tensor: name,
        dtype: info.dtype,
      });
  }
}

export interface WritableTensor {
  dtype: 'F32' | 'F16' | 'BF16' | 'I64' | 'I32';
  shape: number[];
  /**
   * F32: Float32Array. F16/BF16: Uint16Array of bits, or Float32Array (rounded to nearest even).
   * I64: BigInt64Array, or Int32Array (widened). I32: Int32Array.
   */
  data: Float32Array | Int32Array | BigInt64Array | Uint16Array;
}

/** The Rust library's dtype order: larger dtypes first, so every tensor is aligned to its size. */
const WRITE_ORDER: Record<WritableTensor['dtype'], number> = {
  I64: 0,
  F32: 1,
  I32: 2,
  BF16: 3,
  F16: 4,
};

function encodeData(name: string, t: WritableTensor): Uint8Array {
  const elements = t.shape.reduce((a, d) => a * d, 1);
  const fail = (why: string) =>
    new InvalidParamsError(`Cannot write tensor ${name}: ${why}`, { detail: { tensor: name } });
  if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw fail('bad shape');
  if (t.data.length !== elements) {
    throw fail(`shape [${t.shape.join(', ')}] has ${elements} elements, data has ${t.data.length}`);
  }
  let typed: ArrayBufferView & { length: number };
  const d = t.data;
  switch (t.dtype) {
    case 'F32':
      if (!(d instanceof Float32Array)) throw fail('F32 data must be a Float32Array');
      typed = d;
      break;
    case 'F16':
    case 'BF16':
      if (d instanceof Float32Array) typed = t.dtype === 'F16' ? f32ToF16(d) : f32ToBf16(d);
      else if (d instanceof Uint16Array) typed = d;
      else throw fail(`${t.dtype} data must be a Uint16Array of bits or a Float32Array`);
      break;
    case 'I64':
      if (d instanceof BigInt64Array) typed = d;
      else if (d instanceof Int32Array) typed = BigInt64Array.from(d, (v) => BigInt(v));
      else throw fail('I64 data must be a BigInt64Array or an Int32Array');
      break;
    case 'I32':
      if (!(d instanceof Int32Array)) throw fail('I32 data must be an Int32Array');
      typed = d;
      break;
    default:
      throw fail(`unknown dtype ${String((t as { dtype: unknown }).dtype)}`);
  }
  const bytes = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  return bytes;
}

/**
 * Serialises tensors into a file the way the Python library does: larger dtypes first, then by
 * name, packed with no holes; the header padded with spaces so the data section starts 8-byte
 * aligned.
 *
 * @example
 * const bytes = writeSafetensors({ w: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } });
 */
export function writeSafetensors(
  tensors: Record<string, WritableTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const names = Object.keys(tensors).sort((a, b) => {
    const ta = tensors[a] as WritableTensor;
    const tb = tensors[b] as WritableTensor;
    return WRITE_ORDER[ta.dtype] - WRITE_ORDER[tb.dtype] || (a < b ? -1 : a > b ? 1 : 0);
  });
  if (names.includes('__metadata__')) {
    throw new InvalidParamsError('A tensor cannot be named __metadata__', {
      detail: { tensor: '__metadata__' },
    });
  }
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header.__metadata__ = metadata;
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    const t = tensors[name] as WritableTensor;
    const data = encodeData(name, t);
    header[name] = {
      dtype: t.dtype,
      shape: t.shape,
      data_offsets: [offset, offset + data.byteLength],
    };
    parts.push(data);
    offset += data.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + padded);
  let at = 8 + padded;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

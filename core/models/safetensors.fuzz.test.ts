/**
 * Mutates valid safetensors files (their header JSON and their raw bytes) and checks the reader
 * answers with a parsed header or a BAD_MODEL_FILE, never anything else, and never hangs: tensors
 * of a header it accepts read without error or with BAD_MODEL_FILE. Seeded; 2,000 runs per
 * property by default, `TABPOOL_FUZZ_RUNS=100000` for a long run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTabpoolError } from '../protocol/errors';
import {
  parseSafetensorsHeader,
  readFloat32,
  readInt32,
  type SafetensorsHeader,
  type WritableTensor,
  writeSafetensors,
} from './safetensors';

const RUNS = Number(process.env.TABPOOL_FUZZ_RUNS ?? 2000);
const SEED = Number(process.env.TABPOOL_FUZZ_SEED ?? 20240611);

const FLOATS = new Set(['F64', 'F32', 'F16', 'BF16']);

/** Parses and reads every tensor; returns 'ok' or the error code, rethrowing anything else. */
function exercise(bytes: Uint8Array, fileSize?: number): string {
  let header: SafetensorsHeader;
  try {
    header = parseSafetensorsHeader(bytes, {
      file: 'fuzz.safetensors',
      ...(fileSize === undefined ? {} : { fileSize }),
    });
  } catch (e) {
    if (isTabpoolError(e) && e.code === 'BAD_MODEL_FILE') return e.code;
    throw e;
  }
  for (const t of header.tensors.values()) {
    try {
      const out = FLOATS.has(t.dtype)
        ? readFloat32(bytes, header, t.name)
        : readInt32(bytes, header, t.name);
      const elements = t.shape.reduce((a, d) => a * d, 1);
      if (out.length !== elements) throw new TypeError(`${t.name}: ${out.length} ≠ ${elements}`);
    } catch (e) {
      if (!(isTabpoolError(e) && e.code === 'BAD_MODEL_FILE')) throw e;
    }
  }
  return 'ok';
}

const dtype = fc.constantFrom<WritableTensor['dtype']>('F32', 'F16', 'BF16', 'I64', 'I32');
const tensor = fc
  .tuple(dtype, fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }))
  .map(([d, shape]): WritableTensor => {
    const n = shape.reduce((a, x) => a * x, 1);
    const data =
      d === 'F32'
        ? new Float32Array(n).map((_, i) => i * 0.5 - 1)
        : d === 'I32' || d === 'I64'
          ? new Int32Array(n).map((_, i) => i - 2)
          : new Uint16Array(n).map((_, i) => 0x3c00 + i);
    return { dtype: d, shape, data };
  });
const validFile = fc
  .dictionary(
    fc.string({ minLength: 1, maxLength: 6 }).filter((k) => k !== '__metadata__'),
    tensor,
    { maxKeys: 4 },
  )
  .map((tensors) => writeSafetensors(tensors, { format: 'pt' }));

/** A JSON value mutation: the kinds of wrong a header field can be. */
const wrongValue = fc.oneof(
  fc.integer({ min: -3, max: 1 << 20 }),
  fc.constantFrom(
    -1,
    1.5,
    2 ** 53,
    Number.MAX_SAFE_INTEGER,
    1e308,
    null,
    true,
    '',
    'F32',
    'F8_E5M2',
    'BOOL',
    'U8',
    'F64',
    'I8',
    'I16',
  ),
  fc.array(fc.integer({ min: -2, max: 64 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.oneof(fc.string({ maxLength: 3 }), fc.integer())),
);

/** Rewrites one field of one entry of the header, keeping the file's data section. */
function mutateHeader(file: Uint8Array, pick: number, field: number, value: unknown): Uint8Array {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const json = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n))) as Record<
    string,
    Record<string, unknown>
  >;
  const keys = Object.keys(json);
  const key = keys[pick % Math.max(keys.length, 1)] ?? 'x';
  const fields = ['dtype', 'shape', 'data_offsets', 'whole', 'extra'];
  const f = fields[field % fields.length] as string;
  if (f === 'whole') json[key] = value as Record<string, unknown>;
  else json[key] = { ...(json[key] ?? {}), [f]: value };
  const text = new TextEncoder().encode(JSON.stringify(json));
  const data = file.subarray(8 + n);
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

describe('safetensors fuzz', () => {
  it('accepts every file the writer makes and reads every tensor back', () => {
    fc.assert(
      fc.property(validFile, (file) => {
        expect(exercise(file)).toBe('ok');
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('answers a parsed header or BAD_MODEL_FILE for mutated header fields', () => {
    const outcomes = new Set<string>();
    fc.assert(
      fc.property(validFile, fc.nat(), fc.nat(), wrongValue, (file, pick, field, value) => {
        outcomes.add(exercise(mutateHeader(file, pick, field, value)));
      }),
      { numRuns: RUNS, seed: SEED },
    );
    // The mutations reach both sides: some survive validation, most do not.
    expect([...outcomes].sort()).toEqual(['BAD_MODEL_FILE', 'ok']);
  });

  it('answers a parsed header or BAD_MODEL_FILE for flipped, cut and spliced bytes', () => {
    const edit = fc.oneof(
      fc.record({
        kind: fc.constant('set' as const),
        at: fc.nat(),
        byte: fc.integer({ min: 0, max: 255 }),
      }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({
        kind: fc.constant('insert' as const),
        at: fc.nat(),
        bytes: fc.uint8Array({ maxLength: 8 }),
      }),
    );
    fc.assert(
      fc.property(
        validFile,
        fc.array(edit, { minLength: 1, maxLength: 4 }),
        fc.option(fc.nat(4096)),
        (file, edits, size) => {
          let bytes = file;
          for (const e of edits) {
            const at = e.at % (bytes.length + 1);
            if (e.kind === 'set' && bytes.length > 0) {
              bytes = bytes.slice();
              bytes[at % bytes.length] = e.byte;
            } else if (e.kind === 'cut') {
              bytes = bytes.slice(0, at);
            } else if (e.kind === 'insert') {
              const out = new Uint8Array(bytes.length + e.bytes.length);
              out.set(bytes.subarray(0, at));
              out.set(e.bytes, at);
              out.set(bytes.subarray(at), at + e.bytes.length);
              bytes = out;
            }
          }
          exercise(bytes, size ?? undefined);
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('answers BAD_MODEL_FILE or a header for arbitrary bytes behind a plausible length', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 256 }),
        fc.bigInt({ min: 0n, max: 300n }),
        (body, n) => {
          const bytes = new Uint8Array(8 + body.length);
          new DataView(bytes.buffer).setBigUint64(0, n, true);
          bytes.set(body, 8);
          exercise(bytes);
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });
});

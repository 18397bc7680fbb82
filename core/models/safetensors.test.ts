import { describe, expect, it } from 'vitest';
import { isTabpoolError } from '../protocol/errors';
import {
  bf16ToF32,
  f16ToF32,
  f32ToBf16,
  f32ToF16,
  MAX_HEADER_BYTES,
  parseSafetensorsHeader,
  readFloat32,
  readInt32,
  safetensorsHeaderLength,
  writeSafetensors,
} from './safetensors';

/** The value of f16 bits, from the IEEE formula (independent of the table the reader builds). */
function refHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (mant / 1024);
  if (exp === 31) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exp - 15) * (1 + mant / 1024);
}

function refBfloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 7) & 0xff;
  const mant = h & 0x7f;
  if (exp === 0) return sign * 2 ** -126 * (mant / 128);
  if (exp === 255) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exp - 127) * (1 + mant / 128);
}

const allHalves = Uint16Array.from({ length: 65536 }, (_, i) => i);

/** A header of raw JSON followed by `data`, with the length field as given. */
function rawFile(json: string, data = new Uint8Array(0), length?: bigint): Uint8Array {
  const text = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

function expectBadFile(f: () => unknown, message: RegExp): void {
  let thrown: unknown;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  expect(isTabpoolError(thrown) && thrown.code).toBe('BAD_MODEL_FILE');
  expect((thrown as Error).message).toMatch(message);
  expect((thrown as { detail: { file: string } }).detail.file).toBe('m.safetensors');
}

const parse = (bytes: Uint8Array, fileSize?: number) =>
  parseSafetensorsHeader(bytes, { file: 'm.safetensors', ...(fileSize ? { fileSize } : {}) });

describe('half-float conversion', () => {
  it('converts every f16 exactly (normals, subnormals, ±0, ±inf, NaN)', () => {
    const out = f16ToF32(allHalves);
    const wrong = [...allHalves].filter((h) => !Object.is(out[h], Math.fround(refHalf(h))));
    expect(wrong).toEqual([]);
    expect(out[0x0001]).toBe(2 ** -24);
    expect(Object.is(out[0x8000], -0)).toBe(true);
    expect(out[0x7c00]).toBe(Number.POSITIVE_INFINITY);
    expect(out[0xfc00]).toBe(Number.NEGATIVE_INFINITY);
    expect(out[0x7e00]).toBeNaN();
  });

  it('converts every bf16 exactly', () => {
    const out = bf16ToF32(allHalves);
    expect([...allHalves].filter((h) => !Object.is(out[h], refBfloat(h)))).toEqual([]);
  });

  it('rounds f32 to f16 and bf16 to nearest even, and halves survive a round trip', () => {
    const halves = f16ToF32(allHalves);
    const back = f32ToF16(halves);
    const isNaNHalf = (b: number) => (b & 0x7fff) > 0x7c00;
    expect(
      [...allHalves].filter((h) =>
        Number.isNaN(halves[h]) ? !isNaNHalf(back[h] ?? 0) : back[h] !== h,
      ),
    ).toEqual([]);
    const bf = bf16ToF32(allHalves);
    const bfBack = f32ToBf16(bf);
    const isNaNBf = (b: number) => (b & 0x7fff) > 0x7f80;
    expect(
      [...allHalves].filter((h) =>
        Number.isNaN(bf[h]) ? !isNaNBf(bfBack[h] ?? 0) : bfBack[h] !== h,
      ),
    ).toEqual([]);
    // Ties: 1 + 2^-11 lies halfway between 1 and 1 + 2^-10 → even (1); 1 + 3·2^-11 → up.
    expect([
      ...f32ToF16(
        new Float32Array([1 + 2 ** -11, 1 + 3 * 2 ** -11, 65520, 2 ** -25, 3 * 2 ** -26]),
      ),
    ]).toEqual([0x3c00, 0x3c02, 0x7c00, 0x0000, 0x0001]);
    expect([...f32ToBf16(new Float32Array([1 + 2 ** -8, 1 + 3 * 2 ** -8]))]).toEqual([
      0x3f80, 0x3f82,
    ]);
  });
});

describe('writeSafetensors → parseSafetensorsHeader → read', () => {
  const f32 = new Float32Array([1.5, -2, 0, 3.25, Number.POSITIVE_INFINITY, -0]);
  const file = writeSafetensors(
    {
      'b.f32': { dtype: 'F32', shape: [2, 3], data: f32 },
      'a.f16': { dtype: 'F16', shape: [3], data: new Uint16Array([0x3c00, 0x0001, 0xfc00]) },
      'c.f16': { dtype: 'F16', shape: [2], data: new Float32Array([0.5, 65504]) },
      'd.bf16': { dtype: 'BF16', shape: [2], data: new Float32Array([1, -3.5]) },
      'e.i64': { dtype: 'I64', shape: [3], data: new BigInt64Array([1n, -2n, 2147483647n]) },
      'f.i64': { dtype: 'I64', shape: [1, 2], data: new Int32Array([-2147483648, 7]) },
      'g.i32': { dtype: 'I32', shape: [2], data: new Int32Array([42, -1]) },
      'h.empty': { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
      scalar: { dtype: 'F32', shape: [], data: new Float32Array([9]) },
    },
    { format: 'pt' },
  );
  const header = parse(file);

  it('round-trips every writable dtype', () => {
    expect(header.metadata).toEqual({ format: 'pt' });
    expect([...readFloat32(file, header, 'b.f32')]).toEqual([...f32]);
    expect([...readFloat32(file, header, 'a.f16')]).toEqual([
      1,
      2 ** -24,
      Number.NEGATIVE_INFINITY,
    ]);
    expect([...readFloat32(file, header, 'c.f16')]).toEqual([0.5, 65504]);
    expect([...readFloat32(file, header, 'd.bf16')]).toEqual([1, -3.5]);
    expect([...readInt32(file, header, 'e.i64')]).toEqual([1, -2, 2147483647]);
    expect([...readInt32(file, header, 'f.i64')]).toEqual([-2147483648, 7]);
    expect([...readInt32(file, header, 'g.i32')]).toEqual([42, -1]);
    expect(readFloat32(file, header, 'h.empty').length).toBe(0);
    expect([...readFloat32(file, header, 'scalar')]).toEqual([9]);
    expect(header.tensors.get('b.f32')).toMatchObject({ dtype: 'F32', shape: [2, 3] });
  });

  it('lays out like the Python library: padded header, larger dtypes first, no holes', () => {
    expect(header.dataOffset % 8).toBe(0);
    const order = [...header.tensors.values()].sort((a, b) => a.begin - b.begin);
    expect(order.map((t) => t.name)).toEqual([
      'e.i64',
      'f.i64',
      'b.f32',
      'h.empty',
      'scalar',
      'g.i32',
      'd.bf16',
      'a.f16',
      'c.f16',
    ]);
    let end = 0;
    for (const t of order) {
      expect(t.begin).toBe(end);
      end = t.end;
    }
    expect(header.dataOffset + end).toBe(file.length);
  });

  it('reads from a copy at an odd byte offset (unaligned tensors)', () => {
    const shifted = new Uint8Array(file.length + 1);
    shifted.set(file, 1);
    const odd = shifted.subarray(1);
    expect([...readFloat32(odd, header, 'b.f32')]).toEqual([...f32]);
    expect([...readFloat32(odd, header, 'a.f16')]).toEqual([1, 2 ** -24, Number.NEGATIVE_INFINITY]);
    expect([...readInt32(odd, header, 'e.i64')]).toEqual([1, -2, 2147483647]);
    expect([...readInt32(odd, header, 'g.i32')]).toEqual([42, -1]);
  });

  it('returns fresh arrays, not views of the file', () => {
    const a = readFloat32(file, header, 'b.f32');
    a[0] = 100;
    expect(readFloat32(file, header, 'b.f32')[0]).toBe(1.5);
  });

  it('parses from the header bytes alone and reads the rest from the whole file', () => {
    const headerOnly = file.subarray(0, safetensorsHeaderLength(file));
    const h = parseSafetensorsHeader(headerOnly, { fileSize: file.length });
    expect([...readInt32(file, h, 'g.i32')]).toEqual([42, -1]);
  });

  it('reads F64, I16, I8, U8 and BOOL tensors', () => {
    const data = new Uint8Array(8 * 2 + 2 * 2 + 2 + 2 + 2);
    const dv = new DataView(data.buffer);
    dv.setFloat64(0, 0.1, true);
    dv.setFloat64(8, -1e300, true);
    dv.setInt16(16, -300, true);
    dv.setInt16(18, 300, true);
    dv.setInt8(20, -5);
    dv.setInt8(21, 5);
    data.set([200, 3, 1, 0], 22);
    const bytes = rawFile(
      JSON.stringify({
        d: { dtype: 'F64', shape: [2], data_offsets: [0, 16] },
        s: { dtype: 'I16', shape: [2], data_offsets: [16, 20] },
        b: { dtype: 'I8', shape: [2], data_offsets: [20, 22] },
        u: { dtype: 'U8', shape: [2], data_offsets: [22, 24] },
        t: { dtype: 'BOOL', shape: [2], data_offsets: [24, 26] },
      }),
      data,
    );
    const h = parse(bytes);
    expect([...readFloat32(bytes, h, 'd')]).toEqual([Math.fround(0.1), Number.NEGATIVE_INFINITY]);
    expect([...readInt32(bytes, h, 's')]).toEqual([-300, 300]);
    expect([...readInt32(bytes, h, 'b')]).toEqual([-5, 5]);
    expect([...readInt32(bytes, h, 'u')]).toEqual([200, 3]);
    expect([...readInt32(bytes, h, 't')]).toEqual([1, 0]);
    expect(() => readInt32(bytes, h, 'd')).toThrow(/not an integer tensor/);
    expect(() => readFloat32(bytes, h, 'u')).toThrow(/not a float tensor/);
  });
});

describe('validation: every malformed file is BAD_MODEL_FILE', () => {
  const entry = (o: object) =>
    JSON.stringify({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8], ...o } });
  const eight = new Uint8Array(8);

  it('rejects a file shorter than 8 bytes', () => {
    expectBadFile(() => parse(new Uint8Array(5)), /shorter than 8 bytes/);
  });
  it('rejects a header length past the file or over the cap', () => {
    expectBadFile(() => parse(rawFile('{}', eight, 1000n)), /needs 1008 bytes/);
    expectBadFile(() => parse(rawFile('{}', eight, 100n), 20), /past the end of the 20-byte file/);
    expectBadFile(() => parse(rawFile('{}', eight, BigInt(MAX_HEADER_BYTES) + 1n)), /cap/);
    expectBadFile(() => parse(rawFile('{}', eight, 2n ** 64n - 1n)), /cap/);
  });
  it('rejects a header that is not UTF-8 JSON or not an object', () => {
    expectBadFile(() => parse(rawFile('{"w": ')), /not UTF-8 JSON/);
    const bytes = rawFile('{"xx":{}}');
    bytes[10] = 0xff;
    expectBadFile(() => parse(bytes), /not UTF-8 JSON/);
    expectBadFile(() => parse(rawFile('[1, 2]')), /not a JSON object/);
    expectBadFile(() => parse(rawFile('null')), /not a JSON object/);
    expectBadFile(() => parse(rawFile(`${'['.repeat(100_000)}${']'.repeat(100_000)}`)), /JSON/);
  });
  it('rejects a tensor entry that is not an object', () => {
    expectBadFile(() => parse(rawFile('{"w": 3}')), /tensor w is not an object/);
  });
  it('rejects an unknown dtype', () => {
    expectBadFile(
      () => parse(rawFile(entry({ dtype: 'F8_E4M3' }), eight)),
      /tensor w has unknown dtype "F8_E4M3"/,
    );
    expectBadFile(() => parse(rawFile(entry({ dtype: 'toString' }), eight)), /unknown dtype/);
  });
  it('rejects a bad shape', () => {
    for (const shape of [[-1], [1.5], ['2'], 2, null, [2 ** 53]]) {
      expectBadFile(() => parse(rawFile(entry({ shape }), eight)), /tensor w has a shape/);
    }
  });
  it('rejects bad data_offsets', () => {
    for (const data_offsets of [[8, 0], [0], [0, 8, 9], [-8, 0], [0, 8.5], ['0', '8'], null]) {
      expectBadFile(
        () => parse(rawFile(entry({ data_offsets }), eight)),
        /tensor w has data_offsets/,
      );
    }
  });
  it('rejects a tensor ending past the data section', () => {
    expectBadFile(
      () => parse(rawFile(entry({}), new Uint8Array(4))),
      /tensor w ends at 8, past the 4-byte/,
    );
    const h = rawFile(entry({}));
    expectBadFile(() => parse(h, h.length + 4), /past the 4-byte data section/);
  });
  it('rejects byte counts that do not match shape × dtype size', () => {
    expectBadFile(
      () => parse(rawFile(entry({ shape: [3] }), new Uint8Array(12))),
      /needs 12 bytes, its offsets hold 8/,
    );
    expectBadFile(() => parse(rawFile(entry({ dtype: 'F16' }), eight)), /needs 4 bytes/);
    expectBadFile(() => parse(rawFile(entry({ shape: [2 ** 30, 2 ** 30] }), eight)), /tensor w/);
  });
  it('rejects overlapping tensors, and allows holes and empty tensors anywhere', () => {
    const two = (b: number) =>
      JSON.stringify({
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        b: { dtype: 'F32', shape: [2], data_offsets: [b, b + 8] },
        e: { dtype: 'F32', shape: [0], data_offsets: [4, 4] },
      });
    expectBadFile(() => parse(rawFile(two(4), new Uint8Array(16))), /tensor b overlaps tensor a/);
    expectBadFile(() => parse(rawFile(two(0), new Uint8Array(16))), /overlaps/);
    expect(parse(rawFile(two(12), new Uint8Array(20))).tensors.size).toBe(3);
  });
  it('rejects __metadata__ that is not a string → string map', () => {
    expectBadFile(() => parse(rawFile('{"__metadata__": [1]}')), /__metadata__ is not an object/);
    expectBadFile(
      () => parse(rawFile('{"__metadata__": {"a": 1}}')),
      /__metadata__.a is not a string/,
    );
    expect(parse(rawFile('{"__metadata__": null}')).metadata).toEqual({});
  });
  it('rejects reads from a truncated file, integers outside int32 and BOOL bytes other than 0/1', () => {
    const file = writeSafetensors({ w: { dtype: 'F32', shape: [2], data: new Float32Array(2) } });
    const header = parse(file);
    expectBadFile(
      () => readFloat32(file.subarray(0, file.length - 1), header, 'w'),
      /tensor w ends at byte/,
    );
    const big = writeSafetensors({
      i: { dtype: 'I64', shape: [2], data: new BigInt64Array([0n, 2n ** 31n]) },
    });
    expectBadFile(
      () => readInt32(big, parse(big), 'i'),
      /tensor i holds a value outside int32 at index 1/,
    );
    const bool = rawFile(
      '{"t":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]}}',
      new Uint8Array([2]),
    );
    expectBadFile(() => readInt32(bool, parse(bool), 't'), /not 0 or 1/);
  });
  it('answers NOT_FOUND for a tensor the file does not have', () => {
    const file = writeSafetensors({});
    expect(() => readFloat32(file, parse(file), 'missing')).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND' }),
    );
  });
  it('refuses to write data that does not match its shape or dtype', () => {
    expect(() =>
      writeSafetensors({ w: { dtype: 'F32', shape: [3], data: new Float32Array(2) } }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_PARAMS' }));
    expect(() =>
      writeSafetensors({ w: { dtype: 'I32', shape: [2], data: new Float32Array(2) } }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_PARAMS' }));
  });
});

import { describe, expect, it } from 'vitest';
import { type ChunkPlan, createChunkPlan } from './chunk-plan';
import { encodeSafetensors } from './safetensors-header';
import { seededBytes } from './testing';

/** Runs a plan over a whole file, feeding it one byte-range at a time, and returns the cuts. */
function cut(plan: ChunkPlan, file: Uint8Array): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let start = 0;
  while (start < file.length) {
    let end: number | undefined;
    for (let have = 1; end === undefined; have++) {
      end = plan.chunkEnd(start, file.subarray(start, start + have));
    }
    plan.onChunk(start, file.subarray(start, end));
    out.push([start, end]);
    start = end;
  }
  return out;
}

describe('chunk plan', () => {
  it('cuts plain files every chunkBytes', () => {
    const plan = createChunkPlan('tokenizer.json', 25, 10);
    expect(cut(plan, new Uint8Array(25))).toEqual([
      [0, 10],
      [10, 20],
      [20, 25],
    ]);
    expect(plan.tensors()).toEqual([]);
    expect(() => createChunkPlan('x', 1, 0)).toThrow(RangeError);
  });

  it('cuts safetensors at the header and tensor boundaries, splitting big tensors', () => {
    const file = encodeSafetensors({
      small: { dtype: 'U8', shape: [3], data: seededBytes(3, 1) },
      big: { dtype: 'U8', shape: [25], data: seededBytes(25, 2) },
    });
    const d = file.length - 28;
    const plan = createChunkPlan('model.safetensors', file.length, 10);
    expect(cut(plan, file)).toEqual([
      [0, d],
      [d, d + 3],
      [d + 3, d + 13],
      [d + 13, d + 23],
      [d + 23, d + 28],
    ]);
    expect(plan.tensors().map((t) => [t.name, t.begin, t.end])).toEqual([
      ['small', d, d + 3],
      ['big', d + 3, d + 28],
    ]);
  });

  it('gives a shared tensor the same chunks in two differently laid out files', () => {
    const shared = seededBytes(37, 7);
    const one = encodeSafetensors({
      shared: { dtype: 'U8', shape: [37], data: shared },
      other: { dtype: 'U8', shape: [5], data: seededBytes(5, 8) },
    });
    const two = encodeSafetensors({
      first: { dtype: 'U8', shape: [11], data: seededBytes(11, 9) },
      another_name_entirely: { dtype: 'U8', shape: [37], data: shared },
    });
    const piecesOf = (file: Uint8Array, name: string) => {
      const plan = createChunkPlan('m.safetensors', file.length, 16);
      const cuts = cut(plan, file);
      const t = plan.tensors().find((x) => x.name === name);
      return cuts
        .filter(([s, e]) => t !== undefined && s >= t.begin && e <= t.end)
        .map(([s, e]) => Array.from(file.subarray(s, e)));
    };
    const a = piecesOf(one, 'shared');
    expect(a.map((p) => p.length)).toEqual([16, 16, 5]);
    expect(piecesOf(two, 'another_name_entirely')).toEqual(a);
  });
});

/**
 * `npm run infer` end to end on a PyTorch fixture: arguments, every output written under its
 * Hugging Face name, generated_ids as int64 equal to transformers' greedy tokens.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { parseSafetensorsHeader, readFloat32, readInt32, writeSafetensors } from '../safetensors';
import { infer, parseArgs } from './infer';

const dir = join(import.meta.dirname, '../../../tests/fixtures/models/gpt2');

it('writes every output and the greedy tokens transformers gives', async () => {
  const out = join(tmpdir(), `tabpool-infer-${process.pid}.safetensors`);
  const args = parseArgs([
    dir,
    '--inputs',
    join(dir, 'inputs.safetensors'),
    '--out',
    out,
    '--generate',
    '10',
  ]);
  expect(args).toMatchObject({ backend: 'cpu', generate: 10 });
  await writeFile(out, writeSafetensors(await infer(args)));
  const bytes = new Uint8Array(await readFile(out));
  const header = parseSafetensorsHeader(bytes);
  const ref = new Uint8Array(await readFile(join(dir, 'reference.safetensors')));
  const refHeader = parseSafetensorsHeader(ref);
  expect([...header.tensors.keys()].sort()).toEqual([...refHeader.tensors.keys()].sort());
  expect(header.tensors.get('generated_ids')?.dtype).toBe('I64');
  expect([...readInt32(bytes, header, 'generated_ids')]).toEqual([
    ...readInt32(ref, refHeader, 'generated_ids'),
  ]);
  const logits = readFloat32(bytes, header, 'logits');
  const want = readFloat32(ref, refHeader, 'logits');
  expect(Math.max(...logits.map((x, i) => Math.abs(x - (want[i] as number))))).toBeLessThan(1e-4);
});

it('explains its usage on bad arguments', () => {
  expect(() => parseArgs([])).toThrow(/usage/);
  expect(() => parseArgs([dir, '--inputs', 'a', '--out', 'b', '--backend', 'tpu'])).toThrow(
    /backend/,
  );
  expect(() => parseArgs([dir, '--inputs', 'a', '--out', 'b', '--generate', '-1'])).toThrow(
    /generate/,
  );
});

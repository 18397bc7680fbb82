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
  expect(() => parseArgs([dir, '--inputs', 'a', '--out', 'b', '--quantize', 'int5'])).toThrow(
    /--quantize/,
  );
  expect(parseArgs([dir, '--inputs', 'a', '--out', 'b', '--quantize', 'int4:g64'])).toMatchObject({
    quantize: 'int4:g64',
  });
  expect(() => parseArgs([dir, '--inputs', 'a', '--out', 'b', '--backend', 'tpu'])).toThrow(
    /backend/,
  );
  expect(() => parseArgs([dir, '--inputs', 'a', '--out', 'b', '--generate', '-1'])).toThrow(
    /generate/,
  );
});

it('serves CLIP: the issue-named outputs, per tower, written beside the reference names', async () => {
  const clip = join(import.meta.dirname, '../../../tests/fixtures/models/clip');
  const out = join(tmpdir(), `tabpool-infer-clip-${process.pid}.safetensors`);
  const args = parseArgs([clip, '--inputs', join(clip, 'inputs.safetensors'), '--out', out]);
  await writeFile(out, writeSafetensors(await infer(args)));
  const bytes = new Uint8Array(await readFile(out));
  const header = parseSafetensorsHeader(bytes);
  const ref = new Uint8Array(await readFile(join(clip, 'reference.safetensors')));
  const refHeader = parseSafetensorsHeader(ref);
  expect([...header.tensors.keys()].sort()).toEqual([...refHeader.tensors.keys()].sort());
  for (const name of [
    'text_embeds',
    'image_embeds',
    'logits_per_image',
    'text_last_hidden_state',
    'vision_last_hidden_state',
  ]) {
    const got = readFloat32(bytes, header, name);
    const want = readFloat32(ref, refHeader, name);
    expect(header.tensors.get(name)?.shape, name).toEqual(refHeader.tensors.get(name)?.shape);
    expect(Math.max(...got.map((x, i) => Math.abs(x - (want[i] as number)))), name).toBeLessThan(
      1e-4,
    );
  }
});

/**
 * Parity with PyTorch: every fixture in tests/fixtures/models (tiny random-init models made by
 * tools/fixtures/make_fixtures.py with transformers, references computed in float64) runs on
 * the CPU backend and on WebGPU (Dawn on SwiftShader here and in CI). Every output Hugging Face
 * gives — each layer's hidden state, the last hidden state, pooler output, logits — must be
 * within 1e-4 (max abs) of the reference, and greedy generation must pick the same tokens.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createHal, type Hal } from '../../kernels/hal/hal';
import { cpuTensor, cpuToDense } from '../../kernels/tensor/tensor';
import { nodeGpu } from '../../kernels/testing/node-gpu';
import { readInputs } from './cli/infer';
import type { WhisperConfig } from './config';
import { generateAll, loadModel, type Model } from './index';
import { readJsonFile } from './model-files';
import { modelFilesFromDir } from './model-files-node';
import { parseSafetensorsHeader, readFloat32, readInt32 } from './safetensors';
import { parseWhisperGenerationConfig, transcribeIds } from './whisper-generate';

const FIXTURES = resolve(import.meta.dirname, '../../tests/fixtures/models');
const MAX_ABS = 1e-4;
const fixtures = existsSync(FIXTURES)
  ? readdirSync(FIXTURES).filter((d) => existsSync(join(FIXTURES, d, 'reference.safetensors')))
  : [];
const gpu = await nodeGpu();

it('has PyTorch fixtures for the four families', () => {
  expect(fixtures.length).toBeGreaterThanOrEqual(4);
});

it('has the CLIP fixture (two towers: text_* and vision_* outputs, embeds and logits)', () => {
  expect(fixtures).toContain('clip');
});

async function loadReference(dir: string) {
  const bytes = new Uint8Array(await readFile(join(dir, 'reference.safetensors')));
  const header = parseSafetensorsHeader(bytes, { file: 'reference.safetensors' });
  return { bytes, header };
}

const backends: [string, () => Promise<Hal>][] = [
  ['cpu', () => createHal()],
  ...(gpu.gpu
    ? [['webgpu', () => createHal({ gpu: gpu.gpu })] as [string, () => Promise<Hal>]]
    : []),
];

describe.each(backends)('parity with PyTorch on %s', (backendName, makeHal) => {
  const worst: string[] = [];
  afterAll(() =>
    console.info(`parity ${backendName} (max abs error per fixture):\n  ${worst.join('\n  ')}`),
  );

  describe.each(fixtures)('%s', (name) => {
    const dir = join(FIXTURES, name);
    let model: Model;

    it('matches every output layer by layer', { timeout: 120_000 }, async () => {
      const hal = await makeHal();
      if (backendName === 'webgpu') expect(hal.gpu).not.toBeNull();
      model = await loadModel(modelFilesFromDir(dir), hal);
      const inputs = readInputs(new Uint8Array(await readFile(join(dir, 'inputs.safetensors'))));
      const ref = await loadReference(dir);
      const outputs = await model.forward(inputs, { hiddenStates: true });
      let maxErr = 0;
      let compared = 0;
      try {
        const expected = [...ref.header.tensors.values()].filter((t) => t.dtype === 'F32');
        expect(expected.length).toBeGreaterThan(2);
        for (const info of expected) {
          const got = outputs.get(info.name);
          expect(got, `${name}: no output ${info.name}`).toBeDefined();
          if (!got) continue;
          expect(got.shape, info.name).toEqual(info.shape);
          const want = readFloat32(ref.bytes, ref.header, info.name);
          const have = (await hal.read(got)) as Float32Array;
          let err = 0;
          for (let i = 0; i < want.length; i++) {
            err = Math.max(err, Math.abs((have[i] as number) - (want[i] as number)));
          }
          if (Number.isNaN(have.reduce((a, b) => a + b, 0))) err = Number.POSITIVE_INFINITY;
          maxErr = Math.max(maxErr, err);
          compared++;
          expect(err, `${name} ${info.name} max abs error`).toBeLessThanOrEqual(MAX_ABS);
        }
      } finally {
        model.free(outputs);
      }
      worst.push(`${name}: ${maxErr.toExponential(2)} over ${compared} outputs`);
    });

    // Decoders only: their references carry transformers' greedy tokens.
    const decoder = ['gpt2', 'llama', 'qwen2', 'mistral'].includes(
      (JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { model_type: string })
        .model_type,
    );
    if (decoder)
      it('generates the same greedy tokens', { timeout: 120_000 }, async () => {
        const ref = await loadReference(dir);
        expect(ref.header.tensors.has('generated_ids')).toBe(true);
        const want = [...readInt32(ref.bytes, ref.header, 'generated_ids')];
        const inputs = readInputs(new Uint8Array(await readFile(join(dir, 'inputs.safetensors'))));
        const prompt = inputs.input_ids ? [...cpuToDense(inputs.input_ids)] : [];
        const gen = await readJsonFile<{ eos_token_id?: number | number[] }>(
          modelFilesFromDir(dir),
          'generation_config.json',
        );
        const eos = gen?.eos_token_id;
        const got = await generateAll(model, prompt, {
          maxNewTokens: want.length - prompt.length,
          stopTokenIds: eos === undefined ? [] : [eos].flat(),
        });
        expect(got).toEqual(want);
      });

    // Whisper: transformers' generate (language detection, forced task, suppression) on audio.
    if (existsSync(join(dir, 'generation_config.json')) && name.startsWith('whisper'))
      it('transcribes the same greedy tokens as transformers generate', {
        timeout: 120_000,
      }, async () => {
        const ref = await loadReference(dir);
        const want = [...readInt32(ref.bytes, ref.header, 'generated_ids')];
        const sequence = [...readInt32(ref.bytes, ref.header, 'generated_sequence')];
        const inputs = readInputs(new Uint8Array(await readFile(join(dir, 'inputs.safetensors'))));
        const gen = parseWhisperGenerationConfig(
          await readJsonFile(modelFilesFromDir(dir), 'generation_config.json'),
          model.config as WhisperConfig,
        );
        // generated_ids drops a final eos; the generation that made it had one more step.
        const endedOnEos = sequence[sequence.length - 1] === gen.eosTokenId;
        const got = await transcribeIds(model, { audio: inputs.audio }, gen, {
          maxNewTokens: want.length + (endedOnEos ? 1 : 0),
        });
        expect([...got.init, ...got.tokens]).toEqual(sequence);
        expect(got.generatedIds).toEqual(want);
      });

    afterAll(() => model?.dispose());
  });
});

it('rejects inputs that do not fit the model with a typed error', async () => {
  const first = fixtures.find((f) => f.startsWith('gpt2')) ?? fixtures[0];
  if (!first) return;
  const model = await loadModel(modelFilesFromDir(join(FIXTURES, first)), await createHal());
  await expect(model.forward({})).rejects.toMatchObject({ code: 'INVALID_PARAMS' });
  await expect(
    model.forward({
      input_ids: cpuTensor(new Int32Array(4), [1, 4]),
      attention_mask: cpuTensor(Int32Array.from([0, 1, 1, 1]), [1, 4]),
    }),
  ).rejects.toMatchObject({ code: 'INVALID_PARAMS' });
  model.dispose();
});

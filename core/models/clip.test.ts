/**
 * CLIP beyond the parity fixture: the end-of-text pooling rule, config defaults, one-tower calls
 * and typed errors. The fixture (tools/fixtures/clip_fixture.py) is a tiny random CLIPModel.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHal } from '../../kernels/hal/hal';
import { cpuTensor } from '../../kernels/tensor/tensor';
import { readInputs } from './cli/infer';
import { eosPositions } from './clip-towers';
import { parseConfig } from './config';
import { loadModel, type Model, type ModelInputs } from './index';
import { modelFilesFromDir } from './model-files-node';

const DIR = resolve(import.meta.dirname, '../../tests/fixtures/models/clip');

describe('eosPositions', () => {
  it('pools at the first eos_token_id of each row, position 0 when there is none', () => {
    const ids = Int32Array.from([5, 9, 7, 9, 9, 5, 6, 7, 8, 3]);
    expect([...eosPositions(ids, 2, 5, 9)]).toEqual([1, 0]);
  });

  it('uses the first largest id when every row holds 49407 (configs that say eos 2)', () => {
    const ids = Int32Array.from([49406, 320, 49407, 49407, 49406, 49407, 2, 2]);
    expect([...eosPositions(ids, 2, 4, 2)]).toEqual([2, 1]);
  });
});

describe('CLIP config', () => {
  it('takes transformers defaults for fields a saved config omits', () => {
    const c = parseConfig({
      model_type: 'clip',
      text_config: { vocab_size: 100 },
      vision_config: {},
    });
    expect(c).toMatchObject({
      family: 'clip',
      projectionDim: 512,
      vocab: 100,
      maxPositions: 77,
      text: { hidden: 512, layers: 12, heads: 8, act: 'quick-gelu', eps: 1e-5, eosTokenId: 49407 },
      vision: { hidden: 768, heads: 12, imageSize: 224, patchSize: 32, act: 'quick-gelu' },
    });
  });

  it('rejects a text_config that is not an object', () => {
    expect(() => parseConfig({ model_type: 'clip', text_config: 3 })).toThrow(
      expect.objectContaining({ code: 'BAD_MODEL_FILE' }),
    );
  });
});

describe('CLIP model', () => {
  let model: Model;
  let inputs: ModelInputs;

  beforeAll(async () => {
    model = await loadModel(modelFilesFromDir(DIR), await createHal());
    inputs = readInputs(new Uint8Array(await readFile(join(DIR, 'inputs.safetensors'))));
  });
  afterAll(() => model?.dispose());

  const read = async (out: Map<string, unknown>, name: string) => {
    const t = out.get(name);
    expect(t, name).toBeDefined();
    return [...((await model.hal.read(t as never)) as Float32Array)];
  };

  it('runs one tower when given only text or only pixels, with the same embeddings', async () => {
    const both = await model.forward(inputs);
    const text = await model.forward({
      input_ids: inputs.input_ids,
      attention_mask: inputs.attention_mask,
    });
    const image = await model.forward({ pixel_values: inputs.pixel_values });
    try {
      expect([...text.keys()].sort()).toEqual([
        'text_embeds',
        'text_last_hidden_state',
        'text_pooler_output',
      ]);
      expect([...image.keys()].sort()).toEqual([
        'image_embeds',
        'vision_last_hidden_state',
        'vision_pooler_output',
      ]);
      expect(await read(text, 'text_embeds')).toEqual(await read(both, 'text_embeds'));
      expect(await read(image, 'image_embeds')).toEqual(await read(both, 'image_embeds'));
      const unit = await read(text, 'text_embeds');
      const dim = unit.length / 2;
      expect(Math.hypot(...unit.slice(0, dim))).toBeCloseTo(1, 6);
    } finally {
      for (const out of [both, text, image]) model.free(out);
    }
  });

  it('rejects calls without inputs, and pixels of the wrong size, as INVALID_PARAMS', async () => {
    await expect(model.forward({})).rejects.toMatchObject({ code: 'INVALID_PARAMS' });
    await expect(
      model.forward({ pixel_values: cpuTensor(new Float32Array(3 * 16 * 16), [1, 3, 16, 16]) }),
    ).rejects.toMatchObject({ code: 'INVALID_PARAMS' });
    await expect(
      model.forward({ input_ids: cpuTensor(new Int32Array(40), [1, 40]) }),
    ).rejects.toMatchObject({ code: 'INVALID_PARAMS' });
  });
});

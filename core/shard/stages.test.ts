/**
 * Stage ranges on the CPU backend with the PyTorch fixtures: running a model as consecutive
 * ranges, each output going through f32 bytes to the next range (what a MessagePort carries),
 * gives the same bits as the whole model's forward — for whole layers and for attention and
 * feed-forward apart. The profile records each stage's weights, and only a range's weights load.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createHal } from '../../kernels/hal/hal';
import { cpuTensor, type Tensor } from '../../kernels/tensor/tensor';
import { readInputs } from '../models/cli/infer';
import { loadModel } from '../models/index';
import { modelFilesFromDir } from '../models/model-files-node';
import type { StageSplit } from '../protocol/shard';
import { freeTensors, profileStages } from './profile';
import { openStageModel, runStageRange, stageContext } from './stages';

const FIXTURES = resolve(import.meta.dirname, '../../tests/fixtures/models');
const MODELS = ['bert', 'gpt2', 'llama'];

const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Cuts `n` stages into ranges ending at each of `cuts` (and the last stage). */
const rangesFor = (n: number, cuts: number[]) => {
  const ends = [...cuts.filter((c) => c < n - 1), n - 1];
  return ends.map((to, i) => [i === 0 ? 0 : (ends[i - 1] as number) + 1, to] as const);
};

describe.each(MODELS)('%s: split runs equal the whole forward, bit for bit (CPU)', (name) => {
  const dir = join(FIXTURES, name);

  it.each<[StageSplit, number[]]>([
    ['layers', [0]],
    ['layers', [1, 2]],
    ['sublayers', [1]],
    ['sublayers', [0, 2, 3]],
  ])('%s cut after %j', async (split, cuts) => {
    const inputs = readInputs(new Uint8Array(await readFile(join(dir, 'inputs.safetensors'))));
    const hal = await createHal();
    const whole = await loadModel(modelFilesFromDir(dir), hal);
    const expected = await whole.forward(inputs);
    const m = await openStageModel(modelFilesFromDir(dir), hal);
    const stages = m.stages(split);
    if (split === 'sublayers') {
      expect(stages.length).toBe(whole.stages.length + (whole.stages.length - 2));
      expect(stages[1]?.name).toMatch(/^layer\.0\.attention$/);
    }
    const { ctx, dispose } = stageContext(m, inputs);
    let hidden: Tensor | null = null;
    let outputs: Record<string, Tensor> = {};
    for (const [from, to] of rangesFor(stages.length, cuts)) {
      const r = await runStageRange(m, stages, from, to, hidden, ctx);
      if (r.kind === 'outputs') {
        outputs = r.outputs;
        break;
      }
      // What crosses to the next host: the activation's f32 bytes.
      const values = (await hal.read(r.hidden)) as Float32Array;
      const copy = new Float32Array(values.slice().buffer);
      if (hidden) hal.dispose(hidden);
      hal.dispose(r.hidden);
      hidden = hal.upload(cpuTensor(copy, [...r.hidden.shape]));
    }
    expect(Object.keys(outputs).sort()).toEqual([...expected.keys()].sort());
    for (const [k, t] of expected) {
      const got = (await hal.read(outputs[k] as Tensor)) as Float32Array;
      const want = (await hal.read(t)) as Float32Array;
      expect(got.length, k).toBe(want.length);
      expect(bytesOf(got), k).toEqual(bytesOf(want));
    }
    freeTensors(hal, hidden ? [hidden, ...Object.values(outputs)] : Object.values(outputs));
    dispose();
    whole.free(expected);
    whole.dispose();
    m.dispose();
  });

  it('profiles each stage: its weights and bytes add up to the whole model', async () => {
    const hal = await createHal();
    const layers = await profileStages(modelFilesFromDir(dir), hal, 'layers');
    const sub = await profileStages(modelFilesFromDir(dir), hal, 'sublayers');
    const whole = await loadModel(modelFilesFromDir(dir), hal);
    expect(layers.map((s) => s.name)).toEqual(whole.stages.map((s) => s.name));
    for (const s of layers) expect(s.weightBytes, s.name).toBeGreaterThan(0);
    // Tied heads read the embedding table again, so stages sum to at least the model.
    const sum = (p: typeof layers) => p.reduce((a, s) => a + s.weightBytes, 0);
    expect(sum(layers)).toBeGreaterThanOrEqual(whole.paramBytes);
    // Splitting a layer in two moves weights between stages; it adds none.
    expect(sum(sub)).toBe(sum(layers));
    const layer0 = layers.find((s) => s.name === 'layer.0');
    const parts = sub.filter((s) => s.name.startsWith('layer.0.'));
    expect(parts).toHaveLength(2);
    expect(parts.reduce((a, s) => a + s.weightBytes, 0)).toBe(layer0?.weightBytes);
    whole.dispose();
  });

  it("a range reads only its own stages' weights", async () => {
    const hal = await createHal();
    const inputs = readInputs(new Uint8Array(await readFile(join(dir, 'inputs.safetensors'))));
    const profile = await profileStages(modelFilesFromDir(dir), hal, 'layers');
    const m = await openStageModel(modelFilesFromDir(dir), hal);
    const stages = m.stages('layers');
    const { ctx, dispose } = stageContext(m, inputs);
    const r = await runStageRange(m, stages, 0, 1, null, ctx);
    expect(m.paramBytes).toBe((profile[0]?.weightBytes ?? 0) + (profile[1]?.weightBytes ?? 0));
    if (r.kind === 'hidden') hal.dispose(r.hidden);
    dispose();
    m.dispose();
  });
});

/**
 * A model's stage profile: which weights each stage reads and how many bytes they are, found by
 * running the model's smallest inputs through its stages one at a time and recording every
 * parameter each stage asks for. Only one stage's weights are in memory at a time, so a host
 * can profile a model it could not hold whole — the case sharding is for.
 */
import type { Hal } from '../../kernels/hal/hal';
import type { Tensor } from '../../kernels/tensor/tensor';
import type { ModelFiles, Weights } from '../models/model-files';
import { createParams, type Params } from '../models/params';
import type { StageProfile, StageSplit } from '../protocol/shard';
import { openStageModel, runStageRange, stageContext } from './stages';

/** Bytes of a weight once loaded (every dtype is widened to f32). */
const loadedBytes = (weights: Weights, name: string): number =>
  (weights.info(name)?.shape ?? []).reduce((a, d) => a * d, 1) * 4;

export async function profileStages(
  files: ModelFiles,
  hal: Hal,
  split: StageSplit,
): Promise<StageProfile[]> {
  let touched = new Set<string>();
  let current: Params | null = null;
  // Every `get` goes to a loader that is thrown away after each stage.
  const recording = (weights: Weights, h: Hal): Params => {
    current = createParams(weights, h);
    const now = () => current as Params;
    return {
      get(name, shape) {
        touched.add(name);
        return now().get(name, shape);
      },
      async maybe(name, shape) {
        if (!weights.has(name)) return null;
        touched.add(name);
        return now().get(name, shape);
      },
      linear(name, shape, site, layout) {
        touched.add(name);
        return now().linear(name, shape, site, layout);
      },
      has: (name) => weights.has(name),
      get bytes() {
        return now().bytes;
      },
      dispose: () => now().dispose(),
    };
  };
  const m = await openStageModel(files, hal, recording);
  const weights = m.weights;
  const stages = m.stages(split);
  const { ctx, dispose } = stageContext(m, m.arch.dummyInputs());
  const out: StageProfile[] = [];
  let hidden: Tensor | null = null;
  try {
    for (const [i, stage] of stages.entries()) {
      touched = new Set();
      const result = await runStageRange(m, stages, i, i, hidden, ctx);
      const done = result.kind === 'hidden' ? [] : Object.values(result.outputs);
      freeTensors(hal, hidden ? [hidden, ...done] : done);
      hidden = result.kind === 'hidden' ? result.hidden : null;
      const sizes = [...touched].map((n) => loadedBytes(weights, n));
      out.push({
        name: stage.name,
        kind: stage.kind,
        group: stage.group ?? null,
        weightBytes: sizes.reduce((a, b) => a + b, 0),
        largestTensorBytes: Math.max(0, ...sizes),
      });
      (current as Params | null)?.dispose();
      current = createParams(weights, hal);
    }
  } finally {
    if (hidden) hal.dispose(hidden);
    dispose();
    m.dispose();
  }
  return out;
}

/** Frees each storage once (a head may return its input among its outputs). */
export function freeTensors(hal: Hal, tensors: readonly Tensor[]): void {
  const seen = new Set<unknown>();
  for (const t of tensors) {
    if (seen.has(t.storage)) continue;
    seen.add(t.storage);
    hal.dispose(t);
  }
}

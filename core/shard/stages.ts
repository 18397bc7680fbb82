/**
 * Running a range of a model's stages on one host: build the architecture without running
 * it (weights load lazily, so a host that runs stages 4..7 reads only their weights), cut the
 * stage list for a split, and run `from..to` on a hidden state that came from another host.
 * Running every range in order, passing each output on as f32, is the model's `forward`.
 */
import type { Hal } from '../../kernels/hal/hal';
import { cpuTensor, type Tensor } from '../../kernels/tensor/tensor';
import '../models/index'; // registers every architecture
import { type ModelConfig, parseConfig } from '../models/config';
import { scoped } from '../models/graph';
import {
  type Architecture,
  architectureFor,
  type ModelInputs,
  maskLengths,
  type Stage,
  type StageContext,
} from '../models/model';
import { type ModelFiles, openWeights, readJsonFile, type Weights } from '../models/model-files';
import { createParams, type Params } from '../models/params';
import { BadModelFileError, InvalidParamsError, UnsupportedModelError } from '../protocol/errors';
import type { StageSplit } from '../protocol/shard';
import type { WireTensor } from '../protocol/tensor';

/** A model opened for stage runs: architecture built, weights not yet read. */
export interface StageModel {
  readonly id: string;
  readonly config: ModelConfig;
  readonly hal: Hal;
  readonly arch: Architecture;
  readonly weights: Weights;
  stages(split: StageSplit): Stage[];
  /** Bytes of weights on the HAL so far (only the stages run here). */
  readonly paramBytes: number;
  dispose(): void;
}

/**
 * Opens a model for stage runs. `params` replaces the lazy loader (the profiler's records
 * which stage reads which weight).
 */
export async function openStageModel(
  files: ModelFiles,
  hal: Hal,
  makeParams: (weights: Weights, hal: Hal) => Params = createParams,
): Promise<StageModel> {
  const json = await readJsonFile(files, 'config.json');
  if (json === null) {
    throw new BadModelFileError(`${files.id} has no config.json`, {
      detail: { file: 'config.json' },
    });
  }
  const config = parseConfig(json);
  const factory = architectureFor(config.family);
  if (!factory) throw new TypeError(`No architecture registered for ${config.family}`);
  const weights = await openWeights(files);
  const params = makeParams(weights, hal);
  const arch = await factory(config, params, files);
  if (arch.forward) {
    // Several stacks joined by the model's own forward (CLIP, Whisper): the planner can cut
    // them by group, but running a cut needs each stack's inputs routed; not done yet.
    params.dispose();
    throw new UnsupportedModelError(`${files.id}: sharded runs take single-stack models`, {
      detail: { family: config.family },
    });
  }
  return {
    id: files.id,
    config,
    hal,
    arch,
    weights,
    stages: (split) => flattenStages(arch.stages, split),
    get paramBytes() {
      return params.bytes;
    },
    dispose: () => params.dispose(),
  };
}

/** The stage list for a split: with `sublayers`, each layer that has parts becomes its parts. */
export function flattenStages(stages: readonly Stage[], split: StageSplit): Stage[] {
  if (split === 'layers') return [...stages];
  return stages.flatMap((s) =>
    s.parts ? s.parts.map((p) => ({ ...p, group: p.group ?? s.group })) : [s],
  );
}

/** Wire inputs (as pages send them) → the CPU tensors a model reads. */
export function modelInputsFromWire(wire: Record<string, WireTensor>): ModelInputs {
  const inputs: ModelInputs = {};
  for (const [name, t] of Object.entries(wire) as [keyof ModelInputs, WireTensor][]) {
    inputs[name] = cpuTensor(
      t.dtype === 'int32' ? new Int32Array(t.data) : new Float32Array(t.data),
      t.shape,
    );
  }
  return inputs;
}

/**
 * What every stage reads besides the hidden state, as `Model.forward` builds it (no cache: a
 * sharded run is one forward pass). Call `dispose` when the range is done.
 */
export function stageContext(
  m: StageModel,
  inputs: ModelInputs,
): { ctx: StageContext; dispose(): void } {
  const { batch, seq } = m.arch.seqOf(inputs);
  const lengths = inputs.attention_mask ? maskLengths(inputs.attention_mask) : null;
  const kvLengths = lengths ? m.hal.upload(cpuTensor(lengths, [batch])) : null;
  const ctx: StageContext = {
    inputs,
    batch,
    seq,
    positionOffset: 0,
    kvLengths,
    cache: null,
    lastLogitsOnly: false,
  };
  return { ctx, dispose: () => kvLengths && m.hal.dispose(kvLengths) };
}

export type RangeOutput =
  | { kind: 'hidden'; hidden: Tensor }
  | { kind: 'outputs'; outputs: Record<string, Tensor> };

/**
 * Runs stages `from..to` (inclusive) of `stages`, each in its own scope, starting from `hidden`
 * (null for a range that starts at the embeddings). `hidden` stays the caller's; a head's
 * outputs may include it (BERT's `last_hidden_state`), so free them together.
 */
export async function runStageRange(
  m: StageModel,
  stages: readonly Stage[],
  from: number,
  to: number,
  hidden: Tensor | null,
  ctx: StageContext,
): Promise<RangeOutput> {
  if (!(from >= 0 && from <= to && to < stages.length)) {
    throw new InvalidParamsError(`Stage range ${from}..${to} is outside 0..${stages.length - 1}`, {
      detail: { field: 'from', stages: stages.length },
    });
  }
  if ((from === 0) !== (hidden === null)) {
    throw new InvalidParamsError(
      from === 0
        ? 'The first range starts from the inputs, not an activation'
        : `Stage ${from} needs the previous stage's activation`,
      { detail: { field: 'in' } },
    );
  }
  let current = hidden;
  for (let i = from; i <= to; i++) {
    const stage = stages[i] as Stage;
    const input = current;
    const result = await scoped(m.hal, (s) => stage.run(s, input, ctx));
    if (stage.kind === 'head') {
      // A head ends the model whatever `to` says.
      const outputs = result as Record<string, Tensor>;
      const returned = new Set(Object.values(outputs).map((t) => t.storage));
      if (input && input !== hidden && !returned.has(input.storage)) m.hal.dispose(input);
      return { kind: 'outputs', outputs };
    }
    if (input && input !== hidden) m.hal.dispose(input);
    current = result as Tensor;
  }
  return { kind: 'hidden', hidden: current as Tensor };
}

/**
 * The host side of sharded runs (`model-stages` task): profile a model's stages, run a range of
 * them, and pass activations to the next host over the MessagePort the coordinator handed out.
 *
 * A range's output is kept here until the next host says it finished its own range (an `ack`
 * on the port): if that host dies first, the coordinator asks for it again (`resend`) on a port
 * to the host that takes over, and the run resumes from that stage instead of from the start.
 */
import type { Hal } from '../../kernels/hal/hal';
import { cpuTensor, type Tensor } from '../../kernels/tensor/tensor';
import type { ModelFiles } from '../models/model-files';
import { AbortedError, InvalidParamsError, NotFoundError } from '../protocol/errors';
import { modelIdOf } from '../protocol/inference';
import type {
  ActivationMessage,
  StagePortMessage,
  StagesProfileResult,
  StagesResendTask,
  StagesRunResult,
  StagesRunTask,
  StagesTask,
} from '../protocol/shard';
import { float32Tensor, type WireTensor } from '../protocol/tensor';
import { freeTensors, profileStages } from './profile';
import {
  modelInputsFromWire,
  openStageModel,
  runStageRange,
  type StageModel,
  stageContext,
} from './stages';

export interface StageTaskDeps {
  hal(): Promise<Hal>;
  files(modelId: string): ModelFiles;
  /** How long an unacknowledged activation is kept (default 2 min). */
  keepMs?: number;
  /** Stage models kept open (default 2). */
  maxModels?: number;
}

export type StageTasks = (
  p: StagesTask,
  ctx: { signal?: AbortSignal },
) => Promise<StagesProfileResult | StagesRunResult | { resent: number }>;

interface Kept {
  stage: number;
  tensor: WireTensor;
  timer: ReturnType<typeof setTimeout>;
}

const nowMs = () => performance.timeOrigin + performance.now();

export function createStageTasks(deps: StageTaskDeps): StageTasks {
  const models = new Map<string, Promise<StageModel>>();
  const kept = new Map<string, Kept>();
  const keepMs = deps.keepMs ?? 120_000;

  async function open(ref: string): Promise<StageModel> {
    const id = modelIdOf(ref);
    let entry = models.get(id);
    if (entry) models.delete(id);
    else {
      entry = (async () => openStageModel(deps.files(id), await deps.hal()))();
      entry.catch(() => models.delete(id));
    }
    models.set(id, entry);
    while (models.size > (deps.maxModels ?? 2)) {
      const oldest = models.keys().next().value as string;
      void models.get(oldest)?.then((m) => m.dispose());
      models.delete(oldest);
    }
    return entry;
  }

  /** Sends a copy of the kept activation (the original stays until acknowledged). */
  function send(port: MessagePort, runKey: string, k: Kept): void {
    const data = k.tensor.data.slice(0);
    const msg: ActivationMessage = {
      type: 'activation',
      runKey,
      stage: k.stage,
      tensor: { ...k.tensor, data },
      sentAtMs: nowMs(),
    };
    port.onmessage = (e: MessageEvent<StagePortMessage>) => {
      if (e.data.type !== 'ack' || e.data.runKey !== runKey) return;
      if (kept.get(runKey) === k && e.data.stage === k.stage) drop(runKey);
      port.close();
    };
    port.postMessage(msg, [data]);
  }

  function drop(runKey: string): void {
    const k = kept.get(runKey);
    if (k) clearTimeout(k.timer);
    kept.delete(runKey);
  }

  /** The activation for `runKey` from `port`, or ABORTED when the coordinator gives up. */
  function receive(port: MessagePort, runKey: string, signal?: AbortSignal) {
    return new Promise<{ msg: ActivationMessage; receivedAtMs: number }>((resolve, reject) => {
      const onAbort = () => {
        port.close();
        reject(new AbortedError(`Run ${runKey}: stopped waiting for the activation`));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      port.onmessage = (e: MessageEvent<StagePortMessage>) => {
        if (e.data.type !== 'activation' || e.data.runKey !== runKey) return;
        signal?.removeEventListener('abort', onAbort);
        resolve({ msg: e.data, receivedAtMs: nowMs() });
      };
      port.start();
    });
  }

  async function run(p: StagesRunTask, signal?: AbortSignal): Promise<StagesRunResult> {
    const m = await open(p.model);
    const stages = m.stages(p.split);
    const last = p.to === stages.length - 1;
    if (p.from > 0 && !p.in) {
      throw new InvalidParamsError(`Stage ${p.from} needs an input port`, {
        detail: { field: 'in' },
      });
    }
    if (!last && !p.out) {
      throw new InvalidParamsError(`Stage ${p.to} is not the last: it needs an output port`, {
        detail: { field: 'out' },
      });
    }
    const waitStart = nowMs();
    let hidden: Tensor | null = null;
    let transferMs: number | null = null;
    if (p.from > 0) {
      const { msg, receivedAtMs } = await receive(p.in as MessagePort, p.runKey, signal);
      if (msg.stage !== p.from - 1) {
        throw new InvalidParamsError(`Got stage ${msg.stage}'s output; range starts at ${p.from}`, {
          detail: { field: 'from' },
        });
      }
      transferMs = receivedAtMs - msg.sentAtMs;
      hidden = m.hal.upload(cpuTensor(new Float32Array(msg.tensor.data), msg.tensor.shape));
    }
    const runStart = nowMs();
    const waitMs = runStart - waitStart;
    const { ctx, dispose } = stageContext(m, modelInputsFromWire(p.inputs));
    let made: Tensor[] = [];
    try {
      if (signal?.aborted) throw new AbortedError('The run was cancelled');
      const result = await runStageRange(m, stages, p.from, p.to, hidden, ctx);
      made = result.kind === 'hidden' ? [result.hidden] : Object.values(result.outputs);
      const runMs = nowMs() - runStart;
      // Our range is done and its output is safe here or with the coordinator: the previous
      // host may drop what it kept for us.
      p.in?.postMessage({ type: 'ack', runKey: p.runKey, stage: p.from - 1 });
      p.in?.close();
      if (result.kind === 'hidden') {
        const t = result.hidden;
        const values = (await m.hal.read(t)) as Float32Array;
        const tensor = float32Tensor(values, [...t.shape]);
        drop(p.runKey);
        const k: Kept = {
          stage: p.to,
          tensor,
          timer: setTimeout(() => kept.delete(p.runKey), keepMs),
        };
        kept.set(p.runKey, k);
        send(p.out as MessagePort, p.runKey, k);
        return { finished: p.to, bytes: tensor.data.byteLength, waitMs, runMs, transferMs };
      }
      const outputs: Record<string, WireTensor> = {};
      for (const [name, t] of Object.entries(result.outputs)) {
        const wanted = p.outputs ? p.outputs.includes(name) : !/hidden_states\.\d+$/.test(name);
        if (wanted)
          outputs[name] = float32Tensor((await m.hal.read(t)) as Float32Array, [...t.shape]);
      }
      const missing = p.outputs?.filter((n) => !(n in outputs)) ?? [];
      if (missing.length > 0) {
        throw new InvalidParamsError(`${m.id} has no output ${missing.join(', ')}`, {
          detail: { field: 'outputs', available: Object.keys(result.outputs) },
        });
      }
      const backend = m.hal.gpu ? 'webgpu' : 'cpu';
      return { finished: p.to, outputs, backend, waitMs, runMs, transferMs };
    } finally {
      freeTensors(m.hal, hidden ? [hidden, ...made] : made);
      dispose();
    }
  }

  function resend(p: StagesResendTask): { resent: number } {
    const k = kept.get(p.runKey);
    if (!k) {
      throw new NotFoundError(`No activation kept for run ${p.runKey}`, {
        detail: { runKey: p.runKey },
      });
    }
    send(p.out, p.runKey, k);
    return { resent: k.stage };
  }

  return async (p, ctx) => {
    switch (p.action) {
      case 'profile':
        return {
          stages: await profileStages(deps.files(modelIdOf(p.model)), await deps.hal(), p.split),
        };
      case 'run':
        return run(p, ctx.signal);
      case 'resend':
        return resend(p);
    }
  };
}

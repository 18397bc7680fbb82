/**
 * The coordinator's side of a sharded run: profile the model once, plan the stages over the
 * hosts, hand each pair of neighbouring hosts a MessageChannel, start every range at once and
 * wait. If a host dies, the ranges after it are cancelled, the ones before it finish, and the
 * rest of the model is planned again over the hosts still alive, starting from the last stage
 * whose output a live host still keeps (`resend`), or from the inputs if none does.
 */
import { InternalError, isTabpoolError, NoHostError } from '../protocol/errors';
import type { RunResult } from '../protocol/inference';
import type {
  StageProfile,
  StageSplit,
  StagesDone,
  StagesProfileResult,
  StagesRunResult,
  StagesRunTask,
  StagesTask,
} from '../protocol/shard';
import type { WireTensor } from '../protocol/tensor';
import { type HostSpec, planPipeline, type ShardPlan, type StageInfo } from './planner';

/** How the runner reaches hosts (the coordinator's `taskOnHost`, or in-process hosts in tests). */
export interface ShardTransport {
  /** Hosts that can run `model-stages` now. */
  hosts(): HostSpec[];
  /** Runs one `model-stages` task; rejects HOST_LOST when the host dies, ABORTED on `signal`. */
  call(
    hostId: string,
    params: StagesTask,
    transfer: Transferable[],
    signal: AbortSignal,
  ): Promise<unknown>;
}

export interface ShardedRunRequest {
  model: string;
  inputs: Record<string, WireTensor>;
  outputs?: string[];
  split: StageSplit;
  /** At most this many hosts (default: all). */
  maxHosts?: number;
  /** Cut only between components (encoder | decoder, text | vision). */
  byComponent?: boolean;
  signal?: AbortSignal;
}

/** One range as it ran: where, which stages, and its timings from the host. */
export interface RangeReport {
  hostId: string;
  from: number;
  to: number;
  attempt: number;
  waitMs: number;
  runMs: number;
  /** Activation transfer from the previous host (ms), null for the first range. */
  transferMs: number | null;
  /** Bytes of the activation this range sent on (0 for the last). */
  bytes: number;
}

export interface ShardedRunOutcome extends RunResult {
  /** The plan of each attempt (a resume plans the remaining stages again). */
  plans: ShardPlan[];
  /** The stage each resume started from (empty when no host died). */
  resumedFrom: number[];
  ranges: RangeReport[];
}

/** Stage profiles by `model|split`, shared by the runs of one coordinator. */
export type ProfileCache = Map<string, Promise<StageProfile[]>>;

let nextRun = 1;

export class ShardedRunner {
  constructor(
    private readonly transport: ShardTransport,
    private readonly maxAttempts = 3,
    private readonly profiles: ProfileCache = new Map(),
  ) {}

  /** The model's stages for `split`, profiled on one host once and remembered. */
  profile(model: string, split: StageSplit, signal: AbortSignal): Promise<StageProfile[]> {
    const key = `${model}|${split}`;
    let p = this.profiles.get(key);
    if (!p) {
      p = (async () => {
        const hosts = this.transport.hosts();
        let lastError: unknown = new NoHostError('No host that can run model stages is ready');
        for (const h of hosts) {
          try {
            const r = (await this.transport.call(
              h.id,
              { action: 'profile', model, split },
              [],
              signal,
            )) as StagesProfileResult;
            return r.stages;
          } catch (e) {
            lastError = e;
            if (!(isTabpoolError(e) && e.code === 'HOST_LOST')) break;
          }
        }
        throw lastError;
      })();
      p.catch(() => this.profiles.delete(key));
      this.profiles.set(key, p);
    }
    return p;
  }

  async run(req: ShardedRunRequest): Promise<ShardedRunOutcome> {
    const signal = req.signal ?? new AbortController().signal;
    const profile = await this.profile(req.model, req.split, signal);
    // Work per stage: its weight bytes (matmul work grows with them); 1 for weightless stages.
    const infos: StageInfo[] = profile.map((s) => ({
      name: s.name,
      weightBytes: s.weightBytes,
      largestTensorBytes: s.largestTensorBytes,
      cost: Math.max(1, s.weightBytes),
      ...(s.group === null ? {} : { group: s.group }),
    }));
    const runKey = `shard-${Date.now().toString(36)}-${nextRun++}`;
    const dead = new Set<string>();
    const out: ShardedRunOutcome = {
      outputs: {},
      backend: 'cpu',
      plans: [],
      resumedFrom: [],
      ranges: [],
    };
    /** First stage not yet done, and the live host keeping the output of the one before. */
    let start = 0;
    let holder: string | null = null;
    let lastError: unknown = null;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      if (attempt > 1) out.resumedFrom.push(start);
      const hosts = this.transport.hosts().filter((h) => !dead.has(h.id));
      const rest = planPipeline(infos.slice(start), hosts, {
        maxHosts: req.maxHosts,
        byComponent: req.byComponent,
      });
      const plan: ShardPlan = {
        bottleneckMs: rest.bottleneckMs,
        segments: rest.segments.map((s) => ({ ...s, from: s.from + start, to: s.to + start })),
      };
      out.plans.push(plan);
      const legs = this.launch(req, runKey, plan, holder, signal);
      const settled = await Promise.all(legs.map((l) => l.done));
      const firstLost = settled.findIndex((r) => !r.ok && isLost(r.error));
      const other = settled.find(
        (r) => !r.ok && !isLost(r.error) && !(isAborted(r.error) && !signal.aborted),
      );
      if (other && !other.ok) throw other.error;
      for (const [i, r] of settled.entries()) {
        const leg = legs[i] as Leg;
        if (!r.ok || leg.kind === 'resend') continue;
        const v = r.value as StagesRunResult;
        out.ranges.push({
          hostId: leg.hostId,
          from: leg.from,
          to: leg.to,
          attempt,
          waitMs: v.waitMs,
          runMs: v.runMs,
          transferMs: v.transferMs,
          bytes: 'bytes' in v ? v.bytes : 0,
        });
      }
      const final = settled.at(-1);
      if (final?.ok) {
        const done = final.value as StagesDone;
        out.outputs = done.outputs;
        out.backend = done.backend;
        return out;
      }
      if (firstLost < 0) throw new InternalError('A sharded run ended with no result and no error');
      // A host died: resume after the last range that finished before it.
      lastError = (settled[firstLost] as { error: unknown }).error;
      for (const [i, r] of settled.entries())
        if (!r.ok && isLost(r.error)) dead.add((legs[i] as Leg).hostId);
      for (let i = firstLost - 1; i >= 0; i--) {
        const leg = legs[i] as Leg;
        if (settled[i]?.ok && leg.kind === 'run') {
          start = leg.to + 1;
          holder = leg.hostId;
          break;
        }
      }
      if (holder !== null && dead.has(holder)) {
        start = 0;
        holder = null;
      }
    }
    throw lastError;
  }

  /** Starts every range of `plan` (and the resend that feeds the first), wired by ports. */
  private launch(
    req: ShardedRunRequest,
    runKey: string,
    plan: ShardPlan,
    holder: string | null,
    signal: AbortSignal,
  ): Leg[] {
    const legs: Leg[] = [];
    const controllers: AbortController[] = [];
    const start = (plan.segments[0] as { from: number }).from;
    let inPort: MessagePort | undefined;
    if (start > 0) {
      // The host keeping stage start-1's output sends it again, to the first range's port.
      const ch = new MessageChannel();
      inPort = ch.port2;
      const controller = new AbortController();
      controllers.push(controller);
      legs.push({
        kind: 'resend',
        hostId: holder as string,
        from: start - 1,
        to: start - 1,
        done: this.call(
          holder as string,
          { action: 'resend', runKey, out: ch.port1 },
          [ch.port1],
          controller,
          signal,
        ),
      });
    }
    plan.segments.forEach((seg, i) => {
      const last = i === plan.segments.length - 1;
      const ch = last ? null : new MessageChannel();
      const params: StagesRunTask = {
        action: 'run',
        model: req.model,
        runKey,
        split: req.split,
        from: seg.from,
        to: seg.to,
        inputs: req.inputs,
        ...(last && req.outputs ? { outputs: req.outputs } : {}),
        ...(inPort ? { in: inPort } : {}),
        ...(ch ? { out: ch.port1 } : {}),
      };
      const transfer = [inPort, ch?.port1].filter((p): p is MessagePort => p !== undefined);
      const controller = new AbortController();
      controllers.push(controller);
      legs.push({
        kind: 'run',
        hostId: seg.hostId,
        from: seg.from,
        to: seg.to,
        done: this.call(seg.hostId, params, transfer, controller, signal),
      });
      inPort = ch?.port2;
    });
    // A lost host strands every range after it (they wait for its activation): cancel them.
    legs.forEach((leg, i) => {
      leg.done.then((r) => {
        if (!r.ok && isLost(r.error)) for (const c of controllers.slice(i + 1)) c.abort();
      });
    });
    return legs;
  }

  private call(
    hostId: string,
    params: StagesTask,
    transfer: Transferable[],
    controller: AbortController,
    outer: AbortSignal,
  ): Promise<Settled> {
    const onOuter = () => controller.abort();
    outer.addEventListener('abort', onOuter, { once: true });
    return this.transport
      .call(hostId, params, transfer, controller.signal)
      .then(
        (value): Settled => ({ ok: true, value }),
        (error): Settled => ({ ok: false, error }),
      )
      .finally(() => outer.removeEventListener('abort', onOuter));
  }
}

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };
interface Leg {
  kind: 'run' | 'resend';
  hostId: string;
  from: number;
  to: number;
  done: Promise<Settled>;
}

const isLost = (e: unknown) => isTabpoolError(e) && e.code === 'HOST_LOST';
const isAborted = (e: unknown) => isTabpoolError(e) && e.code === 'ABORTED';

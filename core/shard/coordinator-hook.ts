/**
 * The coordinator's hook for sharded runs: a page's `run` with `shard` set goes through the
 * sharded runner, whose transport is the coordinator's own `taskOnHost` — every range is a
 * `model-stages` task on a named host, its MessagePorts in the transfer list.
 */
import type { Coordinator, TaskOptions, TaskOutcome } from '../pool/coordinator';
import type { RunParams, RunResult } from '../protocol/inference';
import { type ProfileCache, ShardedRunner, type ShardTransport } from './sharded-run';

const profilesByCoordinator = new WeakMap<Coordinator, ProfileCache>();

export const wantsSharding = (params: unknown): params is RunParams & { shard: object } =>
  typeof (params as { shard?: unknown } | null)?.shard === 'object';

function transportFor(c: Coordinator, options: TaskOptions): ShardTransport {
  return {
    // Hosts with a MessagePort data plane: Firefox's (a runtime Port) cannot carry ports.
    // Limits are not reported by hosts yet: memory and buffers count as unbounded, speed 1.
    hosts: () =>
      c.registry
        .ready()
        .filter((h) => h.ops.includes('model-stages') && h.data !== null && h.data !== h.control)
        // The offscreen document first: it outlives pool tabs, so it takes the first stages
        // (the planner keeps the given order between equally good plans).
        .sort((a, b) => Number(b.kind === 'offscreen') - Number(a.kind === 'offscreen'))
        .map((h) => ({
          id: h.id,
          memoryBytes: Number.POSITIVE_INFINITY,
          maxBufferBytes: Number.POSITIVE_INFINITY,
          speed: 1,
        })),
    call: (hostId, params, transfer, signal) =>
      c.taskOnHost(hostId, 'model-stages', params, {
        deadlineAtMs: options.deadlineAtMs,
        signal,
        transfer,
      }),
  };
}

/** Runs `params` sharded and answers as `model-run` does, plus where each range ran. */
export async function runSharded(
  c: Coordinator,
  params: RunParams & { shard: object },
  options: TaskOptions,
): Promise<TaskOutcome> {
  // Profiles are remembered per coordinator; the transport carries this run's deadline.
  let profiles = profilesByCoordinator.get(c);
  if (!profiles) {
    profiles = new Map();
    profilesByCoordinator.set(c, profiles);
  }
  const shard = params.shard as NonNullable<RunParams['shard']>;
  const out = await new ShardedRunner(transportFor(c, options), 3, profiles).run({
    model: params.model,
    inputs: params.inputs,
    ...(params.outputs ? { outputs: params.outputs } : {}),
    split: shard.split ?? 'layers',
    ...(shard.hosts ? { maxHosts: shard.hosts } : {}),
    byComponent: shard.byComponent ?? false,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const result: RunResult = {
    outputs: out.outputs,
    backend: out.backend,
    shard: {
      ranges: out.ranges.map((r) => ({
        host: r.hostId,
        from: r.from,
        to: r.to,
        transferMs: r.transferMs,
        bytes: r.bytes,
      })),
      resumedFrom: out.resumedFrom,
    },
  };
  const lastRange = out.ranges.at(-1);
  const host = c.registry.get(lastRange?.hostId ?? '');
  return {
    result,
    host: { id: lastRange?.hostId ?? '', kind: host?.kind ?? 'offscreen' },
    attempts: out.plans.length,
  };
}

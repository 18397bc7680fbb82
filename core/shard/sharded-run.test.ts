/**
 * Sharded runs in Node: the real stage hosts (`createStageTasks`, CPU HAL) behind an in-process
 * transport, activations on real MessageChannels with transferred buffers. A sharded run equals
 * the whole model bit for bit; a host that dies mid-run is replaced and the run resumes from the
 * last stage a live host kept, not from the start.
 */
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createHal, type Hal } from '../../kernels/hal/hal';
import { modelFilesFromDir } from '../models/model-files-node';
import { HostLostError } from '../protocol/errors';
import type { StagesRunTask, StagesTask } from '../protocol/shard';
import { int32Tensor, type WireTensor } from '../protocol/tensor';
import { createModelTasks } from '../runtime/model-tasks';
import type { HostSpec } from './planner';
import { ShardedRunner, type ShardTransport } from './sharded-run';
import { createStageTasks } from './stage-host';

const FIXTURES = resolve(import.meta.dirname, '../../tests/fixtures/models');
const files = (id: string) => modelFilesFromDir(join(FIXTURES, id.replace(/@main$/, '')));

interface TestHost {
  spec: HostSpec;
  tasks: ReturnType<typeof createStageTasks>;
  alive: boolean;
  /** Calls in flight: killing the host rejects them with HOST_LOST, as the coordinator does. */
  inflight: Set<(e: unknown) => void>;
  calls: StagesTask[];
  /** Aborts the host's own work when it dies (a closed tab runs nothing more). */
  life: AbortController;
}

let hal: Hal;
const hosts: TestHost[] = [];
afterEach(() => {
  hosts.splice(0);
});

async function makeHosts(n: number, memoryBytes = Number.POSITIVE_INFINITY) {
  hal ??= await createHal();
  for (let i = 0; i < n; i++) {
    hosts.push({
      spec: { id: `h${i}`, memoryBytes, maxBufferBytes: Number.POSITIVE_INFINITY, speed: 1 },
      tasks: createStageTasks({ hal: async () => hal, files }),
      alive: true,
      inflight: new Set(),
      calls: [],
      life: new AbortController(),
    });
  }
}

/** `onCall` may kill hosts when a given call arrives (a host dying mid-run). */
function transport(onCall: (hostId: string, p: StagesTask) => void = () => {}): ShardTransport {
  return {
    hosts: () => hosts.filter((h) => h.alive).map((h) => h.spec),
    call(hostId, params, _transfer, signal) {
      const h = hosts.find((x) => x.spec.id === hostId) as TestHost;
      h.calls.push(params);
      onCall(hostId, params);
      if (!h.alive) return Promise.reject(new HostLostError(`${hostId} is gone`));
      return new Promise((resolve, reject) => {
        h.inflight.add(reject);
        h.tasks(params, { signal: AbortSignal.any([signal, h.life.signal]) }).then(
          (v) => (h.alive ? resolve(v) : undefined),
          (e) => (h.alive ? reject(e) : undefined),
        );
      });
    },
  };
}

function kill(id: string) {
  const h = hosts.find((x) => x.spec.id === id) as TestHost;
  h.alive = false;
  h.life.abort();
  for (const reject of h.inflight) reject(new HostLostError(`${id} died`));
}

const gpt2Inputs = (): Record<string, WireTensor> => ({
  input_ids: int32Tensor(new Int32Array([5, 17, 99, 3, 42, 8, 11, 64]), [1, 8]),
});

async function wholeRun(model: string, inputs: Record<string, WireTensor>) {
  const tasks = createModelTasks({ hal: async () => hal, files });
  return tasks.run({ model, inputs }, { onProgress: () => {} });
}

const sameBits = (a: WireTensor, b: WireTensor) =>
  expect(new Uint8Array(a.data)).toEqual(new Uint8Array(b.data));

describe('sharded runs over in-process stage hosts', () => {
  it.each([
    ['gpt2', 'layers', 2],
    ['gpt2', 'sublayers', 3],
    ['llama', 'layers', 3],
    ['bert', 'sublayers', 2],
  ] as const)('%s by %s over %i hosts equals the whole model bit for bit', async (id, split, n) => {
    await makeHosts(n);
    const inputs =
      id === 'bert'
        ? {
            input_ids: int32Tensor(new Int32Array([1, 7, 9, 4, 2, 1, 8, 2]), [2, 4]),
            attention_mask: int32Tensor(new Int32Array([1, 1, 1, 1, 1, 1, 0, 0]), [2, 4]),
          }
        : gpt2Inputs();
    const model = `${id}@main`;
    const runner = new ShardedRunner(transport());
    const sharded = await runner.run({ model, inputs, split });
    const whole = await wholeRun(model, inputs);
    expect(Object.keys(sharded.outputs).sort()).toEqual(Object.keys(whole.outputs).sort());
    for (const [k, t] of Object.entries(whole.outputs))
      sameBits(sharded.outputs[k] as WireTensor, t);
    expect(sharded.plans[0]?.segments).toHaveLength(n);
    expect(sharded.ranges.map((r) => r.hostId).sort()).toEqual(hosts.map((h) => h.spec.id).sort());
    // Every range after the first got its activation over a port.
    for (const r of sharded.ranges.slice(1)) expect(r.transferMs).not.toBeNull();
  });

  it('plans by memory: a model too big for one host runs over two', async () => {
    const probe = new ShardedRunner(transport());
    await makeHosts(1);
    const profile = await probe.profile('gpt2@main', 'layers', new AbortController().signal);
    hosts.splice(0);
    const total = profile.reduce((a, s) => a + s.weightBytes, 0);
    await makeHosts(2, Math.ceil(total * 0.7));
    const sharded = await new ShardedRunner(transport()).run({
      model: 'gpt2@main',
      inputs: gpt2Inputs(),
      split: 'layers',
    });
    for (const seg of sharded.plans[0]?.segments ?? []) {
      expect(seg.weightBytes).toBeLessThanOrEqual(Math.ceil(total * 0.7));
    }
    expect(sharded.plans[0]?.segments).toHaveLength(2);
  });

  it('resumes from the last finished stage when a host dies mid-run', async () => {
    await makeHosts(4);
    const model = 'gpt2@main';
    const whole = await wholeRun(model, gpt2Inputs());
    // Kill the third host of the plan when its range is sent: ranges 1 and 2 have finished
    // (or will), so the run resumes after range 2's last stage, on the hosts still alive.
    let killed: string | null = null;
    const t = transport((hostId, p) => {
      if (
        killed === null &&
        p.action === 'run' &&
        p.from > 0 &&
        hosts.findIndex((h) => h.spec.id === hostId) === 2
      ) {
        killed = hostId;
        queueMicrotask(() => kill(hostId));
      }
    });
    const sharded = await new ShardedRunner(t).run({
      model,
      inputs: gpt2Inputs(),
      split: 'sublayers',
    });
    for (const [k, w] of Object.entries(whole.outputs))
      sameBits(sharded.outputs[k] as WireTensor, w);
    expect(killed).toBe('h2');
    const firstPlan = sharded.plans[0]?.segments ?? [];
    const dead = firstPlan.findIndex((s) => s.hostId === 'h2');
    const before = firstPlan[dead - 1];
    // Resumed right after the range before the dead host, from that host's kept activation.
    expect(sharded.resumedFrom).toEqual([(before?.to ?? -1) + 1]);
    const resend = hosts
      .flatMap((h) => h.calls.map((c) => ({ host: h.spec.id, c })))
      .find(({ c }) => c.action === 'resend');
    expect(resend?.host).toBe(before?.hostId);
    // Stages before the resume point ran once; none ran on the dead host after it died.
    const starts = hosts.flatMap((h) =>
      h.calls.filter((c): c is StagesRunTask => c.action === 'run').map((c) => c.from),
    );
    expect(starts.filter((f) => f === 0)).toHaveLength(1);
    expect(sharded.plans[1]?.segments.every((s) => s.hostId !== 'h2')).toBe(true);
  });

  it('restarts from the inputs when the host keeping the activation died too', async () => {
    await makeHosts(3);
    const model = 'llama@main';
    const whole = await wholeRun(model, gpt2Inputs());
    let round = 0;
    const t = transport((hostId, p) => {
      // Second range's host dies, and the first range's host with it.
      if (round === 0 && p.action === 'run' && p.from > 0) {
        round++;
        const first = hosts[0]?.spec.id as string;
        queueMicrotask(() => {
          kill(hostId);
          if (first !== hostId) kill(first);
        });
      }
    });
    const sharded = await new ShardedRunner(t, 3).run({
      model,
      inputs: gpt2Inputs(),
      split: 'layers',
    });
    for (const [k, w] of Object.entries(whole.outputs))
      sameBits(sharded.outputs[k] as WireTensor, w);
    expect(sharded.resumedFrom[0]).toBe(0);
  });

  it('NO_SHARD_PLAN when the hosts together cannot hold the model', async () => {
    await makeHosts(2, 1000);
    await expect(
      new ShardedRunner(transport()).run({
        model: 'gpt2@main',
        inputs: gpt2Inputs(),
        split: 'layers',
      }),
    ).rejects.toMatchObject({ code: 'NO_SHARD_PLAN' });
  });
});

it('NO_HOST (typed, not INTERNAL) when no host can run model stages', async () => {
  await expect(
    new ShardedRunner({ hosts: () => [], call: () => Promise.reject(new Error('unused')) }).run({
      model: 'gpt2@main',
      inputs: gpt2Inputs(),
      split: 'layers',
    }),
  ).rejects.toMatchObject({ code: 'NO_HOST' });
});

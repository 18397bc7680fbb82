/**
 * Model work goes where the model already is: the real coordinator and two real host runtimes
 * (each with its own model memory) over MessageChannels. One host loads a model once and serves
 * every later request for it; only a backlog makes a second host load a copy; a host that dies
 * takes its residency with it.
 */
import { afterEach, expect, it } from 'vitest';
import { createHal } from '../../kernels/hal/hal';
import { messagePortChannel } from '../messaging/channel';
import { modelFilesFromMap } from '../models/model-files';
import { byteTokenizerFiles, randomModelFiles } from '../models/testing/random-models';
import type { CoordinatorToHost, HostToCoordinator } from '../protocol/host';
import { type HostRuntime, startHostRuntime } from '../runtime/host-runtime';
import { createModelTasks } from '../runtime/model-tasks';
import { createHostOps } from '../runtime/ops';
import { createTaskRunner } from '../runtime/tasks';
import { Coordinator } from './coordinator';

const files = {
  ...randomModelFiles('bert', {
    hidden: 16,
    layers: 1,
    heads: 2,
    intermediate: 32,
    vocab: 260,
    labels: 2,
  }),
  ...byteTokenizerFiles(),
};
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

async function pool(hostCount: number) {
  // Hosts here run their model work on the test's own thread: heartbeats must tolerate a burst.
  const c = new Coordinator({ heartbeatIntervalMs: 500 });
  c.start();
  cleanup.push(() => c.stop());
  const loads = new Map<string, number>();
  const hosts: { runtime: HostRuntime; kill(): void }[] = [];
  for (let i = 0; i < hostCount; i++) {
    const ch = new MessageChannel();
    const coordEnd = messagePortChannel<HostToCoordinator, CoordinatorToHost>(ch.port1);
    c.registry.addControl(coordEnd);
    const hostEnd = messagePortChannel<CoordinatorToHost, HostToCoordinator>(ch.port2);
    let hostId = '';
    const models = createModelTasks({
      hal: () => createHal(),
      files: (id) => {
        loads.set(hostId, (loads.get(hostId) ?? 0) + 1);
        return modelFilesFromMap(id, files);
      },
    });
    const runtime = startHostRuntime({
      kind: 'tab',
      ops: await createHostOps(null),
      connect: async (id) => {
        hostId = id;
        return { control: hostEnd, data: hostEnd };
      },
      tasks: createTaskRunner(models),
    });
    cleanup.push(() => runtime.stop());
    hosts.push({
      runtime,
      kill: () => {
        runtime.stop();
        coordEnd.close();
      },
    });
  }
  while (c.registry.ready().length < hostCount) await new Promise((r) => setTimeout(r, 5));
  const embed = () =>
    c.task(
      'model-embed',
      { model: 'org/bert', texts: ['some text'], pooling: 'mean', normalize: true },
      { deadlineAtMs: Date.now() + 10_000 },
    );
  return { c, loads, hosts, embed };
}

it('loads a model on one host and sends every later request there', async () => {
  const { loads, embed } = await pool(2);
  const served = new Set<string>();
  for (let i = 0; i < 6; i++) served.add((await embed()).host.id);
  expect(served.size).toBe(1);
  expect([...loads.values()].reduce((a, b) => a + b, 0)).toBe(1);
});

it('loads a second copy only when the first host is backed up', async () => {
  const { loads, embed } = await pool(2);
  await embed();
  // A backlog long enough that waiting for one host costs more than loading a copy (by the
  // load time this run measured on the first request).
  const burst = await Promise.all(Array.from({ length: 30 }, () => embed()));
  expect(new Set(burst.map((r) => r.host.id)).size).toBe(2);
  expect([...loads.values()].reduce((a, b) => a + b, 0)).toBe(2);
});

it('moves the model to a live host when its host dies', async () => {
  const { loads, hosts, embed } = await pool(2);
  const first = (await embed()).host.id;
  hosts.find((h) => h.runtime.hostId === first)?.kill();
  const next = await embed();
  expect(next.host.id).not.toBe(first);
  expect(loads.get(next.host.id)).toBe(1);
});

it('keeps a warm standby copy when asked, so losing the holder costs no reload', async () => {
  const { c, loads, hosts, embed } = await pool(2);
  c.standbyCopy = true;
  const first = (await embed()).host.id;
  // The standby copy warms up in the background on the other host.
  for (let i = 0; i < 200 && [...loads.values()].reduce((a, b) => a + b, 0) < 2; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  expect(loads.size).toBe(2);
  hosts.find((h) => h.runtime.hostId === first)?.kill();
  const next = await embed();
  expect(next.host.id).not.toBe(first);
  expect(loads.get(next.host.id)).toBe(1); // it was already loaded: no second load
});

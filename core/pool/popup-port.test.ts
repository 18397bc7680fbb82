import { afterEach, describe, expect, it } from 'vitest';
import { messagePortChannel } from '../messaging/channel';
import type {
  BenchHostResult,
  CoordinatorToHost,
  HostToCoordinator,
  PoolStatusMessage,
  PopupCommand,
  PopupMessage,
} from '../protocol/host';
import { type HostRuntime, startHostRuntime } from '../runtime/host-runtime';
import { createHostOps } from '../runtime/ops';
import { memoryGrantTable, OriginGate } from '../security/origin-gate';
import { Coordinator } from './coordinator';
import { trackDownloads } from './download-tracker';
import { servePopupChannel } from './popup-port';

/**
 * The popup port against a real coordinator and a real host runtime (CPU kernels) over
 * MessageChannels: what the popup and the dashboard receive, and a benchmark run end to end.
 */
const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

async function setup() {
  const coordinator = new Coordinator({ heartbeatIntervalMs: 50 });
  coordinator.start();
  const downloads = trackDownloads(coordinator.registry);
  const control = new MessageChannel();
  const data = new MessageChannel();
  coordinator.registry.addControl(messagePortChannel(control.port1));
  let attached = false;
  const runtime: HostRuntime = startHostRuntime({
    kind: 'tab',
    ops: await createHostOps(null),
    reconnectDelayMs: 10_000,
    connect: async (hostId) => {
      if (!attached) {
        attached = true;
        coordinator.registry.addData(hostId, messagePortChannel(data.port1));
      }
      return {
        control: messagePortChannel<CoordinatorToHost, HostToCoordinator>(control.port2),
        data: messagePortChannel<CoordinatorToHost, HostToCoordinator>(data.port2),
      };
    },
  });
  const popup = new MessageChannel();
  const gate = new OriginGate(memoryGrantTable());
  servePopupChannel(
    messagePortChannel<PopupCommand, PopupMessage>(popup.port1),
    coordinator.registry,
    gate,
    coordinator.metrics,
    { coordinator, downloads },
  );
  const ui = messagePortChannel<PopupMessage, PopupCommand>(popup.port2);
  const received: PopupMessage[] = [];
  ui.onMessage((m) => received.push(m));
  stops.push(() => {
    ui.close();
    runtime.stop();
    coordinator.stop();
  });
  return { coordinator, runtime, ui, received, data };
}

const until = async (check: () => boolean, timeoutMs = 20_000) => {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};
const lastStatus = (received: PopupMessage[]) =>
  received.filter((m): m is PoolStatusMessage => m.type === 'pool-status').at(-1);

describe('servePopupChannel', () => {
  it('pushes each host with its queue, memory and resident models', async () => {
    const { received } = await setup();
    await until(() => lastStatus(received)?.hosts[0]?.state === 'ready');
    const host = lastStatus(received)?.hosts[0];
    expect(host).toMatchObject({ kind: 'tab', queued: 0, residentModels: [], breaker: 'closed' });
    // Node has no performance.memory: the field says "unknown", not 0.
    expect(host?.memoryBytes).toBeNull();
    expect(lastStatus(received)?.downloads).toEqual([]);
  });

  it('runs a benchmark on every ready host and reports its samples', async () => {
    const { ui, received, runtime } = await setup();
    await until(() => lastStatus(received)?.hosts[0]?.state === 'ready');
    ui.post({
      type: 'bench-run',
      id: 'b1',
      params: {
        kernels: [
          { op: 'matmul', size: 16 },
          { op: 'softmax', size: 32 },
        ],
        models: [],
        budgetMs: 20,
      },
    });
    await until(() => received.some((m) => m.type === 'bench-done'));
    const result = received.find((m): m is BenchHostResult => m.type === 'bench-host');
    expect(result?.error).toBeNull();
    expect(result?.host).toEqual({ id: runtime.hostId, kind: 'tab' });
    // Node has no WebGPU here: the CPU kernels only.
    expect(result?.samples.map((s) => `${s.name} ${s.shape} ${s.backend}`)).toEqual([
      'matmul 16x16x16 cpu',
      'softmax 32x32 cpu',
    ]);
    for (const s of result?.samples ?? []) {
      expect(s.ms).toBeGreaterThan(0);
      expect(s.iterations).toBeGreaterThanOrEqual(5);
      expect(s.gflops).toBeCloseTo(
        (s.name === 'matmul' ? 2 * 16 ** 3 : 5 * 32 * 32) / s.ms / 1e6,
        6,
      );
    }
    expect(received.find((m) => m.type === 'bench-done')).toEqual({
      type: 'bench-done',
      id: 'b1',
      hosts: 1,
    });
  });

  it('reports a host that refuses a benchmark as an error, not samples', async () => {
    const { ui, received } = await setup();
    await until(() => lastStatus(received)?.hosts[0]?.state === 'ready');
    ui.post({
      type: 'bench-run',
      id: 'b2',
      params: { kernels: [{ op: 'matmul', size: 1 }], models: [], budgetMs: 20 },
    });
    await until(() => received.some((m) => m.type === 'bench-done'));
    const result = received.find((m): m is BenchHostResult => m.type === 'bench-host');
    expect(result?.samples).toEqual([]);
    expect(result?.error?.code).toBe('INVALID_PARAMS');
  });

  it('shows a download in flight from the host’s progress events, and drops it when it ends', async () => {
    const { received, runtime, data } = await setup();
    await until(() => lastStatus(received)?.hosts[0]?.state === 'ready');
    // The host's side of the data plane, speaking as the storage downloader's task would.
    const host = messagePortChannel<CoordinatorToHost, HostToCoordinator>(data.port2);
    const file = { path: 'model.safetensors', bytes: 512, totalBytes: 2048 };
    host.post({
      type: 'task-progress',
      runId: 77,
      progress: { modelId: 'org/m@main', bytes: 600, totalBytes: 2100, file },
    });
    host.post({ type: 'task-progress', runId: 78, progress: { token: { id: 1, text: 'a' } } });
    await until(() => (lastStatus(received)?.downloads.length ?? 0) > 0);
    expect(lastStatus(received)?.downloads).toEqual([
      expect.objectContaining({
        modelId: 'org/m@main',
        hostId: runtime.hostId,
        bytes: 600,
        totalBytes: 2100,
        file,
      }),
    ]);
    host.post({ type: 'task-result', runId: 77, result: {} });
    await until(() => lastStatus(received)?.downloads.length === 0);
  });

  it('forgets a download whose host died, and one silent for too long', async () => {
    const { coordinator, received, runtime, data } = await setup();
    await until(() => lastStatus(received)?.hosts[0]?.state === 'ready');
    let nowMs = 1_000;
    const quiet = trackDownloads(coordinator.registry, { staleAfterMs: 500, now: () => nowMs });
    const host = messagePortChannel<CoordinatorToHost, HostToCoordinator>(data.port2);
    const file = { path: 'model.safetensors', bytes: 1, totalBytes: 2 };
    host.post({
      type: 'task-progress',
      runId: 5,
      progress: { modelId: 'org/m@main', bytes: 1, totalBytes: 2, file },
    });
    await until(() => quiet.list().length === 1);
    nowMs += 501; // no word for longer than staleAfterMs: a cancelled task may never answer
    expect(quiet.list()).toEqual([]);

    host.post({
      type: 'task-progress',
      runId: 6,
      progress: { modelId: 'org/m@main', bytes: 1, totalBytes: 2, file },
    });
    await until(() => (lastStatus(received)?.downloads.length ?? 0) === 1);
    runtime.stop(); // the host's page goes away: its ports close
    data.port1.close();
    await until(() => lastStatus(received)?.hosts[0]?.state === 'dead');
    await until(() => lastStatus(received)?.downloads.length === 0);
  });
});

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { messagePortChannel } from '../messaging/channel';
import type { CoordinatorToHost, HostToCoordinator } from '../protocol/host';
import { float32Tensor } from '../protocol/tensor';
import { type HostRuntime, startHostRuntime } from '../runtime/host-runtime';
import { createHostOps, type HostOps } from '../runtime/ops';
import { Coordinator } from './coordinator';

/**
 * These tests run the real coordinator against real host runtimes over real MessageChannels —
 * the same code the extension runs, minus the browser's runtime Ports.
 */
interface TestHost {
  runtime: HostRuntime;
  /** Simulates the host's page going away: both channel ends close. */
  kill(): void;
}

const coordinators: Coordinator[] = [];
let cpuOps: HostOps;
beforeAll(async () => {
  cpuOps = await createHostOps(null); // the kernels' HAL, CPU backend
});
const hosts: TestHost[] = [];

afterEach(() => {
  for (const h of hosts.splice(0)) h.runtime.stop();
  for (const c of coordinators.splice(0)) c.stop();
});

function makeCoordinator(options: ConstructorParameters<typeof Coordinator>[0] = {}) {
  const c = new Coordinator({ heartbeatIntervalMs: 50, ...options });
  c.start();
  coordinators.push(c);
  return c;
}

/** Connects a host with separate control and data channels, as Chrome hosts have. */
function addHost(
  c: Coordinator,
  kind: 'tab' | 'offscreen' = 'tab',
  split = true,
  /** A host that answers heartbeats but swallows runs while this returns true. */
  hangs: () => boolean = () => false,
): TestHost {
  const control = new MessageChannel();
  const data = new MessageChannel();
  const coordControl = messagePortChannel<HostToCoordinator, CoordinatorToHost>(control.port1);
  const coordData = messagePortChannel<HostToCoordinator, CoordinatorToHost>(data.port1);
  const hostControl = messagePortChannel<CoordinatorToHost, HostToCoordinator>(control.port2);
  const realHostData = messagePortChannel<CoordinatorToHost, HostToCoordinator>(data.port2);
  const hostData: typeof realHostData = {
    ...realHostData,
    onMessage: (cb) =>
      realHostData.onMessage((m) => (m.type === 'run' && hangs() ? undefined : cb(m))),
  };
  c.registry.addControl(coordControl);
  let attached = false;
  const runtime = startHostRuntime({
    kind,
    ops: cpuOps,
    reconnectDelayMs: 10_000,
    connect: async (hostId) => {
      if (split && !attached) {
        attached = true;
        c.registry.addData(hostId, coordData);
      }
      return split
        ? { control: hostControl, data: hostData }
        : { control: hostControl, data: hostControl };
    },
  });
  const host = {
    runtime,
    kill() {
      runtime.stop();
      coordControl.close();
      coordData.close();
    },
  };
  hosts.push(host);
  return host;
}

const until = async (check: () => boolean, timeoutMs = 2_000) => {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

const inputs = () => ({
  a: float32Tensor(Float32Array.from([1, 2, 3, 4]), [2, 2]),
  b: float32Tensor(Float32Array.from([5, 6, 7, 8]), [2, 2]),
});
const soon = (ms = 2_000) => ({ deadlineAtMs: Date.now() + ms });

describe('Coordinator', () => {
  it('runs a matmul on a host and returns binary outputs', async () => {
    const c = makeCoordinator();
    addHost(c);
    const out = await c.run('matmul', inputs(), soon());
    expect(out.outputs.c?.shape).toEqual([2, 2]);
    expect([...new Float32Array(out.outputs.c?.data as ArrayBuffer)]).toEqual([19, 22, 43, 50]);
    expect(out.host.kind).toBe('tab');
    expect(out.attempts).toBe(1);
  });

  it('works where one carrier holds both planes (Firefox)', async () => {
    const c = makeCoordinator();
    addHost(c, 'tab', false);
    const out = await c.run('matmul', inputs(), soon());
    expect([...new Float32Array(out.outputs.c?.data as ArrayBuffer)]).toEqual([19, 22, 43, 50]);
  });

  it('spreads sequential requests across every ready host', async () => {
    const c = makeCoordinator();
    addHost(c, 'offscreen');
    addHost(c, 'tab');
    addHost(c, 'tab');
    await until(() => c.registry.ready().length === 3);
    const served = new Map<string, number>();
    for (let i = 0; i < 9; i++) {
      const { host } = await c.run('matmul', inputs(), soon());
      served.set(host.id, (served.get(host.id) ?? 0) + 1);
    }
    expect([...served.values()]).toEqual([3, 3, 3]);
    expect(c.registry.summaries().map((h) => h.served)).toEqual([3, 3, 3]);
  });

  it('waits for a host that appears later, within the deadline', async () => {
    const c = makeCoordinator();
    const pending = c.run('matmul', inputs(), soon());
    setTimeout(() => addHost(c), 30);
    await expect(pending).resolves.toMatchObject({ attempts: 1 });
  });

  it('fails with NO_HOST when none appears before the deadline', async () => {
    const c = makeCoordinator();
    await expect(c.run('matmul', inputs(), soon(60))).rejects.toMatchObject({ code: 'NO_HOST' });
  });

  it('retries a run on another host when its host dies mid-run', async () => {
    const c = makeCoordinator();
    const first = addHost(c, 'offscreen');
    await until(() => c.registry.ready().length === 1);
    addHost(c, 'tab');
    await until(() => c.registry.ready().length === 2);
    // Stop the first host's runtime so it never answers, then kill it once the run is queued.
    const target = c.registry.pick('matmul');
    expect(target?.kind).toBe('offscreen');
    first.runtime.stop();
    const pending = c.run('matmul', inputs(), soon());
    await until(() => (c.registry.get(target?.id ?? '')?.inflight ?? 0) === 1);
    first.kill();
    const out = await pending;
    expect(out.host.kind).toBe('tab');
    expect(out.attempts).toBe(2);
    expect(c.registry.get(target?.id ?? '')?.state).toBe('dead');
  });

  it('stops sending work to a host that stops answering heartbeats', async () => {
    const c = makeCoordinator({ heartbeatIntervalMs: 20, heartbeatTimeoutMs: 60 });
    const silent = addHost(c, 'offscreen');
    addHost(c, 'tab');
    await until(() => c.registry.ready().length === 2);
    silent.runtime.stop(); // closes its side: no more pongs, but the coordinator is not told
    await until(() => c.registry.ready().length === 1, 1_000);
    for (let i = 0; i < 4; i++) {
      expect((await c.run('matmul', inputs(), soon())).host.kind).toBe('tab');
    }
  });

  it('passes a kernel error back typed, without retrying', async () => {
    const c = makeCoordinator();
    addHost(c);
    const bad = {
      a: float32Tensor(new Float32Array(4), [2, 2]),
      b: float32Tensor(new Float32Array(3), [3, 1]),
    };
    await expect(c.run('matmul', bad, soon())).rejects.toMatchObject({ code: 'KERNEL_FAILED' });
  });

  it('times out a run whose host never answers', async () => {
    const c = makeCoordinator({ heartbeatIntervalMs: 10_000 });
    const h = addHost(c);
    await until(() => c.registry.ready().length === 1);
    h.runtime.stop();
    await expect(c.run('matmul', inputs(), soon(80))).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(c.registry.summaries()[0]?.inflight).toBe(0);
  });

  it('cancels a run in flight: ABORTED at once, the host slot freed, a late reply ignored', async () => {
    const c = makeCoordinator({ heartbeatIntervalMs: 10_000 });
    const h = addHost(c);
    await until(() => c.registry.ready().length === 1);
    h.runtime.stop(); // the host will not answer, so the run stays in flight until cancelled
    const controller = new AbortController();
    const pending = c.run('matmul', inputs(), { ...soon(), signal: controller.signal });
    await until(() => c.registry.summaries()[0]?.inflight === 1);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });
    expect(c.registry.summaries()[0]?.inflight).toBe(0);
  });

  it('cancels a run still waiting for a host', async () => {
    const c = makeCoordinator();
    const controller = new AbortController();
    const pending = c.run('matmul', inputs(), { ...soon(), signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('refuses a run whose signal has already fired', async () => {
    const c = makeCoordinator();
    addHost(c);
    await expect(
      c.run('matmul', inputs(), { ...soon(), signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('opens the breaker of a host that hangs, sends work elsewhere, and closes it after a good probe', async () => {
    const c = makeCoordinator({
      heartbeatIntervalMs: 20,
      breaker: { threshold: 1, halfOpenAfterMs: 150, timeoutFaultFloorMs: 0 },
    });
    let hanging = true;
    addHost(c, 'offscreen', true, () => hanging);
    await until(() => c.registry.ready().length === 1);
    addHost(c, 'tab');
    await until(() => c.registry.ready().length === 2);
    // The offscreen host is picked first (registered first) and swallows the run.
    await expect(c.run('matmul', inputs(), soon(60))).rejects.toMatchObject({ code: 'TIMEOUT' });
    const hung = c.registry.summaries().find((h) => h.kind === 'offscreen');
    expect(hung?.breaker).toBe('open');
    expect(hung?.state).toBe('ready'); // alive (it answers pings), just not trusted with work
    for (let i = 0; i < 4; i++) {
      expect((await c.run('matmul', inputs(), soon())).host.kind).toBe('tab');
    }
    hanging = false;
    await new Promise((r) => setTimeout(r, 160));
    const kinds = new Set<string>();
    for (let i = 0; i < 4; i++) kinds.add((await c.run('matmul', inputs(), soon())).host.kind);
    expect(kinds.has('offscreen')).toBe(true); // the probe succeeded
    expect(c.registry.summaries().find((h) => h.kind === 'offscreen')?.breaker).toBe('closed');
  });

  it('keeps a breaker open across a coordinator restart', async () => {
    const c = makeCoordinator({
      breaker: { threshold: 1, halfOpenAfterMs: 60_000, timeoutFaultFloorMs: 0 },
    });
    const h = addHost(c, 'tab', true, () => true);
    await until(() => c.registry.ready().length === 1);
    await expect(c.run('matmul', inputs(), soon(40))).rejects.toMatchObject({ code: 'TIMEOUT' });
    const saved = JSON.parse(JSON.stringify(c.registry.breakerStates()));
    const hostId = h.runtime.hostId;
    expect(Object.keys(saved)).toEqual([hostId]);
    // A new coordinator (as after a service-worker restart) restores, then the host says hello.
    const next = makeCoordinator({ breaker: { threshold: 1, halfOpenAfterMs: 60_000 } });
    next.registry.restoreBreakers(saved);
    const control = new MessageChannel();
    next.registry.addControl(
      messagePortChannel<HostToCoordinator, CoordinatorToHost>(control.port1),
    );
    const hostEnd = messagePortChannel<CoordinatorToHost, HostToCoordinator>(control.port2);
    const again = startHostRuntime({
      kind: 'tab',
      ops: cpuOps,
      hostId,
      connect: async () => ({ control: hostEnd, data: hostEnd }),
    });
    hosts.push({ runtime: again, kill: () => again.stop() });
    await until(() => next.registry.ready().length === 1);
    expect(next.registry.summaries()[0]?.breaker).toBe('open');
    await expect(next.run('matmul', inputs(), soon(80))).rejects.toMatchObject({ code: 'NO_HOST' });
  });
});

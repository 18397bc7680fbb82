/**
 * The coordinator's queue with real host runtimes over MessageChannels: origins take turns,
 * priorities, deadlines in the queue, cancellation, and hedged requests.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { messagePortChannel } from '../messaging/channel';
import { GpuDeviceLostError } from '../protocol/errors';
import type { CoordinatorToHost, HostToCoordinator } from '../protocol/host';
import { float32Tensor } from '../protocol/tensor';
import { startHostRuntime } from '../runtime/host-runtime';
import { createHostOps, type HostOps } from '../runtime/ops';
import { Coordinator, type RunOptions } from './coordinator';

let cpuOps: HostOps;
beforeAll(async () => {
  cpuOps = await createHostOps(null);
});
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

/** A host whose runs wait until `gate()` says go (to hold jobs in the queue), or forever. */
function addHost(c: Coordinator, gate: () => 'run' | 'hang' = () => 'run', ops?: HostOps) {
  const ch = new MessageChannel();
  const coordEnd = messagePortChannel<HostToCoordinator, CoordinatorToHost>(ch.port1);
  const real = messagePortChannel<CoordinatorToHost, HostToCoordinator>(ch.port2);
  // One carrier holds both planes, so the runtime listens on it twice: count run ids once.
  const cancelled = new Set<number>();
  const hostEnd: typeof real = {
    ...real,
    onMessage: (cb) =>
      real.onMessage((m) => {
        if (m.type === 'task-cancel') cancelled.add(m.runId);
        if (m.type === 'run' && gate() === 'hang') return;
        cb(m);
      }),
  };
  c.registry.addControl(coordEnd);
  const runtime = startHostRuntime({
    kind: 'tab',
    ops: ops ?? cpuOps,
    connect: async () => ({ control: hostEnd, data: hostEnd }),
  });
  cleanup.push(() => runtime.stop());
  return { runtime, cancelled };
}

async function pool(hosts: number, options: ConstructorParameters<typeof Coordinator>[0] = {}) {
  const c = new Coordinator({ heartbeatIntervalMs: 200, ...options });
  c.start();
  cleanup.push(() => c.stop());
  const added = Array.from({ length: hosts }, () => addHost(c));
  while (c.registry.ready().length < hosts) await new Promise((r) => setTimeout(r, 5));
  return { c, added };
}

const product = (c: Coordinator, x: number, options: Partial<RunOptions> = {}) =>
  c
    .run(
      'matmul',
      {
        a: float32Tensor(Float32Array.of(x), [1, 1]),
        b: float32Tensor(Float32Array.of(2), [1, 1]),
      },
      { deadlineAtMs: Date.now() + 10_000, ...options },
    )
    .then((r) => new Float32Array(r.outputs.c?.data as ArrayBuffer)[0]);

describe('Coordinator scheduling', () => {
  it('serves origins in turn: a quiet page is not stuck behind a flooding one', async () => {
    const { c } = await pool(1, { hostSlots: 1 });
    const order: string[] = [];
    const flood = Array.from({ length: 30 }, (_, i) =>
      product(c, i, { origin: 'https://flood.test' }).then(() => order.push('flood')),
    );
    const quiet = Array.from({ length: 3 }, (_, i) =>
      product(c, i, { origin: 'https://quiet.test' }).then(() => order.push('quiet')),
    );
    await Promise.all([...flood, ...quiet]);
    // Queued after 30 flood jobs, the quiet page's 3 jobs still finish within the first 8.
    const lastQuiet = order.lastIndexOf('quiet');
    expect(lastQuiet).toBeLessThan(8);
    expect(order).toHaveLength(33);
  });

  it('runs interactive work before background work queued earlier', async () => {
    const { c } = await pool(1, { hostSlots: 1 });
    const order: string[] = [];
    const bg = Array.from({ length: 3 }, (_, i) =>
      product(c, i, { priority: 'background' }).then(() => order.push('b')),
    );
    const fg = Array.from({ length: 2 }, (_, i) =>
      product(c, i, { priority: 'interactive' }).then(() => order.push('i')),
    );
    await Promise.all([...bg, ...fg]);
    // The first background job was already on the host; the interactive ones overtake the rest.
    expect(order.join('')).toBe('biibb');
  });

  it('ends a job whose deadline passes in the queue with TIMEOUT, and takes it off the queue', async () => {
    const c = new Coordinator({ heartbeatIntervalMs: 200, hostSlots: 1 });
    c.start();
    cleanup.push(() => c.stop());
    addHost(c, () => 'hang'); // the one slot stays taken by the first job
    while (c.registry.ready().length < 1) await new Promise((r) => setTimeout(r, 5));
    const holder = product(c, 1, { deadlineAtMs: Date.now() + 300 });
    const late = product(c, 2, { deadlineAtMs: Date.now() + 20 });
    await expect(late).rejects.toMatchObject({ code: 'TIMEOUT', detail: { phase: 'queued' } });
    expect(c.schedule().queued).toBe(0);
    await expect(holder).rejects.toMatchObject({ code: 'TIMEOUT', detail: { phase: 'running' } });
    expect(c.schedule().deadlineMisses).toBe(2);
  });

  it('cancels a queued job: ABORTED, gone from the queue, the others unaffected', async () => {
    const { c } = await pool(1, { hostSlots: 1 });
    const controller = new AbortController();
    const first = product(c, 1);
    const doomed = product(c, 2, { signal: controller.signal });
    const third = product(c, 3);
    controller.abort();
    await expect(doomed).rejects.toMatchObject({ code: 'ABORTED' });
    expect([await first, await third]).toEqual([2, 6]);
  });

  it('hedges a slow request on another host: first answer wins, the loser is cancelled', async () => {
    const c = new Coordinator({ heartbeatIntervalMs: 200, latency: { priorServiceMs: 10 } });
    c.start();
    cleanup.push(() => c.stop());
    let hang = true;
    const stuck = addHost(c, () => (hang ? 'hang' : 'run'));
    while (c.registry.ready().length < 1) await new Promise((r) => setTimeout(r, 5));
    addHost(c);
    while (c.registry.ready().length < 2) await new Promise((r) => setTimeout(r, 5));
    // Make the hanging host the first choice: the other one just served a job.
    const healthy = c.registry.ready().find((h) => h.id !== stuck.runtime.hostId);
    if (healthy) healthy.lastDispatchSeq = 1_000;
    const started = Date.now();
    const value = await product(c, 21, { hedge: true });
    hang = false;
    expect(value).toBe(42);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(c.schedule().hedges).toEqual({ launched: 1, won: 1 });
    await new Promise((r) => setTimeout(r, 20));
    expect(stuck.cancelled.size).toBe(1); // the losing copy was called off
  });

  it('sends a copy of a stalled run elsewhere even when not asked to hedge', async () => {
    const c = new Coordinator({ heartbeatIntervalMs: 200, latency: { priorServiceMs: 10 } });
    c.start();
    cleanup.push(() => c.stop());
    // This host answers heartbeats but swallows runs: only the stall hedge can save them.
    const stuck = addHost(c, () => 'hang');
    while (c.registry.ready().length < 1) await new Promise((r) => setTimeout(r, 5));
    addHost(c);
    while (c.registry.ready().length < 2) await new Promise((r) => setTimeout(r, 5));
    const healthy = c.registry.ready().find((h) => h.id !== stuck.runtime.hostId);
    if (healthy) healthy.lastDispatchSeq = 1_000;
    expect(await product(c, 4)).toBe(8);
    expect(c.schedule().hedges).toEqual({ launched: 1, won: 1 });
  });

  it('runs a job again on another host when its host loses the GPU device', async () => {
    const c = new Coordinator({ heartbeatIntervalMs: 200 });
    c.start();
    cleanup.push(() => c.stop());
    const lost: HostOps = {
      ...cpuOps,
      run: async () => {
        throw new GpuDeviceLostError('device destroyed');
      },
    };
    const broken = addHost(c, () => 'run', lost);
    while (c.registry.ready().length < 1) await new Promise((r) => setTimeout(r, 5));
    addHost(c);
    while (c.registry.ready().length < 2) await new Promise((r) => setTimeout(r, 5));
    const healthy = c.registry.ready().find((h) => h.id !== broken.runtime.hostId);
    if (healthy) healthy.lastDispatchSeq = 1_000; // the broken host is the first choice
    const r = await c.run(
      'matmul',
      {
        a: float32Tensor(Float32Array.of(3), [1, 1]),
        b: float32Tensor(Float32Array.of(2), [1, 1]),
      },
      { deadlineAtMs: Date.now() + 5_000 },
    );
    expect(r.attempts).toBe(2);
    expect(r.host.id).not.toBe(broken.runtime.hostId);
    expect(new Float32Array(r.outputs.c?.data as ArrayBuffer)[0]).toBe(6);
  });

  it('times ops by size class: one big product does not make its host look slow for small ones', async () => {
    const { c } = await pool(2);
    const n = 384;
    const big = float32Tensor(new Float32Array(n * n).fill(1), [n, n]);
    await c.run('matmul', { a: big, b: big }, { deadlineAtMs: Date.now() + 20_000 });
    const used = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const r = await c.run(
        'matmul',
        {
          a: float32Tensor(Float32Array.of(i), [1, 1]),
          b: float32Tensor(Float32Array.of(2), [1, 1]),
        },
        { deadlineAtMs: Date.now() + 5_000 },
      );
      used.add(r.host.id);
    }
    expect(used.size).toBe(2);
  });

  it('does not hedge a request that is not marked latency-critical', async () => {
    const { c } = await pool(2);
    for (let i = 0; i < 5; i++) expect(await product(c, i)).toBe(2 * i);
    expect(c.schedule().hedges.launched).toBe(0);
  });
});

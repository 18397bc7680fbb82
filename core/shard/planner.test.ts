import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type HostSpec, planPipeline, type ShardPlan, type StageInfo } from './planner';

const stage = (name: string, weightBytes: number, group?: string): StageInfo => ({
  name,
  weightBytes,
  largestTensorBytes: weightBytes,
  cost: weightBytes,
  ...(group ? { group } : {}),
});
const host = (id: string, memoryBytes: number, speed = 1, maxBufferBytes = Infinity): HostSpec => ({
  id,
  memoryBytes,
  maxBufferBytes,
  speed,
});

const arbStages = (max: number) =>
  fc.array(
    fc.record({
      name: fc.constant('s'),
      weightBytes: fc.integer({ min: 0, max: 100 }),
      largestTensorBytes: fc.integer({ min: 0, max: 100 }),
      cost: fc.integer({ min: 1, max: 100 }),
      group: fc.constantFrom('a', 'b'),
    }),
    { minLength: 1, maxLength: max },
  );
const arbHosts = (max: number) =>
  fc
    .array(
      fc.record({
        memoryBytes: fc.integer({ min: 50, max: 600 }),
        maxBufferBytes: fc.integer({ min: 40, max: 120 }),
        speed: fc.constantFrom(0.5, 1, 2, 3),
      }),
      { minLength: 1, maxLength: max },
    )
    .map((hs) => hs.map((h, i) => ({ id: `h${i}`, ...h })));

/** Every plan over every order and every split, by brute force: the true optimum. */
function bruteForce(stages: StageInfo[], hosts: HostSpec[], maxHosts: number): number | null {
  const n = stages.length;
  let best: number | null = null;
  const go = (from: number, used: Set<string>, worst: number) => {
    if (from === n) {
      if (best === null || worst < best) best = worst;
      return;
    }
    if (used.size >= maxHosts) return;
    for (const h of hosts) {
      if (used.has(h.id)) continue;
      let bytes = 0;
      let cost = 0;
      for (let to = from; to < n; to++) {
        const s = stages[to] as StageInfo;
        bytes += s.weightBytes;
        cost += s.cost;
        if (bytes > h.memoryBytes || s.largestTensorBytes > h.maxBufferBytes) break;
        go(to + 1, new Set([...used, h.id]), Math.max(worst, cost / h.speed));
      }
    }
  };
  go(0, new Set(), 0);
  return best;
}

function checkPlan(plan: ShardPlan, stages: StageInfo[], hosts: HostSpec[]) {
  // Covered exactly once, in order.
  let next = 0;
  for (const seg of plan.segments) {
    expect(seg.from).toBe(next);
    expect(seg.to).toBeGreaterThanOrEqual(seg.from);
    next = seg.to + 1;
  }
  expect(next).toBe(stages.length);
  // One range per host; every host's limits respected.
  expect(new Set(plan.segments.map((s) => s.hostId)).size).toBe(plan.segments.length);
  for (const seg of plan.segments) {
    const h = hosts.find((x) => x.id === seg.hostId) as HostSpec;
    const mine = stages.slice(seg.from, seg.to + 1);
    expect(mine.reduce((a, s) => a + s.weightBytes, 0)).toBeLessThanOrEqual(h.memoryBytes);
    for (const s of mine) expect(s.largestTensorBytes).toBeLessThanOrEqual(h.maxBufferBytes);
  }
  expect(plan.bottleneckMs).toBe(Math.max(...plan.segments.map((s) => s.ms)));
}

describe('planPipeline', () => {
  it('balances equal layers over equal hosts', () => {
    const stages = Array.from({ length: 8 }, (_, i) => stage(`layer.${i}`, 10));
    const plan = planPipeline(stages, [host('a', 1000), host('b', 1000)]);
    expect(plan.segments.map((s) => [s.hostId, s.from, s.to])).toEqual([
      ['a', 0, 3],
      ['b', 4, 7],
    ]);
    expect(plan.bottleneckMs).toBe(40);
  });

  it('gives a host twice as fast twice the work', () => {
    const stages = Array.from({ length: 9 }, (_, i) => stage(`layer.${i}`, 10));
    const plan = planPipeline(stages, [host('slow', 1000, 1), host('fast', 1000, 2)]);
    const fast = plan.segments.find((s) => s.hostId === 'fast');
    expect(fast && fast.to - fast.from + 1).toBe(6);
    expect(plan.bottleneckMs).toBe(30);
  });

  it('uses one host when the whole model fits and only one is allowed', () => {
    const stages = [stage('e', 5), stage('l', 5), stage('h', 5)];
    const plan = planPipeline(stages, [host('a', 100), host('b', 100)], { maxHosts: 1 });
    expect(plan.segments).toHaveLength(1);
  });

  it('splits by memory when one host cannot hold the model', () => {
    const stages = [stage('e', 40), stage('l0', 40), stage('l1', 40), stage('h', 40)];
    const plan = planPipeline(stages, [host('a', 100, 10), host('b', 100, 1)]);
    expect(plan.segments.map((s) => s.weightBytes)).toEqual([80, 80]);
  });

  it('cuts only between components when asked', () => {
    const stages = [
      stage('enc.0', 10, 'encoder'),
      stage('enc.1', 10, 'encoder'),
      stage('enc.2', 10, 'encoder'),
      stage('dec.0', 10, 'decoder'),
    ];
    const plan = planPipeline(stages, [host('a', 100), host('b', 100)], { byComponent: true });
    expect(plan.segments.map((s) => [s.from, s.to])).toEqual([
      [0, 2],
      [3, 3],
    ]);
  });

  it('NO_SHARD_PLAN names a stage bigger than every host', () => {
    const stages = [stage('e', 10), stage('huge', 500), stage('h', 10)];
    expect(() => planPipeline(stages, [host('a', 100), host('b', 200)])).toThrow(
      expect.objectContaining({
        code: 'NO_SHARD_PLAN',
        detail: expect.objectContaining({ reason: 'memory', name: 'huge', stage: 1 }),
      }),
    );
  });

  it('NO_SHARD_PLAN for a tensor over every maxBufferSize', () => {
    const stages = [{ ...stage('e', 10), largestTensorBytes: 300 }];
    expect(() => planPipeline(stages, [host('a', 1000, 1, 256)])).toThrow(
      expect.objectContaining({
        code: 'NO_SHARD_PLAN',
        detail: expect.objectContaining({ reason: 'buffer' }),
      }),
    );
  });

  it('NO_SHARD_PLAN when the stages fit one by one but not all together', () => {
    const stages = [stage('a', 60), stage('b', 60), stage('c', 60)];
    expect(() => planPipeline(stages, [host('x', 100), host('y', 100)])).toThrow(
      expect.objectContaining({ code: 'NO_SHARD_PLAN' }),
    );
  });

  it('property: covers every stage once, in order, within limits, and matches the brute-force optimum', () => {
    fc.assert(
      fc.property(
        arbStages(7),
        arbHosts(3),
        fc.integer({ min: 1, max: 3 }),
        (stages, hosts, maxHosts) => {
          const best = bruteForce(stages, hosts, maxHosts);
          let plan: ShardPlan | null = null;
          try {
            plan = planPipeline(stages, hosts, { maxHosts });
          } catch (e) {
            expect((e as { code?: string }).code).toBe('NO_SHARD_PLAN');
          }
          // A plan exists exactly when brute force finds one, and it is optimal (factor 1.0).
          expect(plan === null).toBe(best === null);
          if (!plan) return;
          checkPlan(plan, stages, hosts);
          expect(plan.segments.length).toBeLessThanOrEqual(maxHosts);
          expect(plan.bottleneckMs).toBeCloseTo(best as number, 9);
        },
      ),
      { numRuns: 400, seed: 9 },
    );
  });

  it('property: by component, every cut falls between groups', () => {
    fc.assert(
      fc.property(arbStages(8), arbHosts(3), (stages, hosts) => {
        let plan: ShardPlan;
        try {
          plan = planPipeline(stages, hosts, { byComponent: true });
        } catch (e) {
          expect((e as { code?: string }).code).toBe('NO_SHARD_PLAN');
          return;
        }
        checkPlan(plan, stages, hosts);
        for (const seg of plan.segments.slice(0, -1)) {
          expect(stages[seg.to]?.group).not.toBe(stages[seg.to + 1]?.group);
        }
      }),
      { numRuns: 300, seed: 10 },
    );
  });

  it('plans 200 stages over 8 hosts (the greedy order path) quickly enough to run per request', () => {
    const stages = Array.from({ length: 200 }, (_, i) => stage(`s${i}`, 1 + (i % 7)));
    const hosts = Array.from({ length: 8 }, (_, i) => host(`h${i}`, 400, 1 + (i % 3)));
    const plan = planPipeline(stages, hosts);
    checkPlan(plan, stages, hosts);
    // Lower bound: all work spread perfectly over the total speed. Stated factor: within 1.5×.
    const total = stages.reduce((a, s) => a + s.cost, 0);
    const speed = hosts.reduce((a, h) => a + h.speed, 0);
    expect(plan.bottleneckMs).toBeLessThanOrEqual(1.5 * (total / speed) + 7);
  });
});

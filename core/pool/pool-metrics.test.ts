import { describe, expect, it } from 'vitest';
import { PoolMetrics } from './pool-metrics';

describe('PoolMetrics', () => {
  it('buckets finished requests per second with their median latency', () => {
    let t = 10_000;
    const m = new PoolMetrics(3, () => t);
    m.record(10);
    m.record(30);
    m.record(20);
    t += 1_000;
    m.record(5);
    t += 1_000; // this second has nothing yet
    const s = m.series();
    expect(s.atMs).toEqual([10_000, 11_000, 12_000]);
    expect(s.completed).toEqual([3, 1, 0]);
    expect(s.latencyMs).toEqual([20, 5, null]);
  });

  it('forgets what is older than the window', () => {
    let t = 0;
    const m = new PoolMetrics(2, () => t);
    m.record(1);
    t += 5_000;
    m.record(2);
    m.record(4);
    expect(m.series()).toEqual({ atMs: [4_000, 5_000], completed: [0, 2], latencyMs: [null, 3] });
  });
});

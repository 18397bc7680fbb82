import { describe, expect, it } from 'vitest';
import { LatencyModel } from './latency-model';

describe('LatencyModel', () => {
  it('learns a moving average of service time per host, model and op', () => {
    const m = new LatencyModel({ alpha: 0.5, priorServiceMs: 50 });
    expect(m.serviceMs('h1', 'bert', 'model-embed')).toBe(50); // nothing known: the prior
    m.observe('h1', 'bert', 'model-embed', 900); // a host's first run (compiles, JIT): not timed
    expect(m.serviceMs('h1', 'bert', 'model-embed')).toBe(50);
    m.observe('h1', 'bert', 'model-embed', 10);
    m.observe('h1', 'bert', 'model-embed', 20);
    expect(m.serviceMs('h1', 'bert', 'model-embed')).toBe(15);
    // Another host falls back to what the pool knows about the same work.
    expect(m.serviceMs('h2', 'bert', 'model-embed')).toBe(15);
    expect(m.serviceMs('h1', 'bert', 'model-classify')).toBe(50);
  });

  it('learns the load cost from cold runs and charges it only to hosts without the weights', () => {
    const m = new LatencyModel({ alpha: 1, priorLoadMs: 2_000 });
    expect(m.loadMs('h1', 'bert')).toBe(2_000);
    m.observe('h1', 'bert', 'model-embed', 10, true);
    m.observe('h1', 'bert', 'model-embed', 10);
    m.observe('h2', 'bert', 'model-embed', 410, true); // loaded the weights: 400 ms of load
    expect(m.loadMs('h2', 'bert')).toBe(400);
    expect(m.loadMs('h3', 'bert')).toBe(400); // never loaded there: the pool's (latest, α = 1)
    expect(m.serviceMs('h2', 'bert', 'model-embed')).toBe(10); // the cold run did not skew it
    // Holding the weights with 3 jobs ahead (40 ms) beats loading a copy (410 ms)...
    expect(m.expectedFinishMs('h1', 'bert', 'model-embed', 3, true)).toBe(40);
    expect(m.expectedFinishMs('h3', 'bert', 'model-embed', 0, false)).toBe(410);
    // ...until the backlog outgrows the load.
    expect(m.expectedFinishMs('h1', 'bert', 'model-embed', 50, true)).toBeGreaterThan(410);
  });

  it('forgets a dead host’s own averages but keeps the pool’s', () => {
    const m = new LatencyModel({ alpha: 1 });
    m.observe('h1', 'matmul', 'matmul', 1_000);
    m.observe('h1', 'matmul', 'matmul', 7);
    m.forgetHost('h1');
    expect(m.snapshot()).toEqual([]);
    expect(m.serviceMs('h1', 'matmul', 'matmul')).toBe(7);
  });
});

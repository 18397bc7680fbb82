import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Priority, type QueuedJob, Scheduler } from './scheduler';

const job = (id: number, origin: string, queue = 'm', priority: Priority = 'interactive') => ({
  id,
  origin,
  queue,
  priority,
});
const drain = (s: Scheduler<QueuedJob>, canRun: (j: QueuedJob) => boolean = () => true) => {
  const out: QueuedJob[] = [];
  for (let j = s.next(canRun); j; j = s.next(canRun)) out.push(j);
  return out;
};

const opArb = fc.oneof(
  fc.record({
    kind: fc.constant('enqueue' as const),
    origin: fc.constantFrom('a', 'b', 'c', 'd'),
    queue: fc.constantFrom('m1', 'm2', 'matmul'),
    priority: fc.constantFrom<Priority>('interactive', 'background'),
  }),
  fc.record({ kind: fc.constant('next' as const), blocked: fc.constantFrom('', 'm1', 'm2') }),
  fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
);

describe('Scheduler', () => {
  it('loses no job and hands none out twice, whatever the mix of enqueues, takes and removals', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 200 }), (ops) => {
        const s = new Scheduler<QueuedJob>();
        const queued = new Set<number>();
        const ended = new Set<number>();
        let nextId = 1;
        for (const op of ops) {
          if (op.kind === 'enqueue') {
            s.enqueue(job(nextId, op.origin, op.queue, op.priority));
            queued.add(nextId++);
          } else if (op.kind === 'next') {
            const j = s.next((x) => x.queue !== op.blocked);
            if (j) {
              expect(j.queue).not.toBe(op.blocked);
              expect(queued.delete(j.id)).toBe(true);
              expect(ended.has(j.id)).toBe(false);
              ended.add(j.id);
            } else {
              // Nothing runnable: every waiting job is of the blocked queue.
              for (const w of s.jobs()) expect(w.queue).toBe(op.blocked);
            }
          } else {
            const ids = [...queued];
            const id = ids[op.pick % Math.max(1, ids.length)];
            if (id === undefined) continue;
            expect(s.remove(id)).toBe(true);
            expect(s.remove(id)).toBe(false);
            queued.delete(id);
            ended.add(id);
          }
          expect(s.size).toBe(queued.size);
        }
        for (const j of drain(s)) {
          expect(queued.delete(j.id)).toBe(true);
          ended.add(j.id);
        }
        expect(queued.size).toBe(0);
        expect(ended.size).toBe(nextId - 1);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps backlogged origins within one job of each other, however unevenly they send', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 2, maxLength: 5 }),
        fc.array(fc.constantFrom('m1', 'm2', 'm3'), { minLength: 1, maxLength: 3 }),
        (backlogs, queues) => {
          const s = new Scheduler<QueuedJob>();
          let id = 1;
          backlogs.forEach((n, o) => {
            for (let i = 0; i < n; i++) s.enqueue(job(id++, `o${o}`, queues[i % queues.length]));
          });
          const served = backlogs.map(() => 0);
          for (const j of drain(s)) {
            const o = Number(j.origin.slice(1));
            served[o] = (served[o] ?? 0) + 1;
            // Every origin that still has work has been served within one of every other.
            const active = served.filter((_, k) => served[k] !== backlogs[k]);
            const busiest = Math.max(...active, 0);
            for (let k = 0; k < backlogs.length; k++) {
              if (served[k] !== backlogs[k])
                expect(busiest - (served[k] ?? 0)).toBeLessThanOrEqual(1);
            }
          }
          expect(served).toEqual(backlogs);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('lets a late origin in on the next turn, not behind a flood', () => {
    const s = new Scheduler<QueuedJob>();
    for (let i = 1; i <= 1000; i++) s.enqueue(job(i, 'flood'));
    s.next(() => true);
    s.enqueue(job(2000, 'quiet'));
    const order = [s.next(() => true), s.next(() => true)].map((j) => j?.origin);
    expect(order).toContain('quiet');
  });

  it('serves interactive work first but never starves background work', () => {
    const s = new Scheduler<QueuedJob>(4);
    for (let i = 1; i <= 20; i++) s.enqueue(job(i, 'a', 'm', 'interactive'));
    for (let i = 21; i <= 25; i++) s.enqueue(job(i, 'b', 'm', 'background'));
    const order = drain(s)
      .map((j) => j.priority[0])
      .join('');
    // One background job after every three interactive ones while both wait.
    expect(order.slice(0, 8)).toBe('iiibiiib');
    expect(order.length).toBe(25);
    const t = new Scheduler<QueuedJob>(4);
    t.enqueue(job(1, 'a', 'm', 'background'));
    t.enqueue(job(2, 'a', 'm', 'interactive'));
    expect(t.next(() => true)?.id).toBe(2); // an interactive arrival jumps the background one
  });

  it('takes turns between an origin’s models and skips a job no host can take now', () => {
    const s = new Scheduler<QueuedJob>();
    s.enqueue(job(1, 'a', 'slow-model'));
    s.enqueue(job(2, 'a', 'slow-model'));
    s.enqueue(job(3, 'a', 'other'));
    expect(s.next((j) => j.queue !== 'slow-model')?.id).toBe(3);
    expect(s.snapshot()).toMatchObject({ queued: 2, byQueue: { 'slow-model': 2 }, origins: 1 });
    expect(s.waiting('slow-model')).toBe(2);
    expect(drain(s).map((j) => j.id)).toEqual([1, 2]);
    expect(s.waiting('slow-model')).toBe(0);
  });
});

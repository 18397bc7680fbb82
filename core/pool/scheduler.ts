/**
 * The pool's run queue: which waiting job goes next when a host has a free slot.
 *
 * Order, from the outside in:
 * 1. Priority: `interactive` jobs go before `background` ones, but a background job waiting
 *    behind `backgroundEvery - 1` interactive dispatches goes next, so background work is
 *    slowed by a flood, never starved.
 * 2. Origin: origins take turns (round robin), so a page that sends a thousand jobs delays
 *    another page's job by at most one job per other origin waiting — not by a thousand.
 * 3. Model: within one origin, each model (or op) has its own FIFO queue and the queues take
 *    turns, so one slow model does not hold back the same page's work on another.
 *
 * `next(canRun)` walks that order and takes the first job `canRun` accepts: a job no host can
 * take now (its op is unsupported by the free hosts) is skipped, not allowed to block the line.
 * The scheduler holds no timers; deadlines and cancellation call `remove`.
 */

export type Priority = 'interactive' | 'background';
export const PRIORITIES: readonly Priority[] = ['interactive', 'background'];

export interface QueuedJob {
  /** Unique per job. */
  id: number;
  origin: string;
  /** The queue inside the origin: the model id for model work, the op name otherwise. */
  queue: string;
  priority: Priority;
}

/** A ring of keys served in turn; a key leaves the ring when its queue empties. */
class Ring<K, V> {
  readonly items = new Map<K, V>();
  private order: K[] = [];
  private cursor = 0;

  get(key: K): V | undefined {
    return this.items.get(key);
  }

  add(key: K, value: V): void {
    this.items.set(key, value);
    // Join just behind the cursor: a newcomer waits one full turn like everyone else.
    this.order.splice(this.cursor, 0, key);
    this.cursor++;
    if (this.cursor > this.order.length - 1) this.cursor = 0;
  }

  delete(key: K): void {
    const at = this.order.indexOf(key);
    if (at < 0) return;
    this.order.splice(at, 1);
    this.items.delete(key);
    if (at < this.cursor) this.cursor--;
    if (this.cursor >= this.order.length) this.cursor = 0;
  }

  /** Keys from the cursor on, once round. */
  *inTurn(): Generator<K> {
    const n = this.order.length;
    const start = this.cursor;
    for (let i = 0; i < n; i++) yield this.order[(start + i) % n] as K;
  }

  /** `key` was just served: the next turn starts after it. */
  served(key: K): void {
    const at = this.order.indexOf(key);
    if (at >= 0) this.cursor = (at + 1) % this.order.length;
  }

  get size(): number {
    return this.order.length;
  }
}

type OriginQueues<J> = Ring<string, J[]>;

export interface SchedulerSnapshot {
  queued: number;
  byPriority: Record<Priority, number>;
  /** Jobs waiting per queue key (model id or op). */
  byQueue: Record<string, number>;
  /** Origins with work waiting. */
  origins: number;
}

export class Scheduler<J extends QueuedJob> {
  private readonly levels = new Map<Priority, Ring<string, OriginQueues<J>>>(
    PRIORITIES.map((p) => [p, new Ring<string, OriginQueues<J>>()]),
  );
  private readonly where = new Map<number, J>();
  private readonly perQueue = new Map<string, number>();
  /** Interactive dispatches in a row while background work waited. */
  private interactiveStreak = 0;

  constructor(private readonly backgroundEvery = 4) {}

  get size(): number {
    return this.where.size;
  }

  has(id: number): boolean {
    return this.where.has(id);
  }

  /** Jobs waiting with this queue key (a model id or op), across origins and priorities. */
  waiting(queue: string): number {
    return this.perQueue.get(queue) ?? 0;
  }

  enqueue(job: J): void {
    if (this.where.has(job.id)) throw new Error(`job ${job.id} is already queued`);
    const level = this.levels.get(job.priority) as Ring<string, OriginQueues<J>>;
    let origin = level.get(job.origin);
    if (!origin) {
      origin = new Ring<string, J[]>();
      level.add(job.origin, origin);
    }
    let fifo = origin.get(job.queue);
    if (!fifo) {
      fifo = [];
      origin.add(job.queue, fifo);
    }
    fifo.push(job);
    this.where.set(job.id, job);
    this.perQueue.set(job.queue, this.waiting(job.queue) + 1);
  }

  /** Takes a waiting job out (deadline, cancel). False if it was not queued. */
  remove(id: number): boolean {
    const job = this.where.get(id);
    if (!job) return false;
    const fifo = this.levels.get(job.priority)?.get(job.origin)?.get(job.queue);
    const at = fifo?.indexOf(job) ?? -1;
    if (fifo && at >= 0) fifo.splice(at, 1);
    this.forget(job);
    return true;
  }

  /** The next job in fair order that `canRun` accepts, taken off the queue; or undefined. */
  next(canRun: (job: J) => boolean): J | undefined {
    const order = this.priorityOrder();
    for (const priority of order) {
      const job = this.nextIn(priority, canRun);
      if (!job) continue;
      this.noteDispatch(priority);
      return job;
    }
    return undefined;
  }

  /** Every waiting job, in no promised order (for deadline sweeps and tests). */
  jobs(): J[] {
    return [...this.where.values()];
  }

  snapshot(): SchedulerSnapshot {
    const byPriority = { interactive: 0, background: 0 };
    const byQueue: Record<string, number> = {};
    const origins = new Set<string>();
    for (const j of this.where.values()) {
      byPriority[j.priority]++;
      byQueue[j.queue] = (byQueue[j.queue] ?? 0) + 1;
      origins.add(j.origin);
    }
    return { queued: this.where.size, byPriority, byQueue, origins: origins.size };
  }

  private priorityOrder(): Priority[] {
    const backgroundWaits = (this.levels.get('background')?.size ?? 0) > 0;
    if (backgroundWaits && this.interactiveStreak >= this.backgroundEvery - 1) {
      return ['background', 'interactive'];
    }
    return ['interactive', 'background'];
  }

  private noteDispatch(priority: Priority): void {
    if (priority === 'background') this.interactiveStreak = 0;
    else if ((this.levels.get('background')?.size ?? 0) > 0) this.interactiveStreak++;
    else this.interactiveStreak = 0;
  }

  private nextIn(priority: Priority, canRun: (job: J) => boolean): J | undefined {
    const level = this.levels.get(priority) as Ring<string, OriginQueues<J>>;
    for (const originKey of level.inTurn()) {
      const origin = level.get(originKey) as OriginQueues<J>;
      for (const queueKey of origin.inTurn()) {
        const fifo = origin.get(queueKey) as J[];
        const at = fifo.findIndex(canRun);
        if (at < 0) continue;
        const [job] = fifo.splice(at, 1) as [J];
        origin.served(queueKey);
        level.served(originKey);
        this.forget(job);
        return job;
      }
    }
    return undefined;
  }

  private forget(job: J): void {
    this.prune(job);
    this.where.delete(job.id);
    const left = this.waiting(job.queue) - 1;
    if (left > 0) this.perQueue.set(job.queue, left);
    else this.perQueue.delete(job.queue);
  }

  /** Drops the job's model queue and origin entry once they are empty. */
  private prune(job: J): void {
    const level = this.levels.get(job.priority) as Ring<string, OriginQueues<J>>;
    const origin = level.get(job.origin);
    if (!origin) return;
    if (origin.get(job.queue)?.length === 0) origin.delete(job.queue);
    if (origin.size === 0) level.delete(job.origin);
  }
}

/**
 * The coordinator's queue of jobs waiting for a host, and where each goes: a fair queue
 * (scheduler.ts) drained into host slots by placement on a learned latency model
 * (latency-model.ts), preferring hosts that already hold a job's model.
 */
import { AbortedError, NoHostError, TimeoutError } from '../protocol/errors';
import type { HostWork } from '../protocol/host';
import type { RunOptions } from './coordinator';
import type { HostEntry, HostRegistry } from './host-registry';
import { LatencyModel, type LatencyModelOptions } from './latency-model';
import { type QueuedJob, Scheduler, type SchedulerSnapshot } from './scheduler';

/** A job waiting in the queue for a host. */
interface WaitingJob extends QueuedJob {
  work: HostWork;
  /** The stored model the job needs, if any: hosts holding it skip the load. */
  model: string | null;
  /** Hosts this job already failed on (a retry or a hedge goes elsewhere if it can). */
  avoid: ReadonlySet<string>;
  /** Wait for a host outside `avoid` rather than fall back to one in it. */
  strictAvoid: boolean;
  assign(host: HostEntry): void;
}

export class HostQueue {
  /** Service times learned per host × model/op: what placement predicts finish times from. */
  readonly latency: LatencyModel;
  /** Which hosts hold each model in memory (they ran a task on it). */
  private readonly residents = new Map<string, Set<string>>();
  private readonly queue = new Scheduler<WaitingJob>();
  private pumping = false;
  private nextJobId = 1;

  constructor(
    private readonly registry: HostRegistry,
    /** Jobs one host runs at once; the rest wait here. */
    private readonly hostSlots = 4,
    latency?: LatencyModelOptions,
  ) {
    this.latency = new LatencyModel(latency);
  }

  snapshot(): SchedulerSnapshot {
    return this.queue.snapshot();
  }

  /** The hosts known to hold `model` in memory. */
  holders(model: string): ReadonlySet<string> {
    return this.residents.get(model) ?? new Set();
  }

  /** `hostId` ran a job on `model`, so it holds the weights now. */
  addResident(model: string, hostId: string): void {
    const hosts = this.residents.get(model) ?? new Set<string>();
    hosts.add(hostId);
    this.residents.set(model, hosts);
  }

  /** The model was dropped from every host's memory. */
  forgetModel(model: string): void {
    this.residents.delete(model);
  }

  /** A host died: it holds nothing, and what was learned about it is void. */
  forgetHost(hostId: string): void {
    for (const hosts of this.residents.values()) hosts.delete(hostId);
    this.latency.forgetHost(hostId);
  }

  /** The models this host holds, sorted. */
  residentModels(hostId: string): string[] {
    const out: string[] = [];
    for (const [model, hosts] of this.residents) if (hosts.has(hostId)) out.push(model);
    return out.sort();
  }

  /**
   * Queues the job and resolves with the host the queue gives it (a slot reserved there).
   * Ends it with TIMEOUT at its deadline (NO_HOST if no host could ever run it), or ABORTED.
   */
  acquire(
    work: HostWork,
    model: string | null,
    { deadlineAtMs, signal, origin, priority, strictAvoid, costKey }: RunOptions,
    avoid: ReadonlySet<string>,
  ): Promise<HostEntry> {
    if (signal?.aborted) return Promise.reject(new AbortedError('The run was cancelled'));
    return new Promise((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const job: WaitingJob = {
        id: this.nextJobId++,
        origin: origin ?? 'extension',
        queue: costKey ?? model ?? work,
        priority: priority ?? 'interactive',
        work,
        model,
        avoid,
        strictAvoid: strictAvoid ?? false,
        assign: (host) => {
          finish();
          host.reserved++;
          resolve(host);
        },
      };
      const onAbort = () => {
        if (!this.queue.remove(job.id)) return;
        finish();
        reject(new AbortedError('The run was cancelled while waiting for a host'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(
        () => {
          if (!this.queue.remove(job.id)) return;
          const anyHost = this.registry
            .ready()
            .some((h) => h.ops.includes(work) && h.breaker.available());
          reject(
            anyHost
              ? new TimeoutError(`"${work}" waited in the queue past its deadline`, {
                  detail: { phase: 'queued' },
                })
              : new NoHostError(`No host that can run "${work}" became ready in time`),
          );
        },
        Math.max(0, deadlineAtMs - Date.now()),
      );
      this.queue.enqueue(job);
      this.pump();
    });
  }

  /** Hands waiting jobs to hosts while the queue has jobs and the hosts have room. */
  pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        let chosen: HostEntry | undefined;
        const job = this.queue.next((j) => {
          chosen = this.bestHost(j);
          return chosen !== undefined;
        });
        if (!job || !chosen) return;
        job.assign(chosen);
      }
    } finally {
      this.pumping = false;
    }
  }

  /**
   * Where a job finishes soonest by the latency model, if that host has a free slot now;
   * otherwise undefined and the job keeps waiting (for that host, or until the backlog makes
   * another host worth it). For a model job the backlog counts every job waiting for the same
   * model: loading a second copy pays once that backlog would take longer than the load.
   */
  private bestHost(job: WaitingJob): HostEntry | undefined {
    const now = Date.now();
    const usable = this.registry
      .ready()
      .filter((h) => h.ops.includes(job.work) && h.breaker.available(now));
    const fresh = usable.filter((h) => !job.avoid.has(h.id));
    const holders = job.model ? this.residents.get(job.model) : undefined;
    // Jobs for the same model behind this one (it is still counted while being placed).
    const waiting = job.model ? Math.max(0, this.queue.waiting(job.queue) - 1) : 0;
    let best: HostEntry | undefined;
    let bestMs = Number.POSITIVE_INFINITY;
    let bestResident = false;
    for (const h of fresh.length > 0 || job.strictAvoid ? fresh : usable) {
      const resident = !job.model || (holders?.has(h.id) ?? false);
      const ahead = h.inflight + h.reserved + (resident ? waiting : 0);
      const ms = this.latency.expectedFinishMs(h.id, job.queue, job.work, ahead, resident);
      // Within 2× (or 20 ms: scheduling noise on a busy machine) counts as a tie, broken by
      // who waited longest: a steady stream spreads over hosts of about the same speed (and
      // keeps every host's average fresh); a host twice as fast (WebGPU) still wins.
      // Never between a host holding the model and one that would have to load it.
      const tie =
        best !== undefined &&
        resident === bestResident &&
        (Math.abs(ms - bestMs) < TIE_MS || (ms < bestMs * 2 && bestMs < ms * 2));
      if (tie ? h.lastDispatchSeq < (best as HostEntry).lastDispatchSeq : ms < bestMs) {
        best = h;
        bestMs = ms;
        bestResident = resident;
      }
    }
    if (!best || best.inflight + best.reserved >= this.hostSlots) return undefined;
    return best;
  }
}

/** Finish-time estimates closer than this are the same to placement. */
const TIE_MS = 20;

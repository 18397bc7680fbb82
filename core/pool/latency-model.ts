/**
 * What the pool has learned about how long work takes where: an exponentially weighted moving
 * average (EWMA) of service time per host × queue (model id, or op) × op, and of the extra
 * time a host took the first time it ran a model it did not hold (loading the weights).
 *
 * Placement asks `expectedFinishMs` for each free host and takes the smallest: the work ahead
 * of the job on that host, the job's own service time, and the load cost if the host does not
 * hold the model. So a host holding the model wins until its backlog costs more than loading a
 * second copy elsewhere — a trade the numbers decide, not a fixed slack.
 *
 * Nothing measured yet: estimates fall back to the same work on other hosts, then to priors.
 */

export interface LatencyModelOptions {
  /** Weight of the newest sample in each average (0..1). */
  alpha?: number;
  /** Service time assumed for work never seen anywhere. */
  priorServiceMs?: number;
  /** Load cost assumed for a model never loaded anywhere. */
  priorLoadMs?: number;
}

interface Ewma {
  value: number;
  samples: number;
}

const key = (...parts: string[]) => parts.join('\u0000');

export interface LatencySnapshotRow {
  hostId: string;
  queue: string;
  op: string;
  serviceMs: number;
  samples: number;
}

export class LatencyModel {
  private readonly alpha: number;
  private readonly priorServiceMs: number;
  private readonly priorLoadMs: number;
  /** host × queue × op → service time. */
  private readonly service = new Map<string, Ewma>();
  /** queue × op → service time on any host (the fallback for a host that never ran it). */
  private readonly anyHost = new Map<string, Ewma>();
  /** host × queue → load cost; queue → load cost on any host. */
  private readonly load = new Map<string, Ewma>();
  private readonly loadAnyHost = new Map<string, Ewma>();
  /** host × queue × op that ran once already (their first run is not timed). */
  private readonly warmedUp = new Set<string>();

  constructor(options: LatencyModelOptions = {}) {
    this.alpha = options.alpha ?? 0.3;
    this.priorServiceMs = options.priorServiceMs ?? 50;
    this.priorLoadMs = options.priorLoadMs ?? 2_000;
  }

  /**
   * One finished job. `cold`: the host loaded the model for it, so part of `elapsedMs` was the
   * load — that part (over the warm average) trains the load cost, not the service time.
   */
  observe(hostId: string, queue: string, op: string, elapsedMs: number, cold = false): void {
    const ms = Math.max(0, elapsedMs);
    if (cold) {
      // Before any warm run was timed, the whole first run counts as load: an overestimate
      // that errs toward the host already holding the weights.
      const warm =
        this.service.get(key(hostId, queue, op))?.value ??
        this.anyHost.get(key(queue, op))?.value ??
        0;
      const loadMs = Math.max(0, ms - warm);
      this.update(this.load, key(hostId, queue), loadMs);
      this.update(this.loadAnyHost, queue, loadMs);
      this.warmedUp.add(key(hostId, queue, op));
      return;
    }
    // A host's first run of a kind of work pays one-time costs (shader pipelines, JIT): timing
    // it would make the host look slow, and a host that looks slow gets no runs to disprove it.
    if (!this.warmedUp.has(key(hostId, queue, op))) {
      this.warmedUp.add(key(hostId, queue, op));
      return;
    }
    this.update(this.service, key(hostId, queue, op), ms);
    this.update(this.anyHost, key(queue, op), ms);
  }

  /** Expected service time of one job on this host, once the model is in memory. */
  serviceMs(hostId: string, queue: string, op: string): number {
    return (
      this.service.get(key(hostId, queue, op))?.value ??
      this.anyHost.get(key(queue, op))?.value ??
      this.priorServiceMs
    );
  }

  /** Expected cost of loading the model's weights on this host. */
  loadMs(hostId: string, queue: string): number {
    return (
      this.load.get(key(hostId, queue))?.value ??
      this.loadAnyHost.get(queue)?.value ??
      this.priorLoadMs
    );
  }

  /**
   * When a job would finish if sent to this host now: `ahead` jobs already there (each assumed
   * as long as this one), its own service time, and the load if the host lacks the weights.
   */
  expectedFinishMs(
    hostId: string,
    queue: string,
    op: string,
    ahead: number,
    resident: boolean,
  ): number {
    const service = this.serviceMs(hostId, queue, op);
    return (ahead + 1) * service + (resident ? 0 : this.loadMs(hostId, queue));
  }

  /** A host is gone: what was learned about it no longer applies to its replacement. */
  forgetHost(hostId: string): void {
    const prefix = `${hostId}\u0000`;
    for (const k of this.service.keys()) if (k.startsWith(prefix)) this.service.delete(k);
    for (const k of this.load.keys()) if (k.startsWith(prefix)) this.load.delete(k);
    for (const k of this.warmedUp) if (k.startsWith(prefix)) this.warmedUp.delete(k);
  }

  /** The per-host averages, for the popup and tests. */
  snapshot(): LatencySnapshotRow[] {
    return [...this.service.entries()].map(([k, e]) => {
      const [hostId, queue, op] = k.split('\u0000') as [string, string, string];
      return { hostId, queue, op, serviceMs: Math.round(e.value * 10) / 10, samples: e.samples };
    });
  }

  private update(map: Map<string, Ewma>, k: string, ms: number): void {
    const e = map.get(k);
    if (!e) map.set(k, { value: ms, samples: 1 });
    else {
      e.value += this.alpha * (ms - e.value);
      e.samples++;
    }
  }
}

/**
 * Throughput and latency of the pool over the last minute, in one-second buckets: what the
 * popup's sparklines draw. Cheap to record (one bucket update per finished request).
 */
import type { MetricsSeries } from '../protocol/host';

export type { MetricsSeries };

interface Bucket {
  second: number;
  latencies: number[];
}

export class PoolMetrics {
  private readonly buckets: Bucket[] = [];

  constructor(
    private readonly windowSeconds = 60,
    private readonly now: () => number = Date.now,
  ) {}

  /** One request finished (successfully or not) after `latencyMs`. */
  record(latencyMs: number): void {
    const second = Math.floor(this.now() / 1000);
    let last = this.buckets.at(-1);
    if (!last || last.second !== second) {
      last = { second, latencies: [] };
      this.buckets.push(last);
      while (this.buckets.length > this.windowSeconds) this.buckets.shift();
    }
    last.latencies.push(latencyMs);
  }

  series(): MetricsSeries {
    const end = Math.floor(this.now() / 1000);
    const bySecond = new Map(this.buckets.map((b) => [b.second, b]));
    const out: MetricsSeries = { atMs: [], completed: [], latencyMs: [] };
    for (let s = end - this.windowSeconds + 1; s <= end; s++) {
      const b = bySecond.get(s);
      out.atMs.push(s * 1000);
      out.completed.push(b?.latencies.length ?? 0);
      out.latencyMs.push(b ? median(b.latencies) : null);
    }
    return out;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

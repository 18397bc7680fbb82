import type { MetricsSeries } from '../../core/protocol/host';
import { Sparkline } from './sparkline';

/** The last minute of the pool: requests per second and their median latency. */
export function PoolActivity({ metrics }: { metrics: MetricsSeries }) {
  const total = metrics.completed.reduce((n, c) => n + c, 0);
  const recent = metrics.latencyMs.filter((v): v is number => v !== null);
  const lastLatency = recent.at(-1);
  return (
    <section class="activity" aria-labelledby="activity-title">
      <h2 id="activity-title">Last minute</h2>
      <div class="activity__row">
        <span class="activity__label">Requests</span>
        <Sparkline values={metrics.completed} label="Requests finished per second, last minute" />
        <span class="activity__value" data-field="requests-minute">
          {total}
        </span>
      </div>
      <div class="activity__row">
        <span class="activity__label">Latency</span>
        <Sparkline values={metrics.latencyMs} label="Median latency per second, last minute" />
        <span class="activity__value" data-field="latency">
          {lastLatency === undefined ? '—' : `${Math.round(lastLatency)} ms`}
        </span>
      </div>
    </section>
  );
}

import type { MetricsSeries } from '../../core/protocol/host';
import { UplotChart } from '../charts/uplot-chart';

/** The last minute of the pool: requests finished per second and their median latency. */
export function PoolActivity({ metrics }: { metrics: MetricsSeries }) {
  const total = metrics.completed.reduce((n, c) => n + c, 0);
  const recent = metrics.latencyMs.filter((v): v is number => v !== null);
  const lastLatency = recent.at(-1);
  return (
    <section class="activity" aria-labelledby="activity-title">
      <h2 id="activity-title">Last minute</h2>
      <div class="activity__row" data-chart="throughput">
        <span class="activity__label">Requests</span>
        <UplotChart
          variant="spark"
          width={150}
          height={30}
          label={`Requests finished per second over the last minute: ${total} in all`}
          xMs={metrics.atMs}
          series={[{ label: 'requests/s', values: metrics.completed }]}
        />
        <span class="activity__value" data-field="requests-minute">
          {total}
        </span>
      </div>
      <div class="activity__row" data-chart="latency">
        <span class="activity__label">Latency</span>
        <UplotChart
          variant="spark"
          width={150}
          height={30}
          label={`Median latency per second over the last minute${lastLatency === undefined ? '' : `, latest ${Math.round(lastLatency)} ms`}`}
          xMs={metrics.atMs}
          series={[{ label: 'median ms', values: metrics.latencyMs }]}
        />
        <span class="activity__value" data-field="latency">
          {lastLatency === undefined ? '—' : `${Math.round(lastLatency)} ms`}
        </span>
      </div>
    </section>
  );
}

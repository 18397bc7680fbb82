import type { HostSummary } from '../../core/protocol/page';
import { formatAgo, kindLabel } from './format';

export interface HostCardProps {
  host: HostSummary;
  nowMs: number;
}

const BREAKER_LABELS = {
  closed: 'closed (healthy)',
  open: 'open: no new work',
  'half-open': 'half-open: probing',
} as const;

/** One host: what it is, whether it is alive, when it last answered, how much it has done. */
export function HostCard({ host, nowMs }: HostCardProps) {
  return (
    <li class={`host host--${host.state}`} data-host-id={host.id} data-state={host.state}>
      <div class="host__head">
        <span class="host__kind">{kindLabel(host.kind)}</span>
        <span class={`badge badge--${host.state}`}>{host.state}</span>
      </div>
      <dl class="host__facts">
        <dt>Backend</dt>
        <dd data-field="backend">
          {host.backend === 'webgpu' ? `WebGPU${host.adapter ? ` (${host.adapter})` : ''}` : 'CPU'}
        </dd>
        <dt>Last heartbeat</dt>
        <dd data-field="heartbeat">{formatAgo(host.lastHeartbeatMs, nowMs)}</dd>
        <dt>Requests served</dt>
        <dd data-field="served">{host.served}</dd>
        <dt>In flight</dt>
        <dd data-field="inflight">{host.inflight}</dd>
        <dt>Circuit breaker</dt>
        <dd data-field="breaker" class={`breaker breaker--${host.breaker}`}>
          {BREAKER_LABELS[host.breaker]}
        </dd>
        <dt>Id</dt>
        <dd class="host__id">{host.id.slice(0, 8)}</dd>
      </dl>
    </li>
  );
}

import type { PoolHostView } from '../../core/protocol/host';
import { formatBytes } from '../options/format-bytes';
import { formatAgo, kindLabel } from './format';

export interface HostCardProps {
  host: PoolHostView;
  nowMs: number;
}

const BREAKER_LABELS = {
  closed: 'closed (healthy)',
  open: 'open: no new work',
  'half-open': 'half-open: probing',
} as const;

/**
 * One host: what it is, where its ops run, whether it is alive and taking work, when it last
 * answered, what it holds and how much it has done.
 */
export function HostCard({ host, nowMs }: HostCardProps) {
  const titleId = `host-${host.id}`;
  return (
    <li
      class={`host host--${host.state} host--breaker-${host.breaker}`}
      data-host-id={host.id}
      data-state={host.state}
      data-breaker={host.breaker}
      aria-labelledby={titleId}
    >
      <div class="host__head">
        <span class="host__kind" id={titleId}>
          {kindLabel(host.kind)}
        </span>
        <span class={`badge badge--${host.state}`}>{host.state}</span>
      </div>
      <dl class="host__facts">
        <dt>Backend</dt>
        <dd data-field="backend">
          {host.backend === 'webgpu' ? `WebGPU${host.adapter ? ` (${host.adapter})` : ''}` : 'CPU'}
          {host.backend === 'cpu' && host.cpuKernels
            ? host.cpuKernels === 'wasm-simd'
              ? ' · WASM SIMD'
              : ' · JS'
            : ''}
        </dd>
        <dt>Circuit breaker</dt>
        <dd data-field="breaker" class={`breaker breaker--${host.breaker}`}>
          {BREAKER_LABELS[host.breaker]}
        </dd>
        <dt>Queue</dt>
        <dd data-field="queue">
          <span data-field="queued">{host.queued}</span> waiting ·{' '}
          <span data-field="inflight">{host.inflight}</span> running
        </dd>
        <dt>Memory</dt>
        <dd data-field="memory">
          {host.memoryBytes === null ? 'not reported' : `${formatBytes(host.memoryBytes)} JS heap`}
        </dd>
        <dt>Models</dt>
        <dd data-field="models">
          {host.residentModels.length === 0 ? 'none loaded' : host.residentModels.join(', ')}
        </dd>
        <dt>Last heartbeat</dt>
        <dd data-field="heartbeat">{formatAgo(host.lastHeartbeatMs, nowMs)}</dd>
        <dt>Requests served</dt>
        <dd data-field="served">{host.served}</dd>
        <dt>Id</dt>
        <dd class="host__id">{host.id.slice(0, 8)}</dd>
      </dl>
    </li>
  );
}

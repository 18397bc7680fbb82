import { renderToString } from 'preact-render-to-string';
import { describe, expect, it } from 'vitest';
import type { PoolHostView } from '../../core/protocol/host';
import { HostCard } from './host-card';

const host = (over: Partial<PoolHostView> = {}): PoolHostView => ({
  id: 'abcdef0123',
  kind: 'tab',
  state: 'ready',
  lastHeartbeatMs: 1_000,
  served: 7,
  inflight: 1,
  breaker: 'closed',
  backend: 'webgpu',
  adapter: 'google swiftshader',
  queued: 2,
  memoryBytes: 12 * 1024 * 1024,
  residentModels: ['org/a@main', 'org/b@main'],
  ...over,
});

describe('HostCard', () => {
  it('shows kind, backend, breaker, queue, memory, resident models, heartbeat and work done', () => {
    const html = renderToString(<HostCard host={host()} nowMs={4_000} />);
    expect(html).toContain('Pool tab');
    expect(html).toContain('data-state="ready"');
    expect(html).toContain('data-breaker="closed"');
    expect(html).toMatch(/data-field="heartbeat">3 s ago</);
    expect(html).toMatch(/data-field="served">7</);
    expect(html).toMatch(/data-field="queued">2<\/span> waiting · <span data-field="inflight">1</);
    expect(html).toMatch(/data-field="memory">12 MB JS heap</);
    expect(html).toMatch(/data-field="models">org\/a@main, org\/b@main</);
    expect(html).toContain('abcdef01');
    expect(html).toMatch(/data-field="breaker"[^>]*>closed \(healthy\)</);
    expect(html).toMatch(/data-field="backend">WebGPU \(google swiftshader\)</);
    // The card is named by its kind for assistive technology.
    expect(html).toMatch(/aria-labelledby="host-abcdef0123"/);
    expect(html).toMatch(/id="host-abcdef0123">Pool tab</);
  });

  it('marks a dead host with an open breaker, and says what it does not know', () => {
    const html = renderToString(
      <HostCard
        host={host({
          kind: 'offscreen',
          state: 'dead',
          lastHeartbeatMs: null,
          breaker: 'open',
          backend: 'cpu',
          adapter: null,
          memoryBytes: null,
          residentModels: [],
        })}
        nowMs={0}
      />,
    );
    expect(html).toContain('host--dead');
    expect(html).toContain('host--breaker-open');
    expect(html).toMatch(/data-field="breaker"[^>]*>open: no new work</);
    expect(html).toMatch(/data-field="backend">CPU</);
    expect(html).toMatch(/data-field="memory">not reported</);
    expect(html).toMatch(/data-field="models">none loaded</);
    expect(html).toMatch(/data-field="heartbeat">never</);
  });

  it('names the CPU matmul a CPU host compiled', () => {
    const card = (cpuKernels: 'wasm-simd' | 'js') =>
      renderToString(
        <HostCard host={host({ backend: 'cpu', adapter: null, cpuKernels })} nowMs={0} />,
      );
    expect(card('wasm-simd')).toMatch(/data-field="backend">CPU(<!-- -->)? · WASM SIMD</);
    expect(card('js')).toMatch(/data-field="backend">CPU(<!-- -->)? · JS</);
  });
});

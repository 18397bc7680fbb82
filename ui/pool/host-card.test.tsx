import { renderToString } from 'preact-render-to-string';
import { describe, expect, it } from 'vitest';
import { HostCard } from './host-card';

describe('HostCard', () => {
  it('shows kind, state, heartbeat age and requests served', () => {
    const html = renderToString(
      <HostCard
        host={{
          id: 'abcdef0123',
          kind: 'tab',
          state: 'ready',
          lastHeartbeatMs: 1_000,
          served: 7,
          inflight: 1,
          breaker: 'closed',
          backend: 'webgpu',
          adapter: 'google swiftshader',
        }}
        nowMs={4_000}
      />,
    );
    expect(html).toContain('Pool tab');
    expect(html).toContain('data-state="ready"');
    expect(html).toContain('3 s ago');
    expect(html).toMatch(/data-field="served">7</);
    expect(html).toMatch(/data-field="inflight">1</);
    expect(html).toContain('abcdef01');
    expect(html).toMatch(/data-field="breaker"[^>]*>closed \(healthy\)</);
    expect(html).toMatch(/data-field="backend">WebGPU \(google swiftshader\)</);
  });

  it('marks a dead host', () => {
    const html = renderToString(
      <HostCard
        host={{
          id: 'x',
          kind: 'offscreen',
          state: 'dead',
          lastHeartbeatMs: null,
          served: 0,
          inflight: 0,
          breaker: 'open',
          backend: 'cpu',
          adapter: null,
        }}
        nowMs={0}
      />,
    );
    expect(html).toContain('host--dead');
    expect(html).toMatch(/data-field="breaker"[^>]*>open: no new work</);
    expect(html).toMatch(/data-field="backend">CPU</);
    expect(html).toContain('never');
  });
});

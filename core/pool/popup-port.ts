/**
 * The popup's line to the coordinator: pool status and grants pushed to it, the user's consent
 * decisions and revocations taken from it. Only extension pages may open it.
 */
import type { Channel } from '../messaging/channel';
import type { PoolStatusMessage, PopupCommand } from '../protocol/host';
import type { OriginGate } from '../security/origin-gate';
import type { HostRegistry } from './host-registry';
import type { PoolMetrics } from './pool-metrics';

export function servePopupChannel(
  channel: Channel<PopupCommand, PoolStatusMessage>,
  registry: HostRegistry,
  gate: OriginGate,
  metrics: PoolMetrics,
): void {
  const push = async () => {
    const granted = await gate.granted();
    channel.post({
      type: 'pool-status',
      atMs: Date.now(),
      hosts: registry.summaries(),
      metrics: metrics.series(),
      consent: {
        pending: gate.pendingPrompts(),
        granted: granted.map((g) => ({ origin: g.origin, grantedAt: g.grantedAt })),
      },
    });
  };
  const pushSoon = throttle(() => void push(), 250);
  void push();
  const offPool = registry.onChange(pushSoon);
  const offGate = gate.onChange(pushSoon);
  const timer = setInterval(() => void push(), 1_000);
  channel.onMessage((command) => {
    if (typeof command?.origin !== 'string') return;
    switch (command.type) {
      case 'consent-decide':
        void gate.decide(command.origin, command.allow === true);
        return;
      case 'grant-revoke':
        void gate.revoke(command.origin);
        return;
    }
  });
  channel.onClose(() => {
    offPool();
    offGate();
    clearInterval(timer);
  });
}

export function throttle(fn: () => void, everyMs: number): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  return () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      fn();
    }, everyMs);
  };
}

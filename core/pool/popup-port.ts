/**
 * The popup's (and dashboard's) line to the coordinator: pool status, downloads and grants pushed
 * to it; the user's consent decisions, revocations and benchmark runs taken from it. Only
 * extension pages may open it.
 */
import type { Channel } from '../messaging/channel';
import { toWireError } from '../protocol/errors';
import type {
  BenchmarkTask,
  BenchSample,
  PoolHostView,
  PopupCommand,
  PopupMessage,
} from '../protocol/host';
import type { OriginGate } from '../security/origin-gate';
import type { Coordinator } from './coordinator';
import type { DownloadTracker } from './download-tracker';
import type { HostRegistry } from './host-registry';
import type { PoolMetrics } from './pool-metrics';

/** What the popup port reads beyond the registry; absent parts show as empty. */
export interface PopupSources {
  coordinator?: Pick<Coordinator, 'residentModels' | 'taskOnHost' | 'schedule'>;
  downloads?: DownloadTracker;
}

/** A benchmark host gets this long per case and backend beyond its budget (compiles, loads). */
const BENCH_SLACK_MS = 60_000;

export function servePopupChannel(
  channel: Channel<PopupCommand, PopupMessage>,
  registry: HostRegistry,
  gate: OriginGate,
  metrics: PoolMetrics,
  sources: PopupSources = {},
): void {
  const hostViews = (): PoolHostView[] =>
    registry.summaries().map((s) => {
      const entry = registry.get(s.id);
      return {
        ...s,
        queued: entry?.reserved ?? 0,
        memoryBytes: entry?.memoryBytes ?? null,
        residentModels: sources.coordinator?.residentModels(s.id) ?? [],
      };
    });
  const push = async () => {
    const granted = await gate.granted();
    channel.post({
      type: 'pool-status',
      atMs: Date.now(),
      hosts: hostViews(),
      downloads: sources.downloads?.list() ?? [],
      metrics: metrics.series(),
      ...(sources.coordinator ? { schedule: sources.coordinator.schedule() } : {}),
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
  const offDownloads = sources.downloads?.onChange(pushSoon);
  const timer = setInterval(() => void push(), 1_000);
  channel.onMessage((command) => {
    switch (command?.type) {
      case 'consent-decide':
        if (typeof command.origin === 'string') {
          void gate.decide(command.origin, command.allow === true);
        }
        return;
      case 'grant-revoke':
        if (typeof command.origin === 'string') void gate.revoke(command.origin);
        return;
      case 'bench-run':
        if (typeof command.id === 'string' && sources.coordinator) {
          void runBenchmark(command.id, command.params, sources.coordinator);
        }
        return;
    }
  });
  /** One host after another: hosts share a renderer process, side by side they would contend. */
  const runBenchmark = async (
    id: string,
    params: BenchmarkTask,
    coordinator: NonNullable<PopupSources['coordinator']>,
  ) => {
    const hosts = registry.ready().filter((h) => h.ops.includes('benchmark'));
    const cases = (params.kernels?.length ?? 0) + (params.models?.length ?? 0);
    for (const host of hosts) {
      const budgetMs = (Number(params.budgetMs) || 0) * 2 * cases + BENCH_SLACK_MS;
      try {
        const samples = (await coordinator.taskOnHost(host.id, 'benchmark', params, {
          deadlineAtMs: Date.now() + budgetMs,
        })) as BenchSample[];
        channel.post({
          type: 'bench-host',
          id,
          host: { id: host.id, kind: host.kind },
          samples,
          error: null,
        });
      } catch (e) {
        channel.post({
          type: 'bench-host',
          id,
          host: { id: host.id, kind: host.kind },
          samples: [],
          error: toWireError(e),
        });
      }
    }
    channel.post({ type: 'bench-done', id, hosts: hosts.length });
  };
  channel.onClose(() => {
    offPool();
    offGate();
    offDownloads?.();
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

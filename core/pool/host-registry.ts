/**
 * The coordinator's view of its hosts: who is there, whether they are alive, what they are doing.
 *
 * Liveness rides on messages, not on host timers (a hidden tab's timers are throttled to once a
 * minute): the registry pings every host and a host that misses `heartbeatTimeoutMs` of replies,
 * or whose control port disconnects, is dead and gets no more work.
 */
import type { Channel } from '../messaging/channel';
import type {
  BackendPreference,
  CoordinatorToHost,
  HostKind,
  HostToCoordinator,
  HostToCoordinatorData,
} from '../protocol/host';
import type { CpuKernels, HostState, HostSummary } from '../protocol/page';
import { assertNever } from '../util/assert-never';
import { type BreakerOptions, HostBreaker, type SavedBreaker } from './host-breaker';

/** The coordinator's end of a host channel. Both planes use the same message unions. */
export type HostChannel = Channel<HostToCoordinator, CoordinatorToHost>;

/** How many more runs in flight a host holding the model may have before another host loads it. */
export const AFFINITY_SLACK = 2;

/** Work a host has or is about to get: what placement balances. */
const load = (h: HostEntry): number => h.inflight + h.reserved;

export interface HostEntry {
  id: string;
  /** Opens after consecutive host faults; placement skips the host while it is open. */
  breaker: HostBreaker;
  kind: HostKind;
  state: HostState;
  ops: string[];
  backend: 'webgpu' | 'cpu';
  adapter: string | null;
  cpuKernels: CpuKernels | undefined;
  control: HostChannel;
  data: HostChannel | null;
  /** The browser tab that holds this host, when it is a pool tab. */
  tabId: number | undefined;
  connectedAtMs: number;
  lastHeartbeatMs: number | null;
  /** The host page's JS heap from its last pong (Chromium only), for the popup. */
  memoryBytes: number | null;
  /** Order of the last dispatch to this host (a counter, not a clock: many fit in one ms). */
  lastDispatchSeq: number;
  served: number;
  inflight: number;
  /** Runs placed on this host that have not been sent yet (between pick and dispatch). */
  reserved: number;
  diedAtMs: number | null;
}

export interface RegistryOptions {
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  /** How long a dead host stays listed (for the popup) before it is forgotten. */
  forgetDeadAfterMs?: number;
  breaker?: BreakerOptions;
  now?: () => number;
}

export class HostRegistry {
  private readonly hosts = new Map<string, HostEntry>();
  /** Data ports that arrived before their host's hello (the two planes race). */
  private readonly orphanData = new Map<string, { channel: HostChannel; atMs: number }>();
  private readonly changeListeners = new Set<() => void>();
  private readonly deathListeners = new Set<(host: HostEntry) => void>();
  private readonly dataListeners = new Set<(host: HostEntry, msg: HostToCoordinatorData) => void>();
  /** Breaker states saved by an earlier service worker, applied when each host says hello. */
  private readonly savedBreakers = new Map<string, SavedBreaker>();
  private readonly breakerListeners = new Set<(host: HostEntry) => void>();
  private readonly breakerOptions: BreakerOptions;
  private preferredBackend: BackendPreference = 'auto';
  private timer: ReturnType<typeof setInterval> | null = null;
  private seq = 0;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  private readonly forgetDeadAfterMs: number;
  private readonly now: () => number;

  constructor(options: RegistryOptions = {}) {
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 2_000;
    this.heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 3 * this.heartbeatIntervalMs;
    this.forgetDeadAfterMs = options.forgetDeadAfterMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.breakerOptions = options.breaker ?? {};
  }

  /** Where hosts should run ops (the `preferredBackend` setting); sent to every host. */
  setPreferredBackend(preferred: BackendPreference): void {
    this.preferredBackend = preferred;
    for (const h of this.hosts.values()) {
      if (h.state !== 'dead') h.control.post({ type: 'configure', preferredBackend: preferred });
    }
  }

  /** Breaker states from before a service-worker restart, by host id. */
  restoreBreakers(saved: Record<string, SavedBreaker>): void {
    for (const [id, state] of Object.entries(saved)) {
      const live = this.hosts.get(id);
      if (live) live.breaker = new HostBreaker(this.breakerOptions, state);
      else this.savedBreakers.set(id, state);
    }
    this.emitChange();
  }

  /** Every live host's breaker state, for saving. */
  breakerStates(): Record<string, SavedBreaker> {
    const out: Record<string, SavedBreaker> = {};
    for (const h of this.hosts.values()) if (h.state !== 'dead') out[h.id] = h.breaker.toJSON();
    return out;
  }

  onBreakerChange(cb: (host: HostEntry) => void): () => void {
    this.breakerListeners.add(cb);
    return () => this.breakerListeners.delete(cb);
  }

  /** Starts the heartbeat loop. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.heartbeatIntervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const host of this.hosts.values()) this.markDead(host);
  }

  /**
   * Takes a host's control channel. The host is registered when its hello arrives; it is `ready`
   * once its data channel is attached too.
   */
  addControl(control: HostChannel, meta: { tabId?: number } = {}): void {
    let entry: HostEntry | null = null;
    control.onMessage((msg) => {
      switch (msg.type) {
        case 'host-hello': {
          if (entry) return; // a second hello on one port is ignored
          const previous = this.hosts.get(msg.hostId);
          if (previous && previous.state !== 'dead') this.markDead(previous);
          const breaker = new HostBreaker(this.breakerOptions, this.savedBreakers.get(msg.hostId));
          this.savedBreakers.delete(msg.hostId);
          entry = {
            id: msg.hostId,
            breaker,
            kind: msg.kind,
            state: 'starting',
            ops: [...msg.ops],
            backend: msg.backend === 'webgpu' ? 'webgpu' : 'cpu',
            adapter: typeof msg.adapter === 'string' ? msg.adapter : null,
            cpuKernels:
              msg.cpuKernels === 'wasm-simd' || msg.cpuKernels === 'js'
                ? msg.cpuKernels
                : undefined,
            control,
            data: null,
            tabId: meta.tabId,
            connectedAtMs: this.now(),
            lastHeartbeatMs: this.now(),
            memoryBytes: null,
            lastDispatchSeq: 0,
            served: previous?.served ?? 0,
            inflight: 0,
            reserved: 0,
            diedAtMs: null,
          };
          this.hosts.set(msg.hostId, entry);
          const registered = entry;
          breaker.onStateChange(() => {
            for (const cb of this.breakerListeners) cb(registered);
            this.emitChange();
          });
          if (msg.dataPlane === 'control') this.attach(entry, control);
          control.post({ type: 'configure', preferredBackend: this.preferredBackend });
          const orphan = this.orphanData.get(msg.hostId);
          if (orphan) {
            this.orphanData.delete(msg.hostId);
            this.attach(entry, orphan.channel);
          }
          this.emitChange();
          return;
        }
        case 'pong':
          if (entry && entry.state !== 'dead') {
            entry.lastHeartbeatMs = this.now();
            // The host's own count survives a service-worker restart; ours starts from zero.
            entry.served = Math.max(entry.served, msg.served);
            entry.memoryBytes = typeof msg.memoryBytes === 'number' ? msg.memoryBytes : null;
            this.emitChange();
          }
          return;
        case 'host-update':
          if (entry && entry.state !== 'dead') {
            entry.backend = msg.backend === 'webgpu' ? 'webgpu' : 'cpu';
            entry.adapter = typeof msg.adapter === 'string' ? msg.adapter : null;
            this.emitChange();
          }
          return;
        case 'run-result':
        case 'run-error':
        case 'task-progress':
        case 'task-result':
          return; // data-plane traffic, handled by attach() when this channel carries data
        default:
          assertNever(msg);
      }
    });
    control.onClose(() => {
      if (entry) this.markDead(entry);
    });
  }

  /** Takes a host's data channel (Chrome: a MessagePort the host sent to the service worker). */
  addData(hostId: string, data: HostChannel): void {
    const entry = this.hosts.get(hostId);
    if (entry && entry.state !== 'dead') this.attach(entry, data);
    else this.orphanData.set(hostId, { channel: data, atMs: this.now() });
  }

  private attach(entry: HostEntry, data: HostChannel): void {
    if (entry.data && entry.data !== entry.control) entry.data.close();
    entry.data = data;
    data.onMessage((msg) => {
      if (msg.type === 'host-hello' || msg.type === 'pong' || msg.type === 'host-update') return;
      for (const cb of this.dataListeners) cb(entry, msg);
    });
    entry.state = 'ready';
    this.emitChange();
  }

  get(hostId: string): HostEntry | undefined {
    return this.hosts.get(hostId);
  }

  all(): HostEntry[] {
    return [...this.hosts.values()];
  }

  ready(): HostEntry[] {
    return this.all().filter((h) => h.state === 'ready');
  }

  /**
   * The host to send the next run to: fewest runs in flight, then the one that waited longest
   * since its last dispatch, so a steady stream of requests is spread across every ready host.
   */
  pick(op: string, prefer?: ReadonlySet<string>): HostEntry | undefined {
    let best: HostEntry | undefined;
    const now = this.now();
    const usable = (h: HostEntry) =>
      h.state === 'ready' && h.ops.includes(op) && h.breaker.available(now);
    if (prefer && prefer.size > 0) {
      // Hosts that already hold the model's weights win unless they are much busier: loading
      // a second copy costs far more than waiting behind a couple of runs.
      const least = Math.min(...[...this.hosts.values()].filter(usable).map(load));
      for (const id of prefer) {
        const h = this.hosts.get(id);
        if (!h || !usable(h) || load(h) > least + AFFINITY_SLACK) continue;
        if (!best || load(h) < load(best)) best = h;
      }
      if (best) return best;
    }
    for (const h of this.hosts.values()) {
      if (!usable(h)) continue;
      if (
        !best ||
        load(h) < load(best) ||
        (load(h) === load(best) && h.lastDispatchSeq < best.lastDispatchSeq)
      ) {
        best = h;
      }
    }
    return best;
  }

  markDead(entry: HostEntry): void {
    if (entry.state === 'dead') return;
    entry.state = 'dead';
    entry.diedAtMs = this.now();
    entry.control.close();
    entry.data?.close();
    entry.inflight = 0;
    for (const cb of this.deathListeners) cb(entry);
    this.emitChange();
  }

  summaries(): HostSummary[] {
    return this.all().map((h) => ({
      id: h.id,
      kind: h.kind,
      state: h.state,
      lastHeartbeatMs: h.lastHeartbeatMs,
      served: h.served,
      inflight: h.inflight,
      breaker: h.breaker.state,
      backend: h.backend,
      adapter: h.adapter,
      ...(h.cpuKernels ? { cpuKernels: h.cpuKernels } : {}),
    }));
  }

  onChange(cb: () => void): () => void {
    this.changeListeners.add(cb);
    return () => this.changeListeners.delete(cb);
  }

  onDeath(cb: (host: HostEntry) => void): () => void {
    this.deathListeners.add(cb);
    return () => this.deathListeners.delete(cb);
  }

  onData(cb: (host: HostEntry, msg: HostToCoordinatorData) => void): () => void {
    this.dataListeners.add(cb);
    return () => this.dataListeners.delete(cb);
  }

  emitChange(): void {
    for (const cb of [...this.changeListeners]) cb();
  }

  /** One heartbeat round: declare the silent dead, ping the rest, forget the long dead. */
  tick(): void {
    const now = this.now();
    this.seq++;
    for (const h of this.all()) {
      if (h.state === 'dead') {
        if (h.diedAtMs !== null && now - h.diedAtMs > this.forgetDeadAfterMs) {
          this.hosts.delete(h.id);
          this.emitChange();
        }
        continue;
      }
      if (h.lastHeartbeatMs !== null && now - h.lastHeartbeatMs > this.heartbeatTimeoutMs) {
        this.markDead(h);
        continue;
      }
      h.control.post({ type: 'ping', seq: this.seq });
    }
    for (const [id, orphan] of this.orphanData) {
      if (now - orphan.atMs > this.heartbeatTimeoutMs) {
        orphan.channel.close();
        this.orphanData.delete(id);
      }
    }
  }
}

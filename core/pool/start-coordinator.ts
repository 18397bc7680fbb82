/**
 * Wires the coordinator into the extension's background context: the Chrome service worker, or
 * Firefox's background page (which is also host #0 there, having a DOM of its own).
 */
import { browser } from 'wxt/browser';
import { createTabpoolDb } from '../../storage';
import { messagePortChannel, runtimePortChannel } from '../messaging/channel';
import {
  BRIDGE_PORT_NAME,
  CONTROL_PORT_NAME,
  type CoordinatorToHost,
  ECHO_PORT_NAME,
  type HostAttach,
  type HostToCoordinator,
  PAGE_PORT_NAME,
  POPUP_PORT_NAME,
  SESSION_PORT_NAME,
  type SessionAttach,
} from '../protocol/host';
import { toModelSummary } from '../protocol/models';
import type { PageEvent, PageReply, SessionEvent } from '../protocol/page';
import { startHostRuntime } from '../runtime/host-runtime';
import { createPageOps } from '../runtime/page-ops';
import { createPageTasks } from '../runtime/page-tasks';
import { OriginGate } from '../security/origin-gate';
import { OriginLimiter } from '../security/rate-limiter';
import { badgeFor } from './badge';
import { Coordinator, type CoordinatorOptions } from './coordinator';
import { trackDownloads } from './download-tracker';
import type { SavedBreaker } from './host-breaker';
import type { HostRegistry } from './host-registry';
import type { ModelsContext } from './page-handler';
import { senderOrigin, servePageChannel } from './page-sessions';
import { PoolSizer } from './pool-sizer';
import { servePopupChannel, throttle } from './popup-port';
import { RequestJournal } from './request-journal';
import { Respawner } from './respawner';
import { loadSettings, SETTINGS_KEY } from './settings';
import { BRIDGE_PATH, ensureOffscreenHost, ensurePoolTabs, hasOffscreen } from './spawner';

export interface StartOptions extends CoordinatorOptions {
  /** Pool tabs to open besides host #0. */
  poolTabs?: number;
}

const inServiceWorker = (): boolean => {
  const scope = (globalThis as { ServiceWorkerGlobalScope?: abstract new () => unknown })
    .ServiceWorkerGlobalScope;
  return scope !== undefined && globalThis instanceof scope;
};

export function startCoordinator(options: StartOptions = {}): Coordinator {
  const coordinator = new Coordinator(options);
  const registry = coordinator.registry;
  const extensionVersion = browser.runtime.getManifest().version;
  const serviceWorker = inServiceWorker();
  const db = createTabpoolDb();
  const gate = new OriginGate(db.grants);
  const models: ModelsContext = {
    baseUrl: async () => (await loadSettings(browser.storage?.local)).modelBaseUrl,
    languageModel: async () => (await loadSettings(browser.storage?.local)).languageModel,
    maxStoredBytes: async () => (await loadSettings(browser.storage?.local)).maxStorageBytes,
    list: async () =>
      (await db.models.orderBy('lastUsedAt').reverse().toArray()).map(toModelSummary),
  };
  // Accepted page requests, kept in storage.session until answered: a restarted worker can
  // resume the ones their relay sends again (docs/architecture.md, "Request journal").
  const journal = new RequestJournal(browser.storage?.session);
  coordinator.journal = journal;
  const pageContext = {
    coordinator,
    extensionVersion,
    gate,
    limiter: new OriginLimiter(),
    models,
    journal,
  };
  coordinator.start();
  showHealthOnBadge(gate, registry);
  const downloads = trackDownloads(registry);

  browser.runtime.onConnect.addListener((port) => {
    switch (port.name) {
      case CONTROL_PORT_NAME:
        // A content script could connect under this name; hosts are extension pages.
        if (!fromExtensionPage(port.sender)) return port.disconnect();
        registry.addControl(runtimePortChannel<HostToCoordinator, CoordinatorToHost>(port), {
          tabId: port.sender?.tab?.id,
        });
        return;
      case PAGE_PORT_NAME:
      case SESSION_PORT_NAME: {
        const origin = senderOrigin(port.sender);
        if (origin === null) {
          port.disconnect(); // no origin the browser vouches for, no service
          return;
        }
        const tabId = port.sender?.tab?.id;
        const scope = tabId === undefined ? undefined : `${tabId}:${port.sender?.frameId ?? 0}`;
        servePageChannel(
          runtimePortChannel<unknown, PageReply | SessionEvent | PageEvent>(port),
          port.name === SESSION_PORT_NAME
            ? { origin, session: 'relay' }
            : { origin, ...(scope ? { scope } : {}) },
          pageContext,
        );
        return;
      }
      case BRIDGE_PORT_NAME:
        // Held open by bridge frames; its disconnect tells them this worker is gone.
        if (!fromExtensionPage(port.sender)) port.disconnect();
        return;
      case ECHO_PORT_NAME: {
        if (!fromExtensionPage(port.sender)) return port.disconnect();
        const echo = runtimePortChannel<unknown, unknown>(port);
        echo.onMessage((m) => echo.post(m));
        return;
      }
      case POPUP_PORT_NAME:
        if (!fromExtensionPage(port.sender)) return port.disconnect();
        servePopupChannel(runtimePortChannel(port), registry, gate, coordinator.metrics, {
          coordinator,
          downloads,
        });
        return;
      default:
        port.disconnect(); // not a port of ours
    }
  });

  if (serviceWorker) {
    self.addEventListener('message', (event: Event) => {
      const { data, ports, source } = event as MessageEvent<HostAttach | SessionAttach>;
      const port = ports[0];
      if (!port) return;
      if (data?.type === 'host-attach' && typeof data.hostId === 'string') {
        registry.addData(
          data.hostId,
          messagePortChannel<HostToCoordinator, CoordinatorToHost>(port),
        );
      } else if (data?.type === 'session-attach' && isBridgeClient(source)) {
        servePageChannel(
          messagePortChannel<unknown, PageReply | SessionEvent | PageEvent>(port),
          { origin: data.origin, session: 'bridge' },
          pageContext,
        );
      } else {
        port.close();
      }
    });
  } else {
    // Firefox: this background page has a DOM and stays up, so it is host #0 itself.
    const { port1, port2 } = new MessageChannel();
    registry.addControl(messagePortChannel<HostToCoordinator, CoordinatorToHost>(port1));
    const local = messagePortChannel<CoordinatorToHost, HostToCoordinator>(port2);
    void createPageOps(globalThis.navigator?.gpu).then((ops) =>
      startHostRuntime({
        kind: 'background',
        ops,
        reconfigure: (preferred) => createPageOps(globalThis.navigator?.gpu, preferred),
        connect: async () => ({ control: local, data: local }),
        ...createPageTasks(),
      }),
    );
  }

  // How many pool tabs to keep is a setting; idle pools shrink to host #0 and grow on demand.
  const sizer = new PoolSizer({
    apply: async (tabs) => {
      await spawnHosts(tabs);
      await retireExtraTabs(registry, tabs);
    },
    onError: (e) => console.error('tabpool: could not resize the pool', e),
  });
  const respawner = new Respawner({
    spawn: (kind) => (kind === 'offscreen' ? ensureOffscreenHost() : ensurePoolTabs(sizer.desired)),
    onError: (kind, e) => console.error(`tabpool: could not respawn the ${kind} host`, e),
  });
  registry.onDeath((host) => respawner.hostDied(host.kind));
  registry.onChange(() => {
    if (registry.all().some((h) => h.inflight > 0)) sizer.noteWork();
  });
  setInterval(() => sizer.tick(), 1_000);
  void persistBreakers(coordinator);
  const configure = async () => {
    const settings = await loadSettings(browser.storage?.local);
    registry.setPreferredBackend(settings.preferredBackend);
    coordinator.standbyCopy = settings.standbyCopy;
    sizer.configure({
      poolTabs: options.poolTabs ?? settings.poolTabs,
      idleRetireSeconds: settings.idleRetireSeconds,
    });
  };
  void configure();
  browser.storage?.onChanged.addListener((changes, area) => {
    if (area === 'local' && SETTINGS_KEY in changes) void configure();
  });
  return coordinator;
}

/**
 * Closes pool tabs beyond `poolTabs`, idle ones first, newest first. Their runs in flight (if
 * any) fail over to the other hosts like any host loss.
 */
async function retireExtraTabs(registry: HostRegistry, poolTabs: number): Promise<void> {
  const tabs = registry
    .all()
    .filter((h) => h.kind === 'tab' && h.state !== 'dead' && h.tabId !== undefined)
    .sort((a, b) => a.inflight - b.inflight || b.connectedAtMs - a.connectedAtMs);
  const extra = tabs.slice(0, Math.max(0, tabs.length - poolTabs));
  await Promise.all(
    extra.map((h) => browser.tabs.remove(h.tabId as number).catch(() => undefined)),
  );
}

/**
 * Breaker states live in `storage.session`: they outlive a service-worker restart (an open
 * breaker stays open) but not the browser session.
 */
async function persistBreakers(coordinator: Coordinator): Promise<void> {
  const session = browser.storage?.session;
  if (!session) return;
  const registry = coordinator.registry;
  try {
    const saved = (await session.get(BREAKERS_KEY))[BREAKERS_KEY];
    if (saved && typeof saved === 'object')
      registry.restoreBreakers(saved as Record<string, SavedBreaker>);
  } catch (e) {
    console.warn('tabpool: could not restore circuit breakers', e);
  }
  const save = throttle(() => {
    session.set({ [BREAKERS_KEY]: registry.breakerStates() }).catch((e: unknown) => {
      console.warn('tabpool: could not save circuit breakers', e);
    });
  }, 200);
  registry.onBreakerChange(save);
}

const BREAKERS_KEY = 'tabpool.breakers';

/** True for our own pages (popup, hosts); false for content scripts, whose sender is the page. */
function fromExtensionPage(sender: { url?: string; id?: string } | undefined): boolean {
  return sender?.id === browser.runtime.id && !!sender.url?.startsWith(browser.runtime.getURL('/'));
}

/** The toolbar badge: pages waiting for consent, a pool with no ready host, or a degraded one. */
function showHealthOnBadge(gate: OriginGate, registry: HostRegistry): void {
  const action = browser.action ?? browser.browserAction;
  let last = '';
  const update = throttle(() => {
    const hosts = registry.all().map((h) => ({ state: h.state, breaker: h.breaker.state }));
    const badge = badgeFor(gate.pendingPrompts().length, hosts);
    const key = JSON.stringify(badge);
    if (key === last) return;
    last = key;
    void action?.setBadgeText({ text: badge.text });
    void action?.setTitle({ title: badge.title });
    if (badge.color) void action?.setBadgeBackgroundColor({ color: badge.color });
  }, 250);
  gate.onChange(update);
  registry.onChange(update);
  registry.onBreakerChange(update);
}

/** Only our bridge frame may attach sessions: its origin claim is what we trust. */
function isBridgeClient(source: MessageEventSource | null): boolean {
  const url = (source as { url?: unknown } | null)?.url;
  if (typeof url !== 'string') return false;
  try {
    return new URL(url).pathname === BRIDGE_PATH;
  } catch {
    return false;
  }
}

async function spawnHosts(poolTabs: number): Promise<void> {
  try {
    if (hasOffscreen()) await ensureOffscreenHost();
    await ensurePoolTabs(poolTabs);
  } catch (e) {
    console.error('tabpool: could not open hosts', e);
  }
}

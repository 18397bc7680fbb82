/**
 * Wires the coordinator into the extension's background context: the Chrome service worker, or
 * Firefox's background page (which is also host #0 there, having a DOM of its own).
 */
import { browser } from 'wxt/browser';
import { messagePortChannel, runtimePortChannel } from '../messaging/channel';
import {
  CONTROL_PORT_NAME,
  type CoordinatorToHost,
  type HostAttach,
  type HostToCoordinator,
  PAGE_PORT_NAME,
  POPUP_PORT_NAME,
  type PoolStatusMessage,
  SESSION_PORT_NAME,
  type SessionAttach,
} from '../protocol/host';
import type { PageReply, SessionEvent } from '../protocol/page';
import { startHostRuntime } from '../runtime/host-runtime';
import { Coordinator, type CoordinatorOptions } from './coordinator';
import { senderOrigin, servePageChannel } from './page-sessions';
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
  coordinator.start();

  browser.runtime.onConnect.addListener((port) => {
    switch (port.name) {
      case CONTROL_PORT_NAME:
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
        servePageChannel(
          runtimePortChannel<unknown, PageReply | SessionEvent>(port),
          port.name === SESSION_PORT_NAME ? { origin, session: 'relay' } : { origin },
          { coordinator, extensionVersion },
        );
        return;
      }
      case POPUP_PORT_NAME: {
        const channel = runtimePortChannel<never, PoolStatusMessage>(port);
        const push = () =>
          channel.post({ type: 'pool-status', atMs: Date.now(), hosts: registry.summaries() });
        push();
        const offChange = registry.onChange(throttle(push, 250));
        const timer = setInterval(push, 1_000);
        channel.onClose(() => {
          offChange();
          clearInterval(timer);
        });
        return;
      }
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
          messagePortChannel<unknown, PageReply | SessionEvent>(port),
          { origin: data.origin, session: 'bridge' },
          { coordinator, extensionVersion },
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
    startHostRuntime({
      kind: 'background',
      connect: async () => ({ control: local, data: local }),
    });
  }

  void spawnHosts(options.poolTabs ?? 1);
  return coordinator;
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

function throttle(fn: () => void, everyMs: number): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  return () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      fn();
    }, everyMs);
  };
}

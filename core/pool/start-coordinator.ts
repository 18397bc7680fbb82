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
} from '../protocol/host';
import type { PageReply } from '../protocol/page';
import { startHostRuntime } from '../runtime/host-runtime';
import { Coordinator, type CoordinatorOptions } from './coordinator';
import { handlePageRequest } from './page-handler';
import { ensureOffscreenHost, ensurePoolTabs, hasOffscreen } from './spawner';

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
      case PAGE_PORT_NAME: {
        const channel = runtimePortChannel<unknown, PageReply>(port);
        channel.onMessage(async (raw) => {
          channel.post(await handlePageRequest(raw, { coordinator, extensionVersion }));
        });
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
      const { data, ports } = event as MessageEvent<HostAttach>;
      if (data?.type !== 'host-attach' || typeof data.hostId !== 'string' || !ports[0]) return;
      registry.addData(
        data.hostId,
        messagePortChannel<HostToCoordinator, CoordinatorToHost>(ports[0]),
      );
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

/**
 * How a host page reaches the coordinator.
 *
 * Chrome (MV3): control on a runtime Port (its disconnect is the liveness signal), data on a
 * MessageChannel whose far end the host hands to the service worker, so tensors move as
 * transferred ArrayBuffers. Firefox (MV2 background page): one runtime Port carries both planes
 * (Firefox structured-clones extension messages natively).
 */
import { browser } from 'wxt/browser';
import { messagePortChannel, runtimePortChannel } from '../messaging/channel';
import {
  CONTROL_PORT_NAME,
  type CoordinatorToHost,
  type HostAttach,
  type HostToCoordinator,
} from '../protocol/host';
import type { HostConnection } from './host-runtime';

/**
 * True when the extension's coordinator lives in a service worker (the Chrome MV3 build).
 * Decided at build time: offscreen documents have no `runtime.getManifest` to ask.
 */
export const coordinatorIsServiceWorker = (): boolean => import.meta.env.MANIFEST_VERSION === 3;

export async function connectToCoordinator(hostId: string): Promise<HostConnection> {
  const port = browser.runtime.connect({ name: CONTROL_PORT_NAME });
  const control = runtimePortChannel<CoordinatorToHost, HostToCoordinator>(port);
  // Firefox's MV2 background page is no service worker: its runtime Ports carry tensors too.
  if (!coordinatorIsServiceWorker()) return { control, data: control };

  const registration = await navigator.serviceWorker.ready;
  const worker = registration.active;
  if (!worker) {
    control.close();
    throw new Error('The extension service worker is not active yet');
  }
  const channel = new MessageChannel();
  const attach: HostAttach = { type: 'host-attach', hostId };
  worker.postMessage(attach, [channel.port2]);
  const data = messagePortChannel<CoordinatorToHost, HostToCoordinator>(channel.port1);
  control.onClose(() => data.close());
  return { control, data };
}

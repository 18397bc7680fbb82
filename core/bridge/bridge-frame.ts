/**
 * The bridge frame: a hidden extension iframe the content script puts into a page. Its one job
 * is to vouch for the page's origin. It takes the page's session MessagePort, checks that the
 * sender is the page that embeds it, and hands the port to the service worker together with the
 * origin the browser reports (`location.ancestorOrigins`), which page script cannot forge.
 * After that the page and the coordinator talk directly on that port.
 *
 * A MessagePort gives no signal when the service worker at its other end is stopped, so the frame
 * also holds a runtime Port to the coordinator: when that disconnects, it tells the page
 * (`coordinator-lost`), and the SDK fails its in-flight calls with COORDINATOR_LOST and opens a new
 * session on its next call.
 */
import type { RuntimePortLike } from '../messaging/channel';
import type { SessionAttach } from '../protocol/host';
import { type CoordinatorLostEvent, isSessionOffer } from '../protocol/page';
import { PROTOCOL_VERSION } from '../protocol/version';

export interface BridgeOptions {
  window: Window;
  /** Resolves with the service worker to hand sessions to. */
  serviceWorker: () => Promise<ServiceWorker | null>;
  /** Opens the runtime Port whose disconnect means the coordinator went away. */
  watch?: () => RuntimePortLike;
}

/** The embedding page's origin as the browser reports it, or null where it cannot tell. */
export function embedderOrigin(win: Window): string | null {
  const ancestors = win.location.ancestorOrigins;
  if (!ancestors || ancestors.length === 0) return null;
  const origin = ancestors[0];
  return origin && origin !== 'null' ? origin : null;
}

export function startBridgeFrame(options: BridgeOptions): () => void {
  const win = options.window;
  const onMessage = async (event: MessageEvent) => {
    const port = event.ports[0];
    if (!isSessionOffer(event.data) || !port) return;
    const origin = embedderOrigin(win);
    // Only the embedding page (or its content script, which shares its origin) may open a
    // session here; a cross-origin frame inside that page posting to us is refused.
    if (origin === null || event.origin !== origin || event.source !== win.parent) {
      port.close();
      return;
    }
    const worker = await options.serviceWorker();
    if (!worker) {
      port.close();
      return;
    }
    const attach: SessionAttach = { type: 'session-attach', origin, via: 'bridge' };
    worker.postMessage(attach, [port]);
  };
  win.addEventListener('message', onMessage);
  let stopped = false;
  const watch = () => {
    const port = options.watch?.();
    port?.onDisconnect.addListener(() => {
      if (stopped) return;
      const origin = embedderOrigin(win);
      if (origin) {
        const lost: CoordinatorLostEvent = { tabpool: PROTOCOL_VERSION, event: 'coordinator-lost' };
        win.parent.postMessage(lost, origin);
      }
      setTimeout(watch, 100); // connecting wakes the new service worker
    });
  };
  watch();
  return () => {
    stopped = true;
    win.removeEventListener('message', onMessage);
  };
}

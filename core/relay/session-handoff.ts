/**
 * How the content script hands a page's session port to the extension.
 *
 * - `bridgeHandoff` (Chrome): through a hidden extension iframe that vouches for the page's origin
 *   and passes the port straight to the service worker. Page and coordinator then share one
 *   MessagePort: tensors move by transfer, and the content script is out of the path.
 * - `pipeHandoff` (Firefox, which has no `location.ancestorOrigins` for the frame to read): the
 *   content script copies messages between the page's port and a runtime Port, whose sender the
 *   browser identifies. Firefox structured-clones runtime messages, so tensors stay binary.
 */
import type { Channel } from '../messaging/channel';
import type { SessionOffer } from '../protocol/page';
import { collectBuffers } from '../protocol/tensor';
import { PROTOCOL_VERSION } from '../protocol/version';

export type SessionHandoff = (port: MessagePort) => Promise<'bridge' | 'relay'>;

const BRIDGE_HOST_TAG = 'tabpool-bridge';

/**
 * Creates the bridge iframe on first use (inside a closed shadow root, hidden) and re-creates it
 * if the page removed it.
 *
 * `bridgeUrl` is the frame's dynamic URL (`use_dynamic_url`: a per-session id, so pages cannot
 * probe for the extension); `extensionOrigin` is the origin the frame really runs in
 * (`chrome-extension://<id>`). The port is posted to that origin only, so if the page navigated
 * the frame elsewhere, the port is not delivered.
 */
export function bridgeHandoff(
  doc: Document,
  bridgeUrl: string,
  extensionOrigin: string,
): SessionHandoff {
  let frame: HTMLIFrameElement | null = null;
  let loaded: Promise<Window> | null = null;
  const ensureFrame = (): Promise<Window> => {
    if (frame?.isConnected && loaded) return loaded;
    const host = doc.createElement(BRIDGE_HOST_TAG);
    host.style.display = 'none';
    const shadow = host.attachShadow({ mode: 'closed' });
    const iframe = doc.createElement('iframe');
    iframe.src = bridgeUrl;
    iframe.setAttribute('aria-hidden', 'true');
    iframe.tabIndex = -1;
    shadow.append(iframe);
    frame = iframe;
    loaded = new Promise<Window>((resolve, reject) => {
      iframe.addEventListener('load', () => {
        if (iframe.contentWindow) resolve(iframe.contentWindow);
        else reject(new Error('the bridge frame has no window'));
      });
      iframe.addEventListener('error', () => reject(new Error('the bridge frame failed to load')));
    });
    (doc.body ?? doc.documentElement).append(host);
    return loaded;
  };
  return async (port) => {
    const target = await ensureFrame();
    const offer: SessionOffer = { tabpool: PROTOCOL_VERSION, type: 'session-offer' };
    target.postMessage(offer, extensionOrigin, [port]);
    return 'bridge';
  };
}

/** Copies messages both ways between the page's port and a runtime Port to the coordinator. */
export function pipeHandoff(connect: () => Channel<unknown, unknown>): SessionHandoff {
  return async (port) => {
    const channel = connect();
    port.onmessage = (e) => channel.post(e.data);
    channel.onMessage((m) => port.postMessage(m, collectBuffers(m)));
    channel.onClose(() => {
      port.postMessage({ tabpool: PROTOCOL_VERSION, event: 'closed' });
      port.close();
    });
    port.start();
    return 'relay';
  };
}

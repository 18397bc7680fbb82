/**
 * The content-script relay: the page's only door into tabpool.
 *
 * It runs in the page's origin, so it holds nothing of value: it checks the envelope (so a
 * malformed message gets a typed error at once), enforces the payload limit before anything is
 * copied to the extension, forwards requests on one runtime Port, and posts replies back. Full
 * validation happens again in the coordinator, which does not trust this relay.
 */
import type { Channel } from '../messaging/channel';
import {
  BadMessageError,
  CoordinatorLostError,
  InvalidParamsError,
  PayloadTooLargeError,
  toWireError,
  UnknownOpError,
} from '../protocol/errors';
import type { PageEvent } from '../protocol/page';
import {
  ANNOUNCE_EVENT,
  type AnnounceEvent,
  checkEnvelope,
  classifyWindowMessage,
  DEFAULT_DEADLINE_MS,
  idOf,
  type PageReply,
  RESUMABLE_OPS,
} from '../protocol/page';
import { collectBuffers, MAX_TENSOR_BYTES } from '../protocol/tensor';
import { PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '../protocol/version';
import type { SessionHandoff } from './session-handoff';

/** Largest total of ArrayBuffer bytes one request may carry (two max-size tensors). */
export const MAX_REQUEST_BYTES = 2 * MAX_TENSOR_BYTES;

export interface RelayOptions {
  window: Window;
  extensionVersion: string;
  /** Opens the port to the coordinator; called lazily and again after a disconnect. */
  connect: () => Channel<PageReply | PageEvent, unknown>;
  /** Hands a page's session port to the extension (`connect` op); absent: sessions unsupported. */
  handoff?: SessionHandoff;
}

/**
 * Starts relaying; returns the function that stops it.
 *
 * @example
 * startContentRelay({ window, extensionVersion: '0.1.0', connect: () => runtimePortChannel(browser.runtime.connect({ name: PAGE_PORT_NAME })) });
 */
export function startContentRelay(options: RelayOptions): () => void {
  const win = options.window;
  const targetOrigin = win.location.origin === 'null' ? '*' : win.location.origin;
  /** Requests sent and not answered, kept so they can be sent again after a restart. */
  const pending = new Map<string, unknown>();
  /** When each pending request was first sent: a resend keeps its first deadline. */
  const sentAtMs = new Map<string, number>();
  /** Requests already sent again once: a second loss ends them. */
  const resumed = new Set<string>();
  let port: Channel<PageReply | PageEvent, unknown> | null = null;

  const reply = (message: PageReply) => {
    const transfer = message.ok ? collectBuffers(message.result) : [];
    win.postMessage(message, targetOrigin, transfer);
  };
  const fail = (id: string | null, e: unknown) =>
    reply({ tabpool: PROTOCOL_VERSION, id, ok: false, error: toWireError(e) });

  const ensurePort = () => {
    if (port) return port;
    const p = options.connect();
    p.onMessage((message) => {
      if ('event' in message) {
        win.postMessage(message, targetOrigin); // a streamed event: the request goes on
        return;
      }
      if (message.id !== null) {
        pending.delete(message.id);
        resumed.delete(message.id);
        sentAtMs.delete(message.id);
      }
      reply(message);
    });
    p.onClose(() => {
      if (port === p) port = null;
      // The coordinator restarted. Work that is safe to run twice goes to the new one, marked
      // `resume`, with what is left of its deadline; the rest ends here, typed.
      const lost = [...pending];
      pending.clear();
      for (const [id, data] of lost) {
        const op = (data as { op?: unknown }).op;
        if (!resumed.has(id) && (RESUMABLE_OPS as readonly unknown[]).includes(op)) {
          resumed.add(id);
          pending.set(id, data);
          const deadlineMs = (data as { deadlineMs?: number }).deadlineMs ?? DEFAULT_DEADLINE_MS;
          const leftMs = deadlineMs - (Date.now() - (sentAtMs.get(id) ?? Date.now()));
          ensurePort().post({
            ...(data as object),
            deadlineMs: Math.max(1, Math.round(leftMs)),
            resume: true,
          });
          continue;
        }
        resumed.delete(id);
        sentAtMs.delete(id);
        fail(
          id,
          new CoordinatorLostError('The extension restarted while this request ran; send it again'),
        );
      }
    });
    port = p;
    return p;
  };

  /** `connect`: the page sent a MessagePort; the extension will speak on it from now on. */
  const openSession = (id: string, port: MessagePort | undefined) => {
    if (!port) {
      fail(id, new InvalidParamsError('connect needs a MessagePort in the transfer list'));
      return;
    }
    if (!options.handoff) {
      port.close();
      fail(id, new UnknownOpError('This browser build of tabpool has no sessions'));
      return;
    }
    options.handoff(port).then(
      (transport) => reply({ tabpool: PROTOCOL_VERSION, id, ok: true, result: { transport } }),
      (e) => {
        port.close();
        fail(id, e);
      },
    );
  };

  const onMessage = (event: MessageEvent) => {
    if (event.source !== win) return; // only the page itself, not frames or other windows
    const data: unknown = event.data;
    if (classifyWindowMessage(data) !== 'request') return;
    const id = idOf(data);
    try {
      const env = checkEnvelope(data);
      if (pending.has(env.id)) {
        throw new BadMessageError(`Request id "${env.id}" is already in flight`);
      }
      if (env.op === 'connect') {
        openSession(env.id, event.ports[0]);
        return;
      }
      const bytes = collectBuffers((data as { params?: unknown }).params).reduce(
        (n, b) => n + b.byteLength,
        0,
      );
      if (bytes > MAX_REQUEST_BYTES) {
        throw new PayloadTooLargeError(
          `Request carries ${bytes} bytes; the limit is ${MAX_REQUEST_BYTES}`,
          {
            detail: { bytes, limit: MAX_REQUEST_BYTES },
          },
        );
      }
      if ((data as { resume?: unknown }).resume !== undefined) {
        throw new BadMessageError('resume is set by the extension, not by pages');
      }
      pending.set(env.id, data);
      sentAtMs.set(env.id, Date.now());
      ensurePort().post(data);
    } catch (e) {
      fail(id, e);
    }
  };

  win.addEventListener('message', onMessage);
  const announce: AnnounceEvent = {
    tabpool: PROTOCOL_VERSION,
    event: 'announce',
    extensionVersion: options.extensionVersion,
    protocols: [...SUPPORTED_PROTOCOL_VERSIONS],
  };
  // A marker that outlives the announce event, for pages whose scripts run after it fired.
  win.document?.documentElement?.setAttribute(
    'data-tabpool-protocols',
    announce.protocols.join(' '),
  );
  win.postMessage(announce, targetOrigin);
  win.dispatchEvent(new CustomEvent(ANNOUNCE_EVENT, { detail: Object.freeze({ ...announce }) }));

  return () => {
    win.removeEventListener('message', onMessage);
    port?.close();
  };
}

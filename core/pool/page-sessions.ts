/**
 * Serves pages: every channel a page reaches the coordinator on — the content script's Port
 * (window-message requests), a piped session Port, or a session MessagePort from the bridge
 * frame — becomes a page channel with an origin the browser vouched for.
 */
import type { Channel } from '../messaging/channel';
import type { PageEvent, PageReply, SessionEvent } from '../protocol/page';
import { collectBuffers } from '../protocol/tensor';
import { PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '../protocol/version';
import { handlePageRequest, type PageContext } from './page-handler';

export interface PageChannelOptions {
  /** The page's origin, from the browser (sender, ancestorOrigins) — never from a payload. */
  origin: string;
  /** For session channels: announce the session on the channel first. */
  session?: SessionEvent['transport'];
  /**
   * The page frame behind the channel (`tab:frame`), where the browser tells: it keys the
   * request journal, so a relay can resume its requests on a restarted worker.
   */
  scope?: string;
}

export function servePageChannel(
  channel: Channel<unknown, PageReply | SessionEvent | PageEvent>,
  options: PageChannelOptions,
  ctx: Omit<PageContext, 'origin' | 'inflight' | 'emit' | 'scope'>,
): void {
  if (options.session) {
    channel.post({
      tabpool: PROTOCOL_VERSION,
      event: 'session',
      origin: options.origin,
      extensionVersion: ctx.extensionVersion,
      protocols: [...SUPPORTED_PROTOCOL_VERSIONS],
      transport: options.session,
    });
  }
  const pageCtx = {
    ...ctx,
    origin: options.origin,
    ...(options.scope ? { scope: options.scope } : {}),
    inflight: new Map<string, AbortController>(),
    emit: (event: PageEvent) => channel.post(event),
  };
  channel.onMessage(async (raw) => {
    const reply = await handlePageRequest(raw, pageCtx);
    channel.post(reply, reply.ok ? collectBuffers(reply.result) : []);
  });
}

/** The origin of a runtime message's sender: `origin` in Chrome, derived from `url` in Firefox. */
export function senderOrigin(sender: { origin?: string; url?: string } | undefined): string | null {
  if (sender?.origin && sender.origin !== 'null') return sender.origin;
  if (!sender?.url) return null;
  try {
    const origin = new URL(sender.url).origin;
    return origin === 'null' ? null : origin;
  } catch {
    return null;
  }
}

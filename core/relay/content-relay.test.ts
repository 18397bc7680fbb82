import { afterEach, describe, expect, it } from 'vitest';
import type { Channel } from '../messaging/channel';
import type { PageReply } from '../protocol/page';
import { MAX_REQUEST_BYTES, startContentRelay } from './content-relay';

/**
 * A window as the relay sees it: postMessage delivers a structured clone to 'message' listeners
 * with `source` set to the window, asynchronously — as a browser does for same-window messages.
 */
class TestWindow extends EventTarget {
  readonly location = { origin: 'http://127.0.0.1:8000' };
  readonly posted: unknown[] = [];
  postMessage(message: unknown, _origin: string, transfer: Transferable[] = []) {
    const data = structuredClone(message, { transfer });
    this.posted.push(data);
    setTimeout(() =>
      this.dispatchEvent(Object.assign(new Event('message'), { data, source: this })),
    );
  }
  /** The page's own post: delivered like postMessage but not recorded as the relay's output. */
  pagePost(message: unknown) {
    const data = structuredClone(message);
    queueMicrotask(() =>
      this.dispatchEvent(Object.assign(new Event('message'), { data, source: this })),
    );
  }
}

/** The coordinator's end, played by a test: records what arrives and can answer or hang up. */
function testPort() {
  const received: unknown[] = [];
  const onMessage = new Set<(m: PageReply) => void>();
  const onClose = new Set<() => void>();
  let connects = 0;
  const connect = (): Channel<PageReply, unknown> => {
    connects++;
    return {
      post: (m) => received.push(m),
      onMessage: (cb) => {
        onMessage.add(cb);
        return () => onMessage.delete(cb);
      },
      onClose: (cb) => {
        onClose.add(cb);
        return () => onClose.delete(cb);
      },
      close: () => {},
    };
  };
  return {
    connect,
    received,
    connects: () => connects,
    reply: (m: PageReply) => {
      for (const cb of [...onMessage]) cb(m);
    },
    hangUp: () => {
      // Listeners of this connection only: a close handler may open the next one.
      const closes = [...onClose];
      onMessage.clear();
      onClose.clear();
      for (const cb of closes) cb();
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 5));
const replies = (w: TestWindow) =>
  w.posted.filter((m) => (m as { ok?: unknown }).ok !== undefined) as PageReply[];

let stop = () => {};
afterEach(() => stop());

function setup() {
  const win = new TestWindow();
  const port = testPort();
  stop = startContentRelay({
    window: win as unknown as Window,
    extensionVersion: '9.9.9',
    connect: port.connect,
  });
  return { win, port };
}

describe('content relay', () => {
  it('announces itself at start', () => {
    const { win } = setup();
    expect(win.posted[0]).toEqual({
      tabpool: 1,
      event: 'announce',
      extensionVersion: '9.9.9',
      protocols: [1],
    });
  });

  it('forwards a request and posts the matching reply back', async () => {
    const { win, port } = setup();
    win.postMessage({ tabpool: 1, id: 'r1', op: 'hello' }, '*');
    await tick();
    expect(port.received).toEqual([{ tabpool: 1, id: 'r1', op: 'hello' }]);
    port.reply({ tabpool: 1, id: 'r1', ok: true, result: { protocol: 1 } });
    await tick();
    expect(replies(win)).toEqual([{ tabpool: 1, id: 'r1', ok: true, result: { protocol: 1 } }]);
    expect(port.received).toHaveLength(1); // its own reply is not forwarded back
  });

  it('answers a bad envelope itself, without bothering the extension', async () => {
    const { win, port } = setup();
    win.postMessage({ tabpool: 1, id: 'x' }, '*');
    win.postMessage({ tabpool: 3, id: 'y', op: 'hello' }, '*');
    await tick();
    expect(port.connects()).toBe(0);
    expect(replies(win).map((r) => [r.id, !r.ok && r.error.code])).toEqual([
      ['x', 'BAD_MESSAGE'],
      ['y', 'UNSUPPORTED_VERSION'],
    ]);
  });

  it('ignores messages that are not tabpool’s and messages from other windows', async () => {
    const { win, port } = setup();
    win.postMessage('plain string', '*');
    win.postMessage({ type: 'something-else' }, '*');
    win.dispatchEvent(
      Object.assign(new Event('message'), {
        data: { tabpool: 1, id: 'f', op: 'hello' },
        source: {},
      }),
    );
    await tick();
    expect(port.received).toEqual([]);
    expect(replies(win)).toEqual([]);
  });

  it('refuses an id that is already in flight', async () => {
    const { win, port } = setup();
    win.postMessage({ tabpool: 1, id: 'dup', op: 'hello' }, '*');
    win.postMessage({ tabpool: 1, id: 'dup', op: 'hello' }, '*');
    await tick();
    expect(port.received).toHaveLength(1);
    const [r] = replies(win);
    expect(r?.ok === false && r.error.code).toBe('BAD_MESSAGE');
  });

  it('refuses an oversize request before copying it to the extension', async () => {
    const { win, port } = setup();
    const big = new ArrayBuffer(MAX_REQUEST_BYTES + 4);
    win.postMessage({ tabpool: 1, id: 'big', op: 'matmul', params: { a: { data: big } } }, '*', [
      big,
    ]);
    await tick();
    expect(port.received).toEqual([]);
    const [r] = replies(win);
    expect(r?.ok === false && r.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('fails in-flight requests with COORDINATOR_LOST when the extension goes away, then reconnects', async () => {
    const { win, port } = setup();
    win.postMessage({ tabpool: 1, id: 'a', op: 'access' }, '*');
    await tick();
    port.hangUp();
    await tick();
    const [r] = replies(win);
    expect(r).toMatchObject({ id: 'a', ok: false, error: { code: 'COORDINATOR_LOST' } });
    win.postMessage({ tabpool: 1, id: 'b', op: 'hello' }, '*');
    await tick();
    expect(port.connects()).toBe(2);
    expect(port.received.at(-1)).toMatchObject({ id: 'b' });
  });

  it('sends a request safe to run twice again, once, marked resume, after the extension restarts', async () => {
    const { win, port } = setup();
    win.postMessage({ tabpool: 1, id: 'a', op: 'hello' }, '*');
    await tick();
    port.hangUp();
    await tick();
    expect(replies(win)).toHaveLength(0); // not answered yet: it went to the new worker
    expect(port.connects()).toBe(2);
    expect(port.received.at(-1)).toMatchObject({ id: 'a', op: 'hello', resume: true });
    // The resend carries what is left of the first deadline (30 s by default), not a new one.
    const left = (port.received.at(-1) as { deadlineMs: number }).deadlineMs;
    expect(left).toBeGreaterThan(29_000);
    expect(left).toBeLessThanOrEqual(30_000);
    port.hangUp(); // lost again: now it ends, typed
    await tick();
    expect(replies(win)).toMatchObject([
      { id: 'a', ok: false, error: { code: 'COORDINATOR_LOST' } },
    ]);
    win.postMessage({ tabpool: 1, id: 'p', op: 'hello', resume: true }, '*');
    await tick();
    expect(replies(win).at(-1)).toMatchObject({ id: 'p', error: { code: 'BAD_MESSAGE' } });
  });

  it('transfers reply buffers to the page', async () => {
    const { win, port } = setup();
    win.postMessage({ tabpool: 1, id: 't', op: 'matmul' }, '*');
    await tick();
    const data = new Float32Array([1, 2]).buffer;
    port.reply({
      tabpool: 1,
      id: 't',
      ok: true,
      result: { c: { dtype: 'float32', shape: [2], data } },
    });
    await tick();
    expect(data.byteLength).toBe(0); // detached: moved, not copied
    const [r] = replies(win);
    expect(r?.ok && new Float32Array((r.result as { c: { data: ArrayBuffer } }).c.data)).toEqual(
      new Float32Array([1, 2]),
    );
  });
});

describe('content relay fuzz', () => {
  it('forwards or answers each tabpool message exactly once and ignores the rest (10,000 cases)', async () => {
    const { default: fc } = await import('fast-check');
    const { win, port } = setup();
    const announced = win.posted.length;
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.anything(),
          fc.record(
            {
              tabpool: fc.oneof(fc.constant(1), fc.anything()),
              id: fc.anything(),
              op: fc.anything(),
              params: fc.anything(),
            },
            { requiredKeys: [] },
          ),
        ),
        async (raw) => {
          // Unique ids per case, so "already in flight" is not what we measure here.
          const message =
            typeof raw === 'object' &&
            raw !== null &&
            typeof (raw as { id?: unknown }).id === 'string'
              ? { ...raw, id: `${(raw as { id: string }).id}#${n++}` }
              : raw;
          const before = { forwarded: port.received.length, replies: replies(win).length };
          win.pagePost(message);
          await new Promise((r) => setImmediate(r));
          const forwarded = port.received.length - before.forwarded;
          const answered = replies(win).length - before.replies;
          const kind =
            typeof message === 'object' && message !== null && 'tabpool' in message
              ? 'ok' in message || 'event' in message
                ? 'outgoing'
                : 'request'
              : 'foreign';
          if (kind === 'request') expect(forwarded + answered).toBe(1);
          else expect(forwarded + answered).toBe(0);
          for (const id of [...port.received.slice(before.forwarded)].map(
            (m) => (m as { id: string }).id,
          )) {
            port.reply({ tabpool: 1, id, ok: true, result: null }); // free the id
          }
        },
      ),
      { numRuns: 10_000, seed: 7 },
    );
    expect(win.posted.length).toBeGreaterThan(announced);
  }, 120_000);
});

/**
 * A two-way message channel with a close signal: the one shape the pool code talks to, whatever
 * carries the messages underneath (a MessagePort, a runtime Port, or a same-realm pair).
 */
export interface Channel<In, Out> {
  /** Sends a message; `transfer` lists buffers to move instead of copy where the carrier can. */
  post(message: Out, transfer?: Transferable[]): void;
  /** Subscribes to messages; returns the function that unsubscribes. */
  onMessage(cb: (message: In) => void): () => void;
  /** Fires once when the other side is gone or `close()` was called. */
  onClose(cb: () => void): () => void;
  close(): void;
}

class ListenerSet<T extends unknown[]> {
  private readonly listeners = new Set<(...args: T) => void>();
  add(cb: (...args: T) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }
  emit(...args: T): void {
    for (const cb of [...this.listeners]) cb(...args);
  }
  clear(): void {
    this.listeners.clear();
  }
}

/**
 * Wraps a MessagePort. MessagePorts give no reliable close signal across processes, so the owner
 * calls `close()` when its liveness signal (the runtime Port or missed heartbeats) says so.
 */
export function messagePortChannel<In, Out>(port: MessagePort): Channel<In, Out> {
  const messages = new ListenerSet<[In]>();
  const closes = new ListenerSet<[]>();
  let closed = false;
  port.onmessage = (e: MessageEvent) => messages.emit(e.data as In);
  port.start?.();
  return {
    post(message, transfer) {
      if (closed) return;
      port.postMessage(message, transfer ?? []);
    },
    onMessage: (cb) => messages.add(cb),
    onClose: (cb) => closes.add(cb),
    close() {
      if (closed) return;
      closed = true;
      port.onmessage = null;
      port.close();
      closes.emit();
      messages.clear();
      closes.clear();
    },
  };
}

/** The subset of `browser.runtime.Port` a channel needs (kept small so tests can supply one). */
export interface RuntimePortLike {
  postMessage(message: unknown): void;
  disconnect(): void;
  onMessage: { addListener(cb: (message: unknown) => void): void };
  onDisconnect: { addListener(cb: () => void): void };
}

/**
 * Wraps a runtime Port. With structured-clone serialization (Firefox always; Chrome when the
 * manifest asks) ArrayBuffers survive, but they are copied: the transfer list is ignored.
 */
export function runtimePortChannel<In, Out>(port: RuntimePortLike): Channel<In, Out> {
  const messages = new ListenerSet<[In]>();
  const closes = new ListenerSet<[]>();
  let closed = false;
  const finish = () => {
    if (closed) return;
    closed = true;
    closes.emit();
    messages.clear();
    closes.clear();
  };
  port.onMessage.addListener((m) => {
    if (!closed) messages.emit(m as In);
  });
  port.onDisconnect.addListener(finish);
  return {
    post(message) {
      if (closed) return;
      try {
        port.postMessage(message);
      } catch {
        // Posting on a port whose other end just went away throws; the close signal follows.
        finish();
      }
    },
    onMessage: (cb) => messages.add(cb),
    onClose: (cb) => closes.add(cb),
    close() {
      if (closed) return;
      port.disconnect();
      finish();
    },
  };
}

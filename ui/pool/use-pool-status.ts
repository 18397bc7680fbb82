import { useEffect, useRef, useState } from 'preact/hooks';
import { browser } from 'wxt/browser';
import { type Channel, runtimePortChannel } from '../../core/messaging/channel';
import {
  POPUP_PORT_NAME,
  type PoolStatusMessage,
  type PopupCommand,
  type PopupMessage,
} from '../../core/protocol/host';

export type PopupListener = (message: PopupMessage) => void;

/**
 * Subscribes to the coordinator's pool status; reconnects if the service worker restarts.
 * `listen` sees every message on the port (benchmark results too).
 */
export function usePoolStatus() {
  const [status, setStatus] = useState<PoolStatusMessage | null>(null);
  const [connected, setConnected] = useState(false);
  const channel = useRef<Channel<PopupMessage, PopupCommand> | null>(null);
  const listeners = useRef(new Set<PopupListener>());
  useEffect(() => {
    let stopped = false;
    const connect = () => {
      const c = runtimePortChannel<PopupMessage, PopupCommand>(
        browser.runtime.connect({ name: POPUP_PORT_NAME }),
      );
      channel.current = c;
      setConnected(true);
      c.onMessage((m) => {
        if (m.type === 'pool-status') setStatus(m);
        for (const cb of [...listeners.current]) cb(m);
      });
      c.onClose(() => {
        setConnected(false);
        if (!stopped) setTimeout(connect, 500);
      });
    };
    connect();
    return () => {
      stopped = true;
      channel.current?.close();
    };
  }, []);
  const send = (command: PopupCommand) => channel.current?.post(command);
  const listen = (cb: PopupListener) => {
    listeners.current.add(cb);
    return () => void listeners.current.delete(cb);
  };
  return { status, connected, send, listen };
}

export function useNow(everyMs: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

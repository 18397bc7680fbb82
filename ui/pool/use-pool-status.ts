import { useEffect, useRef, useState } from 'preact/hooks';
import { browser } from 'wxt/browser';
import { type Channel, runtimePortChannel } from '../../core/messaging/channel';
import {
  POPUP_PORT_NAME,
  type PoolStatusMessage,
  type PopupCommand,
} from '../../core/protocol/host';

/** Subscribes to the coordinator's pool status; reconnects if the service worker restarts. */
export function usePoolStatus() {
  const [status, setStatus] = useState<PoolStatusMessage | null>(null);
  const [connected, setConnected] = useState(false);
  const channel = useRef<Channel<PoolStatusMessage, PopupCommand> | null>(null);
  useEffect(() => {
    let stopped = false;
    const connect = () => {
      const c = runtimePortChannel<PoolStatusMessage, PopupCommand>(
        browser.runtime.connect({ name: POPUP_PORT_NAME }),
      );
      channel.current = c;
      setConnected(true);
      c.onMessage(setStatus);
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
  return { status, connected, send };
}

export function useNow(everyMs: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

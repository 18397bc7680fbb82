import { useEffect, useRef, useState } from 'preact/hooks';
import { browser } from 'wxt/browser';
import { type Channel, runtimePortChannel } from '../../core/messaging/channel';
import {
  POPUP_PORT_NAME,
  type PoolStatusMessage,
  type PopupCommand,
} from '../../core/protocol/host';
import { ConsentPanel } from '../consent/consent-panel';
import { poolHeadline } from '../pool/format';
import { HostCard } from '../pool/host-card';

/** Subscribes to the coordinator's pool status; reconnects if the service worker restarts. */
function usePoolStatus() {
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

function useNow(everyMs: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

export function PopupApp() {
  const { status, connected, send } = usePoolStatus();
  const now = useNow(1_000);
  const hosts = status?.hosts ?? null;
  return (
    <main class="popup">
      <header>
        <h1>tabpool</h1>
        <p class="headline" data-field="headline" aria-live="polite">
          {!connected ? 'Connecting…' : hosts === null ? 'Loading…' : poolHeadline(hosts)}
        </p>
      </header>
      {status && <ConsentPanel consent={status.consent} nowMs={now} send={send} />}
      {hosts !== null && hosts.length > 0 && (
        <section aria-labelledby="hosts-title">
          <h2 id="hosts-title">Runtime hosts</h2>
          <ul class="hosts">
            {hosts.map((h) => (
              <HostCard key={h.id} host={h} nowMs={now} />
            ))}
          </ul>
        </section>
      )}
    </main>
  );
}

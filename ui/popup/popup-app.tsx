import { useEffect, useState } from 'preact/hooks';
import { browser } from 'wxt/browser';
import { runtimePortChannel } from '../../core/messaging/channel';
import { POPUP_PORT_NAME, type PoolStatusMessage } from '../../core/protocol/host';
import type { HostSummary } from '../../core/protocol/page';
import { poolHeadline } from '../pool/format';
import { HostCard } from '../pool/host-card';

/** Subscribes to the coordinator's pool status; reconnects if the service worker restarts. */
function usePoolStatus(): { hosts: HostSummary[] | null; connected: boolean } {
  const [hosts, setHosts] = useState<HostSummary[] | null>(null);
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    let stopped = false;
    let off = () => {};
    const connect = () => {
      const channel = runtimePortChannel<PoolStatusMessage, never>(
        browser.runtime.connect({ name: POPUP_PORT_NAME }),
      );
      setConnected(true);
      channel.onMessage((m) => setHosts(m.hosts));
      channel.onClose(() => {
        setConnected(false);
        if (!stopped) setTimeout(connect, 500);
      });
      off = () => channel.close();
    };
    connect();
    return () => {
      stopped = true;
      off();
    };
  }, []);
  return { hosts, connected };
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
  const { hosts, connected } = usePoolStatus();
  const now = useNow(1_000);
  return (
    <main class="popup">
      <header>
        <h1>tabpool</h1>
        <p class="headline" data-field="headline" aria-live="polite">
          {!connected ? 'Connecting…' : hosts === null ? 'Loading…' : poolHeadline(hosts)}
        </p>
      </header>
      {hosts !== null && hosts.length > 0 && (
        <ul class="hosts" aria-label="Runtime hosts">
          {hosts.map((h) => (
            <HostCard key={h.id} host={h} nowMs={now} />
          ))}
        </ul>
      )}
    </main>
  );
}

import { ConsentPanel } from '../consent/consent-panel';
import { poolHeadline } from '../pool/format';
import { HostCard } from '../pool/host-card';
import { PoolActivity } from '../pool/pool-activity';
import { useNow, usePoolStatus } from '../pool/use-pool-status';

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
      {status && <PoolActivity metrics={status.metrics} />}
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

import { browser } from 'wxt/browser';
import { AllowedSites, ConsentRequests } from '../consent/consent-panel';
import { DownloadsPanel } from '../pool/downloads-panel';
import { POOL_STATE_TEXT, poolHeadline, poolState } from '../pool/format';
import { HostCard } from '../pool/host-card';
import { PoolActivity } from '../pool/pool-activity';
import { ScheduleSummary } from '../pool/schedule-summary';
import { useNow, usePoolStatus } from '../pool/use-pool-status';

/** The toolbar popup: pool state first, then what needs the user, then the hosts and sites. */
export function PopupApp() {
  const { status, connected, send } = usePoolStatus();
  const now = useNow(1_000);
  const hosts = status?.hosts ?? null;
  const state = status
    ? poolState({ hosts: status.hosts, completed: status.metrics.completed })
    : null;
  return (
    <main class="popup">
      <header class="popup__header">
        <h1>tabpool</h1>
        {state && (
          <span class={`pill pill--${state}`} data-field="pool-state" data-pool-state={state}>
            {POOL_STATE_TEXT[state]}
          </span>
        )}
        <button
          type="button"
          class="link-button"
          onClick={() => void browser.runtime.openOptionsPage()}
        >
          Dashboard
        </button>
      </header>
      <p class="headline" data-field="headline" aria-live="polite">
        {!connected ? 'Connecting…' : hosts === null ? 'Loading…' : poolHeadline(hosts)}
      </p>
      {status && <ConsentRequests consent={status.consent} nowMs={now} send={send} />}
      {status && <DownloadsPanel downloads={status.downloads} />}
      {status && <PoolActivity metrics={status.metrics} />}
      {status?.schedule && <ScheduleSummary schedule={status.schedule} />}
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
      {status && <AllowedSites consent={status.consent} send={send} />}
    </main>
  );
}

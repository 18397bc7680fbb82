import { useEffect, useState } from 'preact/hooks';
import { browser } from 'wxt/browser';
import {
  DEFAULT_SETTINGS,
  loadSettings,
  SETTINGS_KEY,
  type Settings,
} from '../../core/pool/settings';
import type { PoolHostView } from '../../core/protocol/host';
import {
  createQuota,
  createTabpoolDb,
  deleteModel,
  type StorageUsage,
  setPinned,
} from '../../storage';
import { BenchPanel } from '../bench/bench-panel';
import { clearHistory, downloadText, toCsv, toJson } from '../bench/bench-store';
import { useBenchRunner } from '../bench/use-bench-runner';
import { ConsentPanel } from '../consent/consent-panel';
import { kindLabel, POOL_STATE_TEXT, poolHeadline, poolState } from '../pool/format';
import { HostCard } from '../pool/host-card';
import { PoolActivity } from '../pool/pool-activity';
import { ScheduleSummary } from '../pool/schedule-summary';
import { useNow, usePoolStatus } from '../pool/use-pool-status';
import { ModelsPanel } from './models-panel';
import { SettingsForm } from './settings-form';
import { StoragePanel } from './storage-panel';

const db = createTabpoolDb();
const quota = createQuota({ db });

/** model id → "Pool tab 1a2b3c4d", for every host that holds it. */
function residentOn(hosts: PoolHostView[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const h of hosts) {
    if (h.state === 'dead') continue;
    for (const m of h.residentModels) {
      const where = out[m] ?? [];
      where.push(`${kindLabel(h.kind)} ${h.id.slice(0, 8)}`);
      out[m] = where;
    }
  }
  return out;
}

const SECTIONS = [
  ['pool', 'Pool'],
  ['models', 'Models'],
  ['storage', 'Storage'],
  ['sites', 'Sites'],
  ['settings', 'Settings'],
  ['benchmarks', 'Benchmarks'],
] as const;

/** The dashboard (options page): pool, models, storage, sites, settings and benchmarks. */
export function OptionsApp() {
  const [settings, setSettings] = useState<Settings | null>(null);
  const [usage, setUsage] = useState<StorageUsage | null>(null);
  const { status, send, listen } = usePoolStatus();
  const bench = useBenchRunner({ db, send, listen });
  const now = useNow(1_000);
  const refreshUsage = () => void quota.usage().then(setUsage);
  const downloads = status?.downloads ?? [];
  const downloading = downloads.map((d) => d.modelId).join();
  useEffect(() => {
    void loadSettings(browser.storage.local).then(setSettings);
  }, []);
  // The store changes when a download starts or ends; between those, a slow poll is enough.
  useEffect(() => {
    refreshUsage();
    const t = setInterval(refreshUsage, 5_000);
    return () => clearInterval(t);
  }, [downloading]);
  const save = async (next: Settings) => {
    await browser.storage.local.set({ [SETTINGS_KEY]: next });
    setSettings(next);
  };
  const hosts = status?.hosts ?? [];
  const state = status ? poolState({ hosts, completed: status.metrics.completed }) : null;
  const benchHosts = hosts.filter((h) => h.state === 'ready').length;
  const readyModels = (usage?.models ?? []).filter((m) => m.state === 'ready').map((m) => m.id);
  return (
    <div class="dashboard">
      <header class="popup__header dashboard__header">
        <h1>tabpool dashboard</h1>
        {state && (
          <span class={`pill pill--${state}`} data-field="pool-state" data-pool-state={state}>
            {POOL_STATE_TEXT[state]}
          </span>
        )}
      </header>
      <nav aria-label="Sections" class="dashboard__nav">
        {SECTIONS.map(([id, text]) => (
          <a key={id} href={`#${id}`}>
            {text}
          </a>
        ))}
      </nav>
      <main class="options">
        <div id="pool" class="dashboard__section">
          <h2>Pool</h2>
          <p class="headline" data-field="headline" aria-live="polite">
            {status ? poolHeadline(hosts) : 'Connecting…'}
          </p>
          {status && <PoolActivity metrics={status.metrics} />}
          {status?.schedule && <ScheduleSummary schedule={status.schedule} />}
          {hosts.length > 0 && (
            <ul class="hosts hosts--grid" aria-label="Runtime hosts">
              {hosts.map((h) => (
                <HostCard key={h.id} host={h} nowMs={now} />
              ))}
            </ul>
          )}
        </div>
        <div id="models" class="dashboard__section">
          <ModelsPanel
            usage={usage}
            downloads={downloads}
            residentOn={residentOn(hosts)}
            remove={(id) => void deleteModel(db, id).then(refreshUsage)}
            pin={(id, pinned) => void setPinned(db, id, pinned).then(refreshUsage)}
          />
        </div>
        <div id="storage" class="dashboard__section">
          <StoragePanel usage={usage} />
        </div>
        <div id="sites" class="dashboard__section">
          {status && <ConsentPanel consent={status.consent} nowMs={now} send={send} />}
        </div>
        <div id="settings" class="dashboard__section">
          {settings && <SettingsForm settings={settings ?? DEFAULT_SETTINGS} save={save} />}
        </div>
        <div id="benchmarks" class="dashboard__section">
          <BenchPanel
            history={bench.history}
            run={bench.run}
            models={readyModels}
            hosts={benchHosts}
            start={bench.start}
            exportAs={(format) =>
              format === 'csv'
                ? downloadText('tabpool-benchmarks.csv', 'text/csv', toCsv(bench.history))
                : downloadText('tabpool-benchmarks.json', 'application/json', toJson(bench.history))
            }
            clear={() => void clearHistory(db).then(bench.reload)}
          />
        </div>
      </main>
    </div>
  );
}

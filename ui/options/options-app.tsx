import { useEffect, useState } from 'preact/hooks';
import { browser } from 'wxt/browser';
import {
  DEFAULT_SETTINGS,
  loadSettings,
  SETTINGS_KEY,
  type Settings,
} from '../../core/pool/settings';
import { createQuota, createTabpoolDb, deleteModel, type StorageUsage } from '../../storage';
import { ConsentPanel } from '../consent/consent-panel';
import { useNow, usePoolStatus } from '../pool/use-pool-status';
import { ModelsPanel } from './models-panel';
import { SettingsForm } from './settings-form';

const db = createTabpoolDb();
const quota = createQuota({ db });

/** The options page: settings, the model store, and the sites allowed to use tabpool. */
export function OptionsApp() {
  const [settings, setSettings] = useState<Settings | null>(null);
  const [usage, setUsage] = useState<StorageUsage | null>(null);
  const { status, send } = usePoolStatus();
  const now = useNow(1_000);
  const refreshUsage = () => void quota.usage().then(setUsage);
  useEffect(() => {
    void loadSettings(browser.storage.local).then(setSettings);
    refreshUsage();
  }, []);
  const save = async (next: Settings) => {
    await browser.storage.local.set({ [SETTINGS_KEY]: next });
    setSettings(next);
  };
  return (
    <main class="popup options">
      <header>
        <h1>tabpool settings</h1>
      </header>
      {settings && <SettingsForm settings={settings ?? DEFAULT_SETTINGS} save={save} />}
      <ModelsPanel usage={usage} remove={(id) => void deleteModel(db, id).then(refreshUsage)} />
      {status && <ConsentPanel consent={status.consent} nowMs={now} send={send} />}
    </main>
  );
}

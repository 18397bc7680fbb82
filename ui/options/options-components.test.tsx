import { renderToString } from 'preact-render-to-string';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../../core/pool/settings';
import type { DownloadView } from '../../core/protocol/host';
import type { StorageUsage } from '../../storage';
import { ModelsPanel } from './models-panel';
import { SettingsForm } from './settings-form';
import { StoragePanel } from './storage-panel';

const MB = 1024 * 1024;
const usage = (over: Partial<StorageUsage> = {}): StorageUsage => ({
  storedBytes: 5 * MB,
  logicalBytes: 8 * MB,
  sharedSavedBytes: 3 * MB,
  availableBytes: Number.POSITIVE_INFINITY,
  models: [
    {
      id: 'org/a@main',
      state: 'ready',
      pinned: true,
      totalBytes: 4 * MB,
      exclusiveBytes: MB,
      lastUsedAt: 0,
    },
    {
      id: 'org/b@main',
      state: 'downloading',
      pinned: false,
      totalBytes: 8 * MB,
      exclusiveBytes: 2 * MB,
      lastUsedAt: 0,
    },
  ],
  ...over,
});
const download = (modelId: string, bytes: number, totalBytes: number): DownloadView => ({
  modelId,
  hostId: 'h1',
  bytes,
  totalBytes,
  file: { path: 'model.safetensors', bytes, totalBytes },
  updatedAtMs: 0,
});
const noop = () => {};

describe('SettingsForm', () => {
  it('shows the current settings in labelled controls', () => {
    const html = renderToString(
      <SettingsForm settings={{ ...DEFAULT_SETTINGS, poolTabs: 3 }} save={async () => {}} />,
    );
    expect(html).toMatch(/Pool tabs[^<]*<input[^>]*name="poolTabs"[^>]*value="3"/);
    expect(html).toMatch(/Close idle pool tabs after[^<]*<input[^>]*name="idleRetireSeconds"/);
    expect(html).toMatch(/<select[^>]*name="preferredBackend"/);
    expect(html).toContain('value="https://huggingface.co"');
    expect(html).toContain('role="status"');
    expect(html).toMatch(/Language model for pages[^<]*<input[^>]*name="languageModelRepo"/);
    expect(html).toMatch(/<input[^>]*name="standbyCopy"[^>]*type="checkbox"/);
    expect(html).toMatch(/Model store limit[^<]*<input[^>]*name="maxStorageMB"[^>]*value="0"/);
    expect(
      renderToString(
        <SettingsForm
          settings={{ ...DEFAULT_SETTINGS, maxStorageBytes: 250e6 }}
          save={async () => {}}
        />,
      ),
    ).toMatch(/name="maxStorageMB"[^>]*value="250"/);
    expect(html).not.toMatch(/name="standbyCopy"[^>]*checked/);
    const on = renderToString(
      <SettingsForm settings={{ ...DEFAULT_SETTINGS, standbyCopy: true }} save={async () => {}} />,
    );
    expect(on).toMatch(/<input[^>]*name="standbyCopy"[^>]*checked/);
  });
});

describe('ModelsPanel', () => {
  it('lists models with size on disk, residency, pin state and a live download bar', () => {
    const html = renderToString(
      <ModelsPanel
        usage={usage()}
        downloads={[download('org/b@main', 3 * MB, 8 * MB)]}
        residentOn={{ 'org/a@main': ['Pool tab 1a2b3c4d'] }}
        remove={noop}
        pin={noop}
      />,
    );
    expect(html).toContain('data-model="org/a@main"');
    expect(html).toMatch(/data-field="model-size">4.0 MB on disk \(1.0 MB its own\)</);
    expect(html).toMatch(/data-field="model-resident">In memory on Pool tab 1a2b3c4d</);
    expect(html).toMatch(/aria-pressed="true"[^>]*aria-label="Pin org\/a@main/);
    expect(html).toContain('aria-label="Delete org/a@main"');
    // org/b is downloading: 3 of 8 MB is 37%.
    const b = html.slice(html.indexOf('data-model="org/b@main"'));
    expect(b).toMatch(/Not in memory/);
    expect(b).toMatch(/data-field="model-progress" data-percent="37"/);
    expect(b).toMatch(/Downloading model.safetensors: 37% \(3.0 MB of 8.0 MB\)/);
    expect(b).toMatch(/<progress[^>]*max="8388608"[^>]*value="3145728"/);
  });

  it('shows a download whose model row does not exist yet', () => {
    const html = renderToString(
      <ModelsPanel
        usage={usage({ models: [] })}
        downloads={[download('org/new@main', 10, 1000)]}
        residentOn={{}}
        remove={noop}
        pin={noop}
      />,
    );
    expect(html).toMatch(/data-model="org\/new@main" data-state="downloading"/);
    expect(html).toContain('data-percent="1"');
    expect(html).not.toContain('No models yet');
  });

  it('says when the store is empty', () => {
    const html = renderToString(
      <ModelsPanel
        usage={usage({ models: [] })}
        downloads={[]}
        residentOn={{}}
        remove={noop}
        pin={noop}
      />,
    );
    expect(html).toContain('No models yet');
  });
});

describe('StoragePanel', () => {
  it('shows usage against the quota and what sharing saved', () => {
    const html = renderToString(
      <StoragePanel
        usage={usage({
          availableBytes: 90 * MB,
          estimate: { usageBytes: 25 * MB, quotaBytes: 100 * MB },
        })}
      />,
    );
    expect(html).toMatch(/data-field="quota" data-percent="25"/);
    expect(html).toMatch(/25 MB of 100 MB quota used \(\s*25%\)/);
    expect(html).toMatch(/<progress[^>]*max="104857600"[^>]*value="26214400"/);
    expect(html).toContain('5.0 MB stored, 3.0 MB saved by sharing · 90 MB available for models');
  });

  it('says so when the browser gives no estimate', () => {
    expect(renderToString(<StoragePanel usage={usage()} />)).toContain(
      'does not say how much room',
    );
  });
});

import { renderToString } from 'preact-render-to-string';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../../core/pool/settings';
import { ModelsPanel } from './models-panel';
import { SettingsForm } from './settings-form';

describe('SettingsForm', () => {
  it('shows the current settings in labelled controls', () => {
    const html = renderToString(
      <SettingsForm settings={{ ...DEFAULT_SETTINGS, poolTabs: 3 }} save={async () => {}} />,
    );
    expect(html).toMatch(/Pool tabs[^<]*<input[^>]*name="poolTabs"[^>]*value="3"/);
    expect(html).toMatch(/<select[^>]*name="preferredBackend"/);
    expect(html).toContain('value="https://huggingface.co"');
    expect(html).toContain('role="status"');
    expect(html).toMatch(/Language model for pages[^<]*<input[^>]*name="languageModelRepo"/);
  });
});

describe('ModelsPanel', () => {
  it('lists models with their sizes and what sharing saved', () => {
    const html = renderToString(
      <ModelsPanel
        usage={{
          storedBytes: 5 * 1024 * 1024,
          logicalBytes: 8 * 1024 * 1024,
          sharedSavedBytes: 3 * 1024 * 1024,
          availableBytes: Number.POSITIVE_INFINITY,
          models: [
            {
              id: 'org/a@main',
              state: 'ready',
              pinned: false,
              totalBytes: 4 * 1024 * 1024,
              exclusiveBytes: 1024 * 1024,
              lastUsedAt: 0,
            },
          ],
        }}
        remove={() => {}}
      />,
    );
    expect(html).toContain('5.0 MB stored, 3.0 MB saved by sharing');
    expect(html).toContain('data-model="org/a@main"');
    expect(html).toContain('ready · 4.0 MB (1.0 MB its own)');
    expect(html).toContain('aria-label="Delete org/a@main"');
  });

  it('says when the store is empty', () => {
    const html = renderToString(
      <ModelsPanel
        usage={{
          storedBytes: 0,
          logicalBytes: 0,
          sharedSavedBytes: 0,
          availableBytes: 0,
          models: [],
        }}
        remove={() => {}}
      />,
    );
    expect(html).toContain('No models yet');
  });
});

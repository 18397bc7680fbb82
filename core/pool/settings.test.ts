import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, loadSettings, parseSettings, SETTINGS_KEY } from './settings';

describe('settings', () => {
  it('has defaults', () => {
    expect(DEFAULT_SETTINGS).toEqual({
      modelBaseUrl: 'https://huggingface.co',
      preferredBackend: 'auto',
      poolTabs: 1,
      idleRetireSeconds: 600,
      languageModel: null,
      standbyCopy: false,
      maxStorageBytes: 0,
    });
  });

  it('keeps valid values and replaces each bad one with its default', () => {
    expect(
      parseSettings({
        modelBaseUrl: 'http://127.0.0.1:8080',
        poolTabs: 3,
        preferredBackend: 'cpu',
      }),
    ).toEqual({
      modelBaseUrl: 'http://127.0.0.1:8080',
      poolTabs: 3,
      preferredBackend: 'cpu',
      idleRetireSeconds: 600,
      languageModel: null,
      standbyCopy: false,
      maxStorageBytes: 0,
    });
    expect(parseSettings({ standbyCopy: true }).standbyCopy).toBe(true);
    expect(parseSettings({ maxStorageBytes: 5e8 }).maxStorageBytes).toBe(5e8);
    expect(parseSettings({ maxStorageBytes: -1 }).maxStorageBytes).toBe(0);
    expect(parseSettings({ maxStorageBytes: 1.5 }).maxStorageBytes).toBe(0);
    expect(parseSettings({ standbyCopy: 'yes' }).standbyCopy).toBe(false);
    const lm = { repo: 'me/tiny', revision: 'main', files: ['config.json'] };
    expect(parseSettings({ languageModel: lm }).languageModel).toEqual(lm);
    expect(parseSettings({ languageModel: { repo: '../x', files: [] } }).languageModel).toBeNull();
    expect(parseSettings({ idleRetireSeconds: -1 }).idleRetireSeconds).toBe(600);
    expect(parseSettings({ idleRetireSeconds: 0 }).idleRetireSeconds).toBe(0);
    expect(parseSettings({ preferredBackend: 'cuda' }).preferredBackend).toBe('auto');
    expect(parseSettings({ modelBaseUrl: 'javascript:alert(1)', poolTabs: 99 })).toEqual(
      DEFAULT_SETTINGS,
    );
    expect(parseSettings({ modelBaseUrl: 'file:///etc/passwd', poolTabs: 1.5 })).toEqual(
      DEFAULT_SETTINGS,
    );
    expect(parseSettings('garbage')).toEqual(DEFAULT_SETTINGS);
    expect(parseSettings(null)).toEqual(DEFAULT_SETTINGS);
  });

  it('loads from a storage area, and survives one that throws', async () => {
    const area = { get: async () => ({ [SETTINGS_KEY]: { poolTabs: 0 } }) };
    expect(await loadSettings(area)).toEqual({ ...DEFAULT_SETTINGS, poolTabs: 0 });
    const broken = { get: async () => Promise.reject(new Error('no storage')) };
    expect(await loadSettings(broken)).toEqual(DEFAULT_SETTINGS);
    expect(await loadSettings(undefined)).toEqual(DEFAULT_SETTINGS);
  });
});

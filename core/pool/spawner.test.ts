import { beforeEach, describe, expect, it } from 'vitest';
import { browser } from 'wxt/browser';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import { countPoolTabs, ensurePoolTabs, POOL_TAB_PATH } from './spawner';

// The fake's windows.create ignores `url`; a real browser opens the window with that tab.
const createWindow = fakeBrowser.windows.create.bind(fakeBrowser.windows);

// WXT's fake browser has tabs and windows but no offscreen / runtime.getContexts: this is the
// Firefox path (tabs.query). The Chrome path runs in the end-to-end suite.
describe('ensurePoolTabs', () => {
  beforeEach(() => {
    fakeBrowser.reset();
    // As in Firefox without runtime.getContexts: the fake only throws "not implemented".
    Object.assign(fakeBrowser.runtime, { getContexts: undefined });
    fakeBrowser.windows.create = (async (data?: { url?: string | string[] }) => {
      const win = await createWindow(data as never);
      if (!win) throw new Error('fake window not created');
      if (typeof data?.url === 'string') {
        const tab = await fakeBrowser.tabs.create({
          url: data.url,
          windowId: win.id,
          active: false,
        });
        return { ...win, tabs: [tab] };
      }
      return win;
    }) as typeof fakeBrowser.windows.create;
  });

  it('opens the missing pool tabs and no more', async () => {
    const url = browser.runtime.getURL(POOL_TAB_PATH);
    await ensurePoolTabs(2);
    expect(await countPoolTabs()).toBe(2);
    const tabs = await browser.tabs.query({ url });
    expect(tabs.every((t) => t.active === false)).toBe(true);
    await ensurePoolTabs(2);
    expect(await countPoolTabs()).toBe(2);
  });

  it('opens each missing tab once when calls overlap', async () => {
    await Promise.all([ensurePoolTabs(1), ensurePoolTabs(1), ensurePoolTabs(2), ensurePoolTabs(1)]);
    expect(await countPoolTabs()).toBe(2);
  });

  it('counts only pool tabs, not the user’s', async () => {
    await browser.tabs.create({ url: 'https://example.com/' });
    expect(await countPoolTabs()).toBe(0);
    await ensurePoolTabs(1);
    expect(await countPoolTabs()).toBe(1);
  });

  it('puts later pool tabs in the pool window, not the user’s', async () => {
    const userTab = await browser.tabs.create({ url: 'https://example.com/' });
    await ensurePoolTabs(1);
    await ensurePoolTabs(3);
    const tabs = await browser.tabs.query({ url: browser.runtime.getURL(POOL_TAB_PATH) });
    expect(tabs).toHaveLength(3);
    expect(new Set(tabs.map((t) => t.windowId)).size).toBe(1);
    expect(tabs[0]?.windowId).not.toBe(userTab.windowId);
  });

  it('replaces a pool tab that was closed', async () => {
    await ensurePoolTabs(1);
    const [tab] = await browser.tabs.query({ url: browser.runtime.getURL(POOL_TAB_PATH) });
    await browser.tabs.remove(tab?.id ?? -1);
    expect(await countPoolTabs()).toBe(0);
    await ensurePoolTabs(1);
    expect(await countPoolTabs()).toBe(1);
  });
});

/**
 * Opens the hosts: the offscreen document (Chrome) and pool tabs in a window of their own.
 * Both are found again after a service-worker restart instead of being opened twice.
 */
import { browser } from 'wxt/browser';

export const OFFSCREEN_PATH = '/offscreen.html';
export const POOL_TAB_PATH = '/pool.html';
/** The hidden frame that vouches for a page's origin (web-accessible, Chrome). */
export const BRIDGE_PATH = '/bridge.html';

/** Chrome-only APIs that webextension-polyfill's types do not describe. */
interface ChromeOnly {
  offscreen?: {
    createDocument(p: { url: string; reasons: string[]; justification: string }): Promise<void>;
  };
  runtime: {
    getContexts?: (filter: {
      contextTypes: string[];
    }) => Promise<{ documentUrl?: string; windowId?: number }[]>;
  };
}
const chromeOnly = browser as unknown as ChromeOnly;

export const hasOffscreen = (): boolean => chromeOnly.offscreen !== undefined;

let creatingOffscreen: Promise<void> | null = null;

/** Creates the offscreen document unless it exists; concurrent calls share one creation. */
export async function ensureOffscreenHost(): Promise<void> {
  const offscreen = chromeOnly.offscreen;
  if (!offscreen) return;
  const url = browser.runtime.getURL(OFFSCREEN_PATH);
  const existing = await chromeOnly.runtime.getContexts?.({ contextTypes: ['OFFSCREEN_DOCUMENT'] });
  if (existing?.some((c) => c.documentUrl === url)) return;
  creatingOffscreen ??= offscreen
    .createDocument({
      url,
      reasons: ['WORKERS'],
      justification: 'Hosts the tabpool model runtime, which must outlive the service worker.',
    })
    .catch((e: unknown) => {
      // Another caller won the race: "Only a single offscreen document may be created."
      if (!String(e).includes('single offscreen')) throw e;
    })
    .finally(() => {
      creatingOffscreen = null;
    });
  await creatingOffscreen;
}

/** The windows of the pool tabs that exist now (they survive a service-worker restart). */
async function poolTabWindowIds(): Promise<(number | undefined)[]> {
  const url = browser.runtime.getURL(POOL_TAB_PATH);
  if (chromeOnly.runtime.getContexts) {
    const contexts = await chromeOnly.runtime.getContexts({ contextTypes: ['TAB'] });
    return contexts.filter((c) => c.documentUrl?.startsWith(url)).map((c) => c.windowId);
  }
  return (await browser.tabs.query({ url })).map((t) => t.windowId);
}

/** Counts the pool tabs that exist now. */
export async function countPoolTabs(): Promise<number> {
  return (await poolTabWindowIds()).length;
}

/** The pool-tab opening under way: calls queue behind it (see ensurePoolTabs). */
let opening: Promise<void> = Promise.resolve();

/**
 * Opens pool tabs until `count` exist. The first opens a window of its own, unfocused, so the
 * pool never steals focus or clutters the user's tab strip; later ones join the pool's window.
 * Pool tabs are never auto-discarded under memory pressure. Calls run one after another: two at
 * once (a settings change and a respawn, say) would both count the tabs before either opened one,
 * and open two.
 */
export function ensurePoolTabs(count: number): Promise<void> {
  const run = opening.then(() => openPoolTabs(count));
  opening = run.catch(() => {});
  return run;
}

async function openPoolTabs(count: number): Promise<void> {
  const url = browser.runtime.getURL(POOL_TAB_PATH);
  const existing = await poolTabWindowIds();
  let windowId = existing.find((id) => id !== undefined);
  for (let i = existing.length; i < count; i++) {
    let tabId: number | undefined;
    if (windowId !== undefined) {
      try {
        tabId = (await browser.tabs.create({ url, windowId, active: false })).id;
      } catch {
        windowId = undefined; // the window was closed: open a new one
      }
    }
    if (tabId === undefined) {
      const win = await browser.windows.create({ url, focused: false, type: 'normal' });
      windowId = win?.id;
      tabId = win?.tabs?.[0]?.id;
    }
    if (tabId !== undefined) {
      await browser.tabs.update(tabId, { autoDiscardable: false }).catch(() => {
        // Older browsers lack autoDiscardable; the tab still works, it may just be discarded.
      });
    }
  }
}

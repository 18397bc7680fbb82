/**
 * The `LanguageModel` global tabpool gives every page that lacks one, so a page written for
 * Chrome's built-in AI runs unchanged in any browser with tabpool. Its model is the one the user
 * chose in tabpool's settings (`languageModel`); the page learns which only after the user
 * granted its origin, and `create()` asks for that grant like any tabpool call.
 */
import { isTabpoolError, NotFoundError, NotGrantedError } from '../protocol/errors';
import type { ModelsLoadParams } from '../protocol/models';
import { connect, type TabpoolClient } from './client';
import {
  type Availability,
  createLanguageModel,
  LANGUAGE_MODEL_PARAMS,
  type LanguageModelStatic,
} from './language-model';

/** Dispatched on `window` once the global is there (it arrives shortly after document start). */
export const LANGUAGE_MODEL_READY_EVENT = 'tabpool:language-model';

/** The global has the shape of `createLanguageModel`'s result (and of Chrome's own). */
export type LanguageModelGlobal = LanguageModelStatic;

/**
 * Installs the global. Where the browser has its own `LanguageModel`, the browser's answers
 * while it is available (Chrome with its on-device model); tabpool serves where it says
 * `unavailable` (no on-device model, other browsers).
 */
export function installLanguageModel(win: Window & { LanguageModel?: unknown }): boolean {
  const native = (win.LanguageModel as LanguageModelGlobal | undefined) ?? null;
  const nativeAvailability = async (): Promise<Availability> => {
    if (!native) return 'unavailable';
    try {
      return await native.availability();
    } catch {
      return 'unavailable';
    }
  };
  let client: Promise<TabpoolClient> | null = null;
  const getClient = () => {
    client ??= connect({ window: win }).catch((e: unknown) => {
      client = null;
      throw e;
    });
    return client;
  };
  const chosen = async (c: TabpoolClient) =>
    (await c.call<{ languageModel: ModelsLoadParams | null }>('models.defaults')).languageModel;

  const LanguageModel: LanguageModelGlobal = {
    async availability() {
      const own = await nativeAvailability();
      if (own !== 'unavailable') return own;
      try {
        const c = await getClient();
        const source = await chosen(c);
        return source ? await createLanguageModel(c, source).availability() : 'unavailable';
      } catch (e) {
        // Not granted yet: the model can become available once the user allows this site.
        if (isTabpoolError(e) && e.code === 'NOT_GRANTED' && e.detail?.state === 'prompt') {
          return 'downloadable';
        }
        return 'unavailable';
      }
    },
    async create(options = {}) {
      if (native && (await nativeAvailability()) !== 'unavailable') return native.create(options);
      const c = await getClient();
      const { state } = await c.call<{ state: string }>('access', { timeoutMs: 120_000 });
      if (state !== 'granted') {
        throw new NotGrantedError(`tabpool: this site may not use the model (${state})`, {
          detail: { state },
        });
      }
      const source = await chosen(c);
      if (!source) throw new NotFoundError('tabpool has no language model chosen in its settings');
      return createLanguageModel(c, source).create(options);
    },
    async params() {
      if (native && (await nativeAvailability()) !== 'unavailable') return native.params();
      return { ...LANGUAGE_MODEL_PARAMS };
    },
  };
  Object.defineProperty(win, 'LanguageModel', {
    value: LanguageModel,
    configurable: true,
    writable: true,
  });
  win.dispatchEvent(new Event(LANGUAGE_MODEL_READY_EVENT));
  return true;
}

/**
 * User settings, kept in `storage.local` under one key and validated on every read: a bad or
 * missing value falls back to its default rather than breaking the pool.
 */
import * as v from 'valibot';
import { ModelsLoadParamsSchema } from '../protocol/models';

export const SETTINGS_KEY = 'tabpool.settings';

const SettingsSchema = v.object({
  /** Where models are downloaded from: a Hugging Face-style server (`/<repo>/resolve/<rev>/<file>`). */
  modelBaseUrl: v.fallback(
    v.pipe(v.string(), v.url(), v.regex(/^https?:\/\//, 'http(s) only')),
    'https://huggingface.co',
  ),
  /**
   * Where hosts run tensor ops: `auto` uses a hardware GPU and the CPU otherwise (a software
   * adapter such as SwiftShader is slower than the CPU kernels); `webgpu` uses any adapter.
   */
  preferredBackend: v.fallback(v.picklist(['auto', 'webgpu', 'cpu']), 'auto'),
  /** Pool tabs to keep besides host #0 while there is work. */
  poolTabs: v.fallback(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(8)), 1),
  /**
   * After this many seconds without work, pool tabs are closed (host #0 stays); the next request
   * opens them again. 0 keeps them open.
   */
  idleRetireSeconds: v.fallback(
    v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(24 * 3600)),
    600,
  ),
  /**
   * The model behind the `LanguageModel` global tabpool gives pages (Chrome's built-in AI shape):
   * a repo with its files, or null for none. Pages learn it only once granted.
   */
  languageModel: v.fallback(v.nullable(ModelsLoadParamsSchema), null),
  /**
   * Keep a second, warm copy of each model in use on another host, so a host's loss costs a
   * re-dispatch instead of a reload (twice the memory; off by default: a model is resident once).
   */
  standbyCopy: v.fallback(v.boolean(), false),
  /**
   * The most bytes the model store may hold (a user budget under the browser's quota, which the
   * extension's `unlimitedStorage` makes huge); 0 = only the browser's quota. A download that
   * would pass it evicts least recently used unpinned models first, else ends QUOTA_EXCEEDED.
   */
  maxStorageBytes: v.fallback(
    v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER)),
    0,
  ),
});

export type Settings = v.InferOutput<typeof SettingsSchema>;

export const DEFAULT_SETTINGS: Settings = v.parse(SettingsSchema, {});

/** Parses whatever is stored; every field that is missing or wrong gets its default. */
export function parseSettings(stored: unknown): Settings {
  const input = typeof stored === 'object' && stored !== null ? stored : {};
  return v.parse(SettingsSchema, input);
}

/** The subset of `browser.storage.local` settings need. */
export interface SettingsArea {
  get(key: string): Promise<Record<string, unknown>>;
}

export async function loadSettings(area: SettingsArea | undefined): Promise<Settings> {
  if (!area) return DEFAULT_SETTINGS;
  try {
    return parseSettings((await area.get(SETTINGS_KEY))[SETTINGS_KEY]);
  } catch {
    return DEFAULT_SETTINGS;
  }
}

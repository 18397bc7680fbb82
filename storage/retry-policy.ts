/**
 * When and how long to wait before trying a download again. Transient: network errors, dropped
 * bodies, 408, 425, 429 and 5xx. Everything else (404, 403, 401, 400, 416…) is final.
 */
import { AbortedError, DownloadFailedError } from './errors';

export interface RetryPolicy {
  /** Failures in a row, without new bytes stored in between, before giving up. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 500, maxDelayMs: 30_000 };

/** True for HTTP statuses worth retrying. */
export const isTransientStatus = (status: number): boolean =>
  status === 408 || status === 425 || status === 429 || status >= 500;

/**
 * Exponential backoff with full jitter (`random` in [0, 1)), or the server's `Retry-After`
 * (seconds or an HTTP date) when it sends one; both capped at `maxDelayMs`.
 *
 * @example
 * backoffDelayMs(2, DEFAULT_RETRY) // somewhere in [0, 2000)
 */
export function backoffDelayMs(
  failures: number,
  policy: RetryPolicy,
  retryAfter?: string | null,
  random: () => number = Math.random,
  nowMs: number = Date.now(),
): number {
  if (retryAfter !== undefined && retryAfter !== null && retryAfter.trim() !== '') {
    const seconds = Number(retryAfter);
    const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(retryAfter) - nowMs;
    if (Number.isFinite(ms)) return Math.min(Math.max(0, ms), policy.maxDelayMs);
  }
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, failures - 1));
  return Math.floor(random() * ceiling);
}

/** Waits `ms`, or rejects with ABORTED as soon as `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortedError('Cancelled', { cause: signal.reason }));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortedError('Cancelled', { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A failure worth another try. `finalError` is what the caller sees when tries run out
 * (DOWNLOAD_FAILED by default).
 */
export class TransientFailure extends Error {
  readonly retryAfter: string | null | undefined;
  readonly finalError: Error | undefined;
  constructor(
    message: string,
    options: { cause?: unknown; retryAfter?: string | null; finalError?: Error } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TransientFailure';
    this.retryAfter = options.retryAfter;
    this.finalError = options.finalError;
  }
}

/**
 * Runs `attempt` until it succeeds, throws something other than a TransientFailure, or fails
 * `policy.attempts` times in a row. `attempt` calls `progressed()` when it stored something new,
 * which resets the count: a long download over a flaky link keeps going as long as it advances.
 *
 * @example
 * const res = await withRetries(policy, signal, async () => fetchOnce(fetch, url, {}, signal));
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  signal: AbortSignal | undefined,
  attempt: (progressed: () => void) => Promise<T>,
): Promise<T> {
  let failures = 0;
  for (;;) {
    try {
      return await attempt(() => {
        failures = 0;
      });
    } catch (e) {
      if (!(e instanceof TransientFailure)) throw e;
      failures++;
      if (failures >= policy.attempts) {
        throw (
          e.finalError ??
          new DownloadFailedError(`${e.message} (gave up after ${failures} tries)`, {
            cause: e,
            detail: { tries: failures },
          })
        );
      }
      await sleep(backoffDelayMs(failures, policy, e.retryAfter), signal);
    }
  }
}

/**
 * One HTTP request: a 2xx Response, or a TransientFailure (network error, 408/425/429/5xx), or a
 * final DOWNLOAD_FAILED (any other status, with `detail.status`), or ABORTED.
 */
export async function fetchOnce(
  fetchImpl: typeof fetch,
  url: string,
  init: RequestInit,
  signal?: AbortSignal,
): Promise<Response> {
  let res: Response;
  try {
    res = await fetchImpl(url, signal === undefined ? init : { ...init, signal });
  } catch (e) {
    if (signal?.aborted) throw new AbortedError('Cancelled', { cause: e });
    throw new TransientFailure(`Network error fetching ${url}`, { cause: e });
  }
  if (res.ok) return res;
  await res.body?.cancel().catch(() => undefined);
  const detail = { url, status: res.status };
  if (isTransientStatus(res.status)) {
    throw new TransientFailure(`HTTP ${res.status} from ${url}`, {
      retryAfter: res.headers.get('retry-after'),
      finalError: new DownloadFailedError(`HTTP ${res.status} from ${url}`, { detail }),
    });
  }
  throw new DownloadFailedError(`HTTP ${res.status} from ${url}`, { detail });
}

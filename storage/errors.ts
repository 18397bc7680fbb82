/**
 * The storage boundary: every IndexedDB / Dexie / DOMException failure leaves `storage/` as a
 * tabpool error with a stable code and the original error as `cause`.
 *
 * The classes themselves live in `core/protocol/errors.ts` (so `errorFromWire` can rebuild them in
 * any context); this module decides which one a platform failure becomes.
 */
import {
  AbortedError,
  isTabpoolError,
  QuotaExceededError,
  StorageFailedError,
  type TabpoolError,
} from '../core/protocol/errors';

export {
  AbortedError,
  DownloadFailedError,
  IntegrityFailedError,
  isTabpoolError,
  ModelNotReadyError,
  NotFoundError,
  QuotaExceededError,
  StorageFailedError,
} from '../core/protocol/errors';

/** Walks `inner` (Dexie) and `cause` (standard) links, outermost first, at most 8 deep. */
function* errorChain(e: unknown): Generator<unknown> {
  let current: unknown = e;
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth++) {
    yield current;
    if (typeof current !== 'object') return;
    const next =
      (current as { inner?: unknown }).inner ?? (current as { cause?: unknown }).cause ?? undefined;
    if (next === current) return;
    current = next;
  }
}

const nameOf = (e: unknown): string | undefined =>
  typeof e === 'object' && e !== null && typeof (e as { name?: unknown }).name === 'string'
    ? (e as { name: string }).name
    : undefined;

/**
 * True when the browser refused a write for lack of space. Dexie wraps the DOMException (as
 * `inner`) and an aborted transaction wraps that again, so the whole chain is searched.
 *
 * @example
 * isQuotaError(new DOMException('full', 'QuotaExceededError')) // true
 */
export function isQuotaError(e: unknown): boolean {
  for (const link of errorChain(e)) {
    if (nameOf(link) === 'QuotaExceededError') return true;
    if (isTabpoolError(link) && link.code === 'QUOTA_EXCEEDED') return true;
  }
  return false;
}

/** True when the failure is a cancellation (an AbortSignal fired), in any wrapping. */
export function isAbortError(e: unknown): boolean {
  for (const link of errorChain(e)) {
    if (isTabpoolError(link)) return link.code === 'ABORTED';
    if (nameOf(link) === 'AbortError' && link instanceof DOMException) return true;
  }
  return false;
}

/**
 * Maps anything thrown inside the store to a tabpool error. Tabpool errors pass through
 * untouched, even when Dexie wrapped them; quota failures become QUOTA_EXCEEDED, cancellations ABORTED, everything else from
 * IndexedDB STORAGE_FAILED. The original error is kept as `cause`.
 *
 * @example
 * try { await db.chunks.put(row) } catch (e) { throw toStorageError(e, 'writing a chunk') }
 */
export function toStorageError(e: unknown, doing: string): TabpoolError {
  // Dexie re-wraps errors thrown inside a transaction whose `name` matches a DOMException name
  // (our NotFoundError becomes Dexie.NotFoundError with ours as `inner`), so look down the chain.
  for (const link of errorChain(e)) if (isTabpoolError(link)) return link;
  const name = nameOf(e) ?? 'Error';
  if (isQuotaError(e)) {
    return new QuotaExceededError(`Out of storage space while ${doing}`, {
      cause: e,
      detail: { doing },
    });
  }
  if (isAbortError(e)) return new AbortedError(`Cancelled while ${doing}`, { cause: e });
  const message = e instanceof Error ? e.message : String(e);
  return new StorageFailedError(`Storage failed while ${doing}: ${name}: ${message}`, {
    cause: e,
    detail: { doing, name },
  });
}

/**
 * Runs `work` and maps whatever it throws with {@link toStorageError}.
 *
 * @example
 * const row = await atBoundary('reading a model', () => db.models.get(id));
 */
export async function atBoundary<T>(doing: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    throw toStorageError(e, doing);
  }
}

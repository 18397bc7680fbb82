/**
 * Ordered chunk reads with a few in flight: while chunk i is hashed (crypto.subtle, off the main
 * thread) chunks i+1.. are already being read out of IndexedDB. Sequential reads pay read + hash
 * per chunk; this can pay the larger of the two where cores are free. Memory: at most `window`
 * chunks beyond the one the caller holds. `window` 0 reads strictly one after another.
 */
import { readChunk } from './chunk-store';
import type { TabpoolDb } from './db';

/** Two 8 MiB chunks read ahead: enough to overlap, small next to any model. */
export const DEFAULT_PREFETCH_WINDOW = 2;

/**
 * Yields each chunk of `hashes` in order as a verified ArrayBuffer (see `readChunk`). Stops at the
 * first failure, in order; reads already started for later chunks are dropped quietly.
 *
 * @example
 * for await (const buffer of prefetchChunks(db, file.chunks.map((c) => c.hash))) sink(buffer);
 */
export async function* prefetchChunks(
  db: TabpoolDb,
  hashes: readonly string[],
  options: { verify?: boolean } = {},
  window: number = DEFAULT_PREFETCH_WINDOW,
): AsyncGenerator<ArrayBuffer> {
  const inFlight: Promise<ArrayBuffer>[] = [];
  let started = 0;
  const startNext = () => {
    const hash = hashes[started++];
    if (hash === undefined) return;
    const read = readChunk(db, hash, options);
    // Handled here so a failure of a read nobody awaits (the consumer stopped) is not reported
    // as unhandled; the consumer still sees it, in order, when it gets there.
    read.catch(() => undefined);
    inFlight.push(read);
  };
  for (;;) {
    if (inFlight.length === 0) startNext();
    const read = inFlight.shift();
    if (read === undefined) return;
    // Keep `window` reads going ahead while this one is awaited and consumed.
    while (started < hashes.length && inFlight.length < window) startNext();
    yield await read;
  }
}

/**
 * Hedged requests: start a job; if it has not finished after `delayMs` (a slow tail by the
 * latency model) and another host could take it, start a second copy there. The first success
 * wins and the other copy is cancelled, so the caller gets exactly one answer. Only for work
 * that is safe to run twice (ops and model runs without side effects).
 */
import { AbortedError } from '../protocol/errors';

export interface HedgeOptions<T> {
  signal: AbortSignal | undefined;
  delayMs: () => number;
  /** Whether a host other than the first copy's could take the second now. */
  canHedge: (firstHostId: string | null) => boolean;
  /** Starts one copy; `avoid` names the host(s) it should not use, `onHost` reports its host. */
  start: (
    signal: AbortSignal,
    avoid: ReadonlySet<string>,
    onHost: (hostId: string) => void,
  ) => Promise<T>;
  onLaunch?: () => void;
  onSecondWon?: () => void;
}

/** Runs `start` once, or twice when the first copy is slow; resolves with the first success. */
export function hedged<T>(options: HedgeOptions<T>): Promise<T> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(new AbortedError('The run was cancelled'));
  return new Promise<T>((resolve, reject) => {
    const copies: AbortController[] = [];
    let firstHost: string | null = null;
    let settled = false;
    let failures = 0;
    let firstError: unknown;
    const end = () => {
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      for (const c of copies) c.abort();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const launch = (second: boolean) => {
      const controller = new AbortController();
      copies.push(controller);
      const avoid = new Set<string>(second && firstHost ? [firstHost] : []);
      options
        .start(controller.signal, avoid, (hostId) => {
          if (!second) firstHost = hostId;
        })
        .then(
          (value) => {
            if (settled) return;
            end();
            if (second) options.onSecondWon?.();
            // The loser is cancelled: its host stops and its slot frees.
            for (const c of copies) if (c !== controller) c.abort();
            resolve(value);
          },
          (e: unknown) => {
            if (settled) return;
            failures++;
            if (!second) firstError = e;
            else firstError ??= e;
            // Wait for the other copy while one is running; fail once every copy failed
            // (a first copy that fails before the hedge fires has had its retries already).
            if (failures >= copies.length) {
              end();
              reject(firstError);
            }
          },
        );
    };
    const timer = setTimeout(
      () => {
        if (settled || !options.canHedge(firstHost)) return;
        options.onLaunch?.();
        launch(true);
      },
      Math.max(0, options.delayMs()),
    );
    launch(false);
  });
}

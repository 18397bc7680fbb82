/**
 * A circuit breaker per host, on cockatiel: consecutive host faults open it (the host gets no new
 * work), after `halfOpenAfterMs` one probe run may go through, and its success closes it again.
 *
 * Host faults are the host's, not the request's: a run that timed out with a generous deadline, a
 * lost GPU device, an internal error. A kernel rejecting bad input is not a fault.
 */
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
} from 'cockatiel';
import { HostLostError, isTabpoolError } from '../protocol/errors';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Consecutive faults that open the breaker. */
  threshold?: number;
  /** How long an open breaker waits before letting one probe through. */
  halfOpenAfterMs?: number;
  /** A timeout counts as a fault only if the run was given at least this long. */
  timeoutFaultFloorMs?: number;
}

/** What survives a service-worker restart (kept in `storage.session`). */
export interface SavedBreaker {
  policy: unknown;
}

const FAULT_CODES = new Set(['GPU_DEVICE_LOST', 'INTERNAL', 'TIMEOUT']);

export class HostBreaker {
  private readonly policy: CircuitBreakerPolicy;
  readonly halfOpenAfterMs: number;
  readonly timeoutFaultFloorMs: number;

  constructor(options: BreakerOptions = {}, saved?: SavedBreaker) {
    this.halfOpenAfterMs = options.halfOpenAfterMs ?? 5_000;
    this.timeoutFaultFloorMs = options.timeoutFaultFloorMs ?? 2_000;
    this.policy = circuitBreaker(
      handleWhen((e) => isTabpoolError(e) && FAULT_CODES.has(e.code)),
      {
        halfOpenAfter: this.halfOpenAfterMs,
        breaker: new ConsecutiveBreaker(options.threshold ?? 3),
        initialState: saved?.policy,
      },
    );
  }

  get state(): BreakerState {
    switch (this.policy.state) {
      case CircuitState.Closed:
        return 'closed';
      case CircuitState.HalfOpen:
        return 'half-open';
      default:
        return 'open';
    }
  }

  /**
   * Whether placement may send a run here now: closed, or open long enough that the next run is
   * the half-open probe. Not while a probe is already running.
   */
  available(nowMs: number = Date.now()): boolean {
    if (this.policy.state === CircuitState.Closed) return true;
    if (this.policy.state !== CircuitState.Open) return false;
    const own = (this.policy.toJSON() as { ownState: { openedAt?: number } }).ownState;
    return nowMs - (own.openedAt ?? 0) >= this.halfOpenAfterMs;
  }

  /**
   * Runs `fn` through the breaker. A run refused because the breaker is open fails with
   * HOST_LOST, which the coordinator retries on another host.
   */
  async execute<T>(fn: () => Promise<T>, allottedMs: number): Promise<T> {
    try {
      return await this.policy.execute(async () => {
        try {
          return await fn();
        } catch (e) {
          // A tight deadline the page chose is not the host's fault: pass it through unseen.
          if (isTabpoolError(e) && e.code === 'TIMEOUT' && allottedMs < this.timeoutFaultFloorMs) {
            throw new NotAFault(e);
          }
          throw e;
        }
      });
    } catch (e) {
      if (e instanceof NotAFault) throw e.error;
      if (e instanceof BrokenCircuitError) {
        throw new HostLostError('The host’s circuit breaker is open', { cause: e });
      }
      throw e;
    }
  }

  onStateChange(cb: (state: BreakerState) => void): () => void {
    const listener = this.policy.onStateChange(() => cb(this.state));
    return () => listener.dispose();
  }

  toJSON(): SavedBreaker {
    return { policy: this.policy.toJSON() };
  }
}

/** Carries an error through the breaker without counting it as a failure. */
class NotAFault extends Error {
  constructor(readonly error: unknown) {
    super('not a host fault');
  }
}

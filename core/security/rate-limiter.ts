/**
 * Per-origin limits: a token bucket (a burst, then a steady rate) and a cap on requests in flight,
 * so one page flooding the pool cannot starve the others. Checked before any work is queued.
 */
import { RateLimitedError } from '../protocol/errors';

export interface RateLimits {
  /** Requests an origin may send at once after being idle. */
  burst: number;
  /** Tokens refilled per second. */
  perSecond: number;
  /** Requests of one origin in flight at the same time. */
  maxConcurrent: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = { burst: 2000, perSecond: 1000, maxConcurrent: 64 };

interface Bucket {
  tokens: number;
  refilledAtMs: number;
  inflight: number;
}

export class OriginLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    readonly limits: RateLimits = DEFAULT_RATE_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Takes a token and an in-flight slot for `origin`, or throws RATE_LIMITED (with
   * `detail.retryAfterMs`). Call the returned function when the request ends.
   */
  acquire(origin: string): () => void {
    const bucket = this.refill(origin);
    if (bucket.inflight >= this.limits.maxConcurrent) {
      throw new RateLimitedError(
        `${origin} has ${bucket.inflight} requests in flight; the limit is ${this.limits.maxConcurrent}`,
        { detail: { reason: 'concurrency', limit: this.limits.maxConcurrent, retryAfterMs: 50 } },
      );
    }
    if (bucket.tokens < 1) {
      const retryAfterMs = Math.ceil(((1 - bucket.tokens) / this.limits.perSecond) * 1000);
      throw new RateLimitedError(`${origin} is over ${this.limits.perSecond} requests per second`, {
        detail: { reason: 'rate', limit: this.limits.perSecond, retryAfterMs },
      });
    }
    bucket.tokens -= 1;
    bucket.inflight += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      bucket.inflight -= 1;
    };
  }

  inflight(origin: string): number {
    return this.buckets.get(origin)?.inflight ?? 0;
  }

  private refill(origin: string): Bucket {
    const now = this.now();
    let bucket = this.buckets.get(origin);
    if (!bucket) {
      bucket = { tokens: this.limits.burst, refilledAtMs: now, inflight: 0 };
      this.buckets.set(origin, bucket);
      return bucket;
    }
    const elapsedS = Math.max(0, now - bucket.refilledAtMs) / 1000;
    bucket.tokens = Math.min(this.limits.burst, bucket.tokens + elapsedS * this.limits.perSecond);
    bucket.refilledAtMs = now;
    return bucket;
  }
}

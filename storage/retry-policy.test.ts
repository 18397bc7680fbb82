import { describe, expect, it } from 'vitest';
import { backoffDelayMs, isTransientStatus, type RetryPolicy, sleep } from './retry-policy';

const policy: RetryPolicy = { attempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };

describe('retry policy', () => {
  it('classifies statuses', () => {
    expect([408, 425, 429, 500, 503].every(isTransientStatus)).toBe(true);
    expect([400, 401, 403, 404, 416].some(isTransientStatus)).toBe(false);
  });

  it('doubles the jitter ceiling per failure, up to the cap', () => {
    const top = () => 0.999999;
    expect(backoffDelayMs(1, policy, undefined, top)).toBe(99);
    expect(backoffDelayMs(3, policy, undefined, top)).toBe(399);
    expect(backoffDelayMs(10, policy, undefined, top)).toBe(999);
    expect(backoffDelayMs(3, policy, undefined, () => 0)).toBe(0);
  });

  it('honours Retry-After in seconds or as a date, capped', () => {
    expect(backoffDelayMs(1, policy, '0.25')).toBe(250);
    expect(backoffDelayMs(1, policy, '120')).toBe(1000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(backoffDelayMs(1, policy, 'Thu, 01 Jan 2026 00:00:00 GMT', () => 0, now - 500)).toBe(
      500,
    );
    expect(backoffDelayMs(1, policy, 'not a date', () => 0)).toBe(0);
  });

  it('sleeps, and stops early with ABORTED when the signal fires', async () => {
    await sleep(1);
    const controller = new AbortController();
    const pending = sleep(10_000, controller.signal);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(sleep(1, controller.signal)).rejects.toMatchObject({ code: 'ABORTED' });
  });
});

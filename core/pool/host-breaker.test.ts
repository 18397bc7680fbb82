import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidParamsError, KernelFailedError, TimeoutError } from '../protocol/errors';
import { HostBreaker } from './host-breaker';

const fail = (e: Error) => () => Promise.reject(e);
const ok = () => Promise.resolve('ok');

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

describe('HostBreaker', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('opens after consecutive host faults, then refuses with HOST_LOST', async () => {
    const b = new HostBreaker({ threshold: 3, halfOpenAfterMs: 5_000 });
    for (let i = 0; i < 3; i++) {
      expect(await codeOf(b.execute(fail(new TimeoutError('slow')), 10_000))).toBe('TIMEOUT');
    }
    expect(b.state).toBe('open');
    expect(b.available()).toBe(false);
    expect(await codeOf(b.execute(ok, 10_000))).toBe('HOST_LOST');
  });

  it('lets one probe through after halfOpenAfter, and closes when it succeeds', async () => {
    const b = new HostBreaker({ threshold: 1, halfOpenAfterMs: 5_000 });
    await codeOf(b.execute(fail(new TimeoutError('slow')), 10_000));
    vi.advanceTimersByTime(4_999);
    expect(b.available()).toBe(false);
    vi.advanceTimersByTime(1);
    expect(b.available()).toBe(true);
    const states: string[] = [];
    b.onStateChange((s) => states.push(s));
    expect(await codeOf(b.execute(ok, 10_000))).toBe('ok');
    expect(states).toEqual(['half-open', 'closed']);
    expect(b.state).toBe('closed');
  });

  it('re-opens when the probe fails', async () => {
    const b = new HostBreaker({ threshold: 1, halfOpenAfterMs: 1_000 });
    await codeOf(b.execute(fail(new TimeoutError('slow')), 10_000));
    vi.advanceTimersByTime(1_000);
    expect(await codeOf(b.execute(fail(new TimeoutError('still slow')), 10_000))).toBe('TIMEOUT');
    expect(b.state).toBe('open');
    expect(b.available()).toBe(false);
  });

  it('does not count the page’s own mistakes or tight deadlines against the host', async () => {
    const b = new HostBreaker({ threshold: 2, timeoutFaultFloorMs: 2_000 });
    for (let i = 0; i < 5; i++) {
      await codeOf(b.execute(fail(new InvalidParamsError('bad shape')), 10_000));
      await codeOf(b.execute(fail(new KernelFailedError('bad input')), 10_000));
      expect(await codeOf(b.execute(fail(new TimeoutError('5 ms deadline')), 5))).toBe('TIMEOUT');
    }
    expect(b.state).toBe('closed');
  });

  it('survives a restart: an open breaker restored from JSON stays open until its time', async () => {
    const b = new HostBreaker({ threshold: 1, halfOpenAfterMs: 5_000 });
    await codeOf(b.execute(fail(new TimeoutError('slow')), 10_000));
    const saved = JSON.parse(JSON.stringify(b.toJSON()));
    vi.advanceTimersByTime(2_000);
    const restored = new HostBreaker({ threshold: 1, halfOpenAfterMs: 5_000 }, saved);
    expect(restored.state).toBe('open');
    expect(restored.available()).toBe(false);
    vi.advanceTimersByTime(3_000);
    expect(restored.available()).toBe(true);
    expect(await codeOf(restored.execute(ok, 10_000))).toBe('ok');
    expect(restored.state).toBe('closed');
  });
});

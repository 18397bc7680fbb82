import { describe, expect, it } from 'vitest';
import { OriginLimiter } from './rate-limiter';

const A = 'https://a.example';
const B = 'https://b.example';

function limiter(limits = { burst: 3, perSecond: 10, maxConcurrent: 100 }) {
  let t = 0;
  const l = new OriginLimiter(limits, () => t);
  return { l, advance: (ms: number) => (t += ms) };
}

const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return (e as { code: string; detail: { retryAfterMs: number } }).code;
  }
};

describe('OriginLimiter', () => {
  it('allows a burst, then refuses with RATE_LIMITED and a retry time', () => {
    const { l } = limiter();
    for (let i = 0; i < 3; i++) l.acquire(A)();
    let error: { code?: string; detail?: { retryAfterMs?: number } } = {};
    try {
      l.acquire(A);
    } catch (e) {
      error = e as typeof error;
    }
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.detail?.retryAfterMs).toBe(100); // one token at 10/s
  });

  it('refills at the configured rate, never above the burst', () => {
    const { l, advance } = limiter();
    for (let i = 0; i < 3; i++) l.acquire(A)();
    advance(100);
    expect(codeOf(() => l.acquire(A)())).toBe('ok');
    expect(codeOf(() => l.acquire(A)())).toBe('RATE_LIMITED');
    advance(60_000);
    for (let i = 0; i < 3; i++) expect(codeOf(() => l.acquire(A)())).toBe('ok');
    expect(codeOf(() => l.acquire(A)())).toBe('RATE_LIMITED');
  });

  it('keeps origins apart: one flooding does not limit another', () => {
    const { l } = limiter();
    for (let i = 0; i < 3; i++) l.acquire(A)();
    expect(codeOf(() => l.acquire(A))).toBe('RATE_LIMITED');
    expect(codeOf(() => l.acquire(B))).toBe('ok');
  });

  it('caps requests in flight and frees the slot on release (once)', () => {
    const { l } = limiter({ burst: 100, perSecond: 100, maxConcurrent: 2 });
    const r1 = l.acquire(A);
    l.acquire(A);
    expect(codeOf(() => l.acquire(A))).toBe('RATE_LIMITED');
    r1();
    r1(); // a double release must not free two slots
    expect(l.inflight(A)).toBe(1);
    expect(codeOf(() => l.acquire(A))).toBe('ok');
    expect(codeOf(() => l.acquire(A))).toBe('RATE_LIMITED');
  });
});

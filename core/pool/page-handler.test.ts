import { afterEach, describe, expect, it } from 'vitest';
import { memoryGrantTable, OriginGate } from '../security/origin-gate';
import { OriginLimiter } from '../security/rate-limiter';
import { Coordinator } from './coordinator';
import { handlePageRequest, type PageContext } from './page-handler';

const ORIGIN = 'https://page.example';

const coordinators: Coordinator[] = [];
afterEach(() => {
  for (const c of coordinators.splice(0)) c.stop();
});

async function context(granted = true): Promise<PageContext> {
  const coordinator = new Coordinator();
  coordinators.push(coordinator);
  const gate = new OriginGate(memoryGrantTable());
  if (granted) await gate.decide(ORIGIN, true);
  return {
    coordinator,
    origin: ORIGIN,
    extensionVersion: 'test',
    gate,
    limiter: new OriginLimiter(),
    inflight: new Map(),
    models: {
      baseUrl: async () => 'http://127.0.0.1:9',
      list: async () => [
        {
          id: 'a/b@main',
          repo: 'a/b',
          revision: 'main',
          state: 'ready',
          bytes: 10,
          files: ['config.json'],
          pinned: false,
          lastUsedAt: 1,
        },
      ],
    },
  };
}

describe('handlePageRequest', () => {
  it('lists models for a granted origin', async () => {
    const reply = await handlePageRequest(
      { tabpool: 1, id: 'l', op: 'models.list' },
      await context(),
    );
    expect(reply).toMatchObject({
      ok: true,
      result: { models: [{ id: 'a/b@main', state: 'ready' }] },
    });
  });

  it('refuses model ops without a grant, and bad model params before the grant matters', async () => {
    const ctx = await context(false);
    const list = await handlePageRequest({ tabpool: 1, id: 'l', op: 'models.list' }, ctx);
    expect(list).toMatchObject({ ok: false, error: { code: 'NOT_GRANTED' } });
    for (const params of [
      { repo: '../etc', files: ['x'] },
      { repo: 'a/b', files: ['../../secret'] },
      { repo: 'a/b', files: ['https://evil.example/x'] },
      { repo: 'a/b', files: [] },
      { repo: 'a/b', revision: 'main/../../x', files: ['config.json'] },
    ]) {
      const r = await handlePageRequest({ tabpool: 1, id: 'm', op: 'models.load', params }, ctx);
      expect(r).toMatchObject({ ok: false, error: { code: 'INVALID_PARAMS' } });
    }
  });

  it('cancels a request in flight on the same channel', async () => {
    const ctx = await context();
    // No host ever joins: the matmul waits for one until it is cancelled.
    const t = { dtype: 'float32', shape: [1, 1], data: new Float32Array([1]).buffer };
    const waiting = handlePageRequest(
      { tabpool: 1, id: 'w', op: 'matmul', params: { a: t, b: t } },
      ctx,
    );
    await new Promise((r) => setTimeout(r, 10));
    const cancel = await handlePageRequest(
      { tabpool: 1, id: 'c', op: 'cancel', params: { id: 'w' } },
      ctx,
    );
    expect(cancel).toMatchObject({ ok: true, result: { cancelled: true } });
    expect(await waiting).toMatchObject({ id: 'w', ok: false, error: { code: 'ABORTED' } });
    const again = await handlePageRequest(
      { tabpool: 1, id: 'c2', op: 'cancel', params: { id: 'w' } },
      ctx,
    );
    expect(again).toMatchObject({ ok: true, result: { cancelled: false } });
  });

  it('ends a request at its own deadline', async () => {
    const ctx = await context();
    const t = { dtype: 'float32', shape: [1, 1], data: new Float32Array([1]).buffer };
    const r = await handlePageRequest(
      { tabpool: 1, id: 'd', op: 'matmul', params: { a: t, b: t }, deadlineMs: 20 },
      ctx,
    );
    expect(r).toMatchObject({ ok: false, error: { code: 'NO_HOST' } });
  });
});

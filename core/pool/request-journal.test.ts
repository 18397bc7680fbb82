import { afterEach, describe, expect, it } from 'vitest';
import { memoryGrantTable, OriginGate } from '../security/origin-gate';
import { OriginLimiter } from '../security/rate-limiter';
import { Coordinator } from './coordinator';
import { handlePageRequest, type PageContext } from './page-handler';
import { JOURNAL_KEY, type JournalStorage, RequestJournal } from './request-journal';

/** storage.session as a Map: what one browser session keeps across worker restarts. */
function sessionStorage(): JournalStorage & { data: Map<string, unknown> } {
  const data = new Map<string, unknown>();
  return {
    data,
    get: async (key) => (data.has(key) ? { [key]: structuredClone(data.get(key)) } : {}),
    set: async (items) => {
      for (const [k, v] of Object.entries(items)) data.set(k, structuredClone(v));
    },
  };
}
const settle = () => new Promise((r) => setTimeout(r, 5));
const stored = (s: { data: Map<string, unknown> }) =>
  (s.data.get(JOURNAL_KEY) as { key: string }[] | undefined)?.map((e) => e.key) ?? [];

describe('RequestJournal', () => {
  it('keeps a request until it is answered, and hands a dead worker’s open requests over once', async () => {
    const storage = sessionStorage();
    const first = new RequestJournal(storage);
    await first.ready;
    const entry = { key: 'o|1:0|a', op: 'matmul', deadlineAtMs: 1234, acceptedAtMs: 1 };
    first.accept(entry);
    first.accept({ ...entry, key: 'o|1:0|b' });
    first.end('o|1:0|b');
    await settle();
    expect(stored(storage)).toEqual(['o|1:0|a']);
    // The worker stops here; the next one reads what was left open.
    const second = new RequestJournal(storage, { resumeWindowMs: 50 });
    expect(await second.resume('o|1:0|a')).toEqual(entry);
    expect(await second.resume('o|1:0|a')).toBeUndefined(); // never twice
    expect(await second.resume('o|1:0|b')).toBeUndefined(); // answered before the stop
    expect(second.stats()).toMatchObject({ resumed: 1, leftOver: 0 });
  });

  it('drops left-over requests nobody resumes after the window', async () => {
    const storage = sessionStorage();
    const first = new RequestJournal(storage);
    await first.ready;
    first.accept({ key: 'k', op: 'hello', deadlineAtMs: 1, acceptedAtMs: 1 });
    await settle();
    const second = new RequestJournal(storage, { resumeWindowMs: 10 });
    await second.ready;
    expect(second.stats().leftOver).toBe(1);
    await new Promise((r) => setTimeout(r, 30));
    expect(second.stats()).toMatchObject({ leftOver: 0, abandoned: 1 });
    expect(stored(storage)).toEqual([]);
  });
});

describe('resumed page requests', () => {
  const coordinators: Coordinator[] = [];
  afterEach(() => {
    for (const c of coordinators.splice(0)) c.stop();
  });
  async function ctx(journal: RequestJournal): Promise<PageContext> {
    const coordinator = new Coordinator();
    coordinators.push(coordinator);
    const gate = new OriginGate(memoryGrantTable());
    await gate.decide('https://p.test', true);
    return {
      coordinator,
      origin: 'https://p.test',
      scope: '7:0',
      extensionVersion: 'test',
      gate,
      limiter: new OriginLimiter(),
      inflight: new Map(),
      models: { baseUrl: async () => '', list: async () => [] },
      journal,
    };
  }

  it('runs a resumed request under the old worker’s deadline, and one it never journaled as sent', async () => {
    const storage = sessionStorage();
    const old = new RequestJournal(storage);
    await old.ready;
    const oldCtx = await ctx(old);
    // The old worker accepted `s` (journaled), then stopped before answering.
    old.accept({
      key: RequestJournal.keyOf('https://p.test', '7:0', 's'),
      op: 'status',
      deadlineAtMs: Date.now() + 30_000,
      acceptedAtMs: Date.now(),
    });
    await settle();
    expect(oldCtx.journal?.stats().open).toBe(1);
    const fresh = await ctx(new RequestJournal(storage));
    const resumed = await handlePageRequest(
      { tabpool: 1, id: 's', op: 'status', resume: true },
      fresh,
    );
    expect(resumed).toMatchObject({ id: 's', ok: true, result: { hosts: [] } });
    // Not in the journal: the old worker never started it (work waits for the journal write),
    // so it runs now under the deadline the relay sent (what was left of the first one).
    const unjournaled = await handlePageRequest(
      { tabpool: 1, id: 'u', op: 'status', resume: true, deadlineMs: 5_000 },
      fresh,
    );
    expect(unjournaled).toMatchObject({ id: 'u', ok: true });
    // Answered: nothing of it stays in the journal.
    await settle();
    expect(stored(storage)).toEqual([]);
    expect(fresh.journal?.stats()).toMatchObject({ open: 0, resumed: 1 });
  });

  it('keeps the first deadline: a resumed request already past it ends at once, typed', async () => {
    const storage = sessionStorage();
    const old = new RequestJournal(storage);
    await old.ready;
    old.accept({
      key: RequestJournal.keyOf('https://p.test', '7:0', 'm'),
      op: 'matmul',
      deadlineAtMs: Date.now() - 1,
      acceptedAtMs: Date.now() - 100,
    });
    await settle();
    const data = () => new Float32Array([1]).buffer;
    const reply = await handlePageRequest(
      {
        tabpool: 1,
        id: 'm',
        op: 'matmul',
        resume: true,
        params: {
          a: { dtype: 'float32', shape: [1, 1], data: data() },
          b: { dtype: 'float32', shape: [1, 1], data: data() },
        },
      },
      await ctx(new RequestJournal(storage)),
    );
    // Its deadline passed while the worker was down: no host is waited for, no time added.
    expect(reply).toMatchObject({ ok: false, error: { code: 'NO_HOST' } });
  });
});

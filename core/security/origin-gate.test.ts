import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { createTabpoolDb } from '../../storage';
import { OriginGate } from './origin-gate';

const dbs: ReturnType<typeof createTabpoolDb>[] = [];
afterEach(async () => {
  for (const db of dbs.splice(0)) await db.delete();
});

/** A gate over the real Dexie grants table (fake-indexeddb underneath). */
function makeGate(name = `gate-${Math.random()}`) {
  const db = createTabpoolDb(name);
  dbs.push(db);
  return { gate: new OriginGate(db.grants), db };
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
};

const A = 'https://a.example';
const B = 'https://b.example';

describe('OriginGate', () => {
  it('denies by default: an unknown origin is in the prompt state', async () => {
    const { gate } = makeGate();
    expect(await gate.state(A)).toBe('prompt');
    expect(gate.pendingPrompts()).toEqual([]);
  });

  it('keeps one pending prompt per origin and answers every waiter with the decision', async () => {
    const { gate, db } = makeGate();
    const first = gate.request(A, 5_000);
    const second = gate.request(A, 5_000);
    const other = gate.request(B, 5_000);
    await until(() => gate.pendingPrompts().length === 2);
    expect(gate.pendingPrompts().map((p) => p.origin)).toEqual([A, B]);
    await gate.decide(A, true);
    expect(await first).toBe('granted');
    expect(await second).toBe('granted');
    expect(gate.pendingPrompts().map((p) => p.origin)).toEqual([B]);
    expect(await db.grants.get(A)).toMatchObject({ origin: A, scopes: ['load', 'run'] });
    await gate.decide(B, false);
    expect(await other).toBe('denied');
    expect(await gate.state(B)).toBe('denied');
  });

  it('persists grants across a restart (a new gate on the same database)', async () => {
    const name = `gate-persist-${Math.random()}`;
    const { gate } = makeGate(name);
    await gate.decide(A, true);
    const again = new OriginGate(createTabpoolDb(name).grants);
    expect(await again.state(A)).toBe('granted');
    expect((await again.granted()).map((g) => g.origin)).toEqual([A]);
  });

  it('revokes a grant so the next check refuses', async () => {
    const { gate, db } = makeGate();
    await gate.decide(A, true);
    await gate.revoke(A);
    expect(await gate.state(A)).toBe('prompt');
    expect(await db.grants.get(A)).toBeUndefined();
  });

  it('does not re-prompt a denied origin, and a request resolves at once', async () => {
    const { gate } = makeGate();
    await gate.decide(A, false);
    expect(await gate.request(A, 5_000)).toBe('denied');
    expect(gate.pendingPrompts()).toEqual([]);
  });

  it('resolves a request with prompt when the user has not answered in time', async () => {
    const { gate } = makeGate();
    expect(await gate.request(A, 20)).toBe('prompt');
    expect(gate.pendingPrompts().map((p) => p.origin)).toEqual([A]); // still waiting for the user
  });

  it('tells listeners about every change', async () => {
    const { gate } = makeGate();
    let changes = 0;
    gate.onChange(() => changes++);
    void gate.request(A, 1_000);
    await until(() => changes === 1);
    await gate.decide(A, true);
    await gate.revoke(A);
    expect(changes).toBe(3);
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HostKind } from '../protocol/host';
import { Respawner } from './respawner';

describe('Respawner', () => {
  let spawned: HostKind[];
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
    spawned = [];
  });
  afterEach(() => vi.useRealTimers());

  const make = (opts = {}) =>
    new Respawner({
      spawn: async (kind) => {
        spawned.push(kind);
      },
      delayMs: 2_000,
      maxPerMinute: 3,
      ...opts,
    });

  it('re-creates a dead host after the delay, once for several deaths at a time', async () => {
    const r = make();
    r.hostDied('tab');
    r.hostDied('tab');
    r.hostDied('offscreen');
    await vi.advanceTimersByTimeAsync(1_999);
    expect(spawned).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(spawned.sort()).toEqual(['offscreen', 'tab']);
  });

  it('holds back a crash loop: past maxPerMinute it waits out the minute', async () => {
    const r = make();
    for (let i = 0; i < 3; i++) {
      r.hostDied('tab');
      await vi.advanceTimersByTimeAsync(2_000);
    }
    expect(spawned).toHaveLength(3);
    r.hostDied('tab');
    await vi.advanceTimersByTimeAsync(30_000);
    expect(spawned).toHaveLength(3); // held back
    await vi.advanceTimersByTimeAsync(60_000);
    expect(spawned).toHaveLength(4);
  });

  it('never respawns the background page (it is the coordinator itself)', async () => {
    const r = make();
    r.hostDied('background');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(spawned).toEqual([]);
  });

  it('reports a failed spawn and stops after stop()', async () => {
    const errors: string[] = [];
    const r = new Respawner({
      spawn: async () => {
        throw new Error('no window');
      },
      onError: (kind, e) => errors.push(`${kind}: ${(e as Error).message}`),
      delayMs: 10,
    });
    r.hostDied('tab');
    await vi.advanceTimersByTimeAsync(10);
    expect(errors).toEqual(['tab: no window']);
    r.stop();
    r.hostDied('tab');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(errors).toHaveLength(1);
  });
});

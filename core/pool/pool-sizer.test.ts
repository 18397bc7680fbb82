import { describe, expect, it } from 'vitest';
import { PoolSizer } from './pool-sizer';

function sizer() {
  let t = 0;
  const applied: number[] = [];
  const s = new PoolSizer({ apply: async (n) => void applied.push(n), now: () => t });
  return { s, applied, advance: (ms: number) => (t += ms) };
}

describe('PoolSizer', () => {
  it('opens poolTabs, retires them after the idle time, and reopens them on work', () => {
    const { s, applied, advance } = sizer();
    s.configure({ poolTabs: 2, idleRetireSeconds: 60 });
    expect(applied).toEqual([2]);
    advance(59_999);
    s.tick();
    expect(s.desired).toBe(2);
    advance(1);
    s.tick();
    expect(s.desired).toBe(0);
    s.tick();
    expect(applied).toEqual([2, 0]); // retired once
    s.noteWork();
    expect(s.desired).toBe(2);
    expect(applied).toEqual([2, 0, 2]);
  });

  it('keeps tabs while work keeps coming, and never retires with idleRetireSeconds 0', () => {
    const { s, applied, advance } = sizer();
    s.configure({ poolTabs: 1, idleRetireSeconds: 10 });
    for (let i = 0; i < 5; i++) {
      advance(9_000);
      s.noteWork();
      s.tick();
    }
    expect(s.desired).toBe(1);
    s.configure({ poolTabs: 1, idleRetireSeconds: 0 });
    advance(10 ** 9);
    s.tick();
    expect(s.desired).toBe(1);
    expect(applied).toEqual([1, 1]);
  });
});

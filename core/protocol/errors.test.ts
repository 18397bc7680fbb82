import { describe, expect, it } from 'vitest';
import {
  ERROR_CODES,
  errorFromWire,
  HostLostError,
  InvalidParamsError,
  isTabpoolError,
  toWireError,
} from './errors';

describe('errors across contexts', () => {
  it('round-trips every code through structured clone and rebuilds the right class', () => {
    for (const code of ERROR_CODES) {
      const wire = structuredClone({ code, message: `m-${code}`, detail: { n: 1 } });
      const rebuilt = errorFromWire(wire);
      expect(rebuilt.code).toBe(code);
      expect(rebuilt.message).toBe(`m-${code}`);
      expect(rebuilt.detail).toEqual({ n: 1 });
      expect(rebuilt.toWire()).toEqual(wire);
    }
  });

  it('keeps the cause locally but never sends it', () => {
    const cause = new Error('disk');
    const e = new HostLostError('tab closed', { cause });
    expect(e.cause).toBe(cause);
    expect(e.name).toBe('HostLostError');
    expect(e.toWire()).toEqual({ code: 'HOST_LOST', message: 'tab closed' });
  });

  it('recognises errors by code, not by prototype', () => {
    const foreign = { code: 'HOST_LOST', message: 'from another realm' };
    expect(isTabpoolError(foreign)).toBe(true);
    expect(isTabpoolError({ code: 'NOT_A_CODE', message: 'x' })).toBe(false);
    expect(isTabpoolError(new Error('plain'))).toBe(false);
  });

  it('turns unknown throws into INTERNAL and keeps tabpool codes', () => {
    expect(toWireError(new TypeError('boom'))).toEqual({ code: 'INTERNAL', message: 'boom' });
    expect(toWireError('str')).toEqual({ code: 'INTERNAL', message: 'str' });
    expect(toWireError(new InvalidParamsError('bad', { detail: { field: 'a' } }))).toEqual({
      code: 'INVALID_PARAMS',
      message: 'bad',
      detail: { field: 'a' },
    });
  });

  it('rebuilds garbage as INTERNAL rather than throwing', () => {
    expect(errorFromWire(null).code).toBe('INTERNAL');
    expect(errorFromWire({ code: 42 }).code).toBe('INTERNAL');
    expect(errorFromWire({ code: 'TIMEOUT' }).message).toBe('Unknown error');
  });
});

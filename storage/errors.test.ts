import Dexie from 'dexie';
import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../core/protocol/errors';
import { atBoundary, isAbortError, isQuotaError, toStorageError } from './errors';

describe('storage error boundary', () => {
  it('maps a bare QuotaExceededError DOMException, keeping it as cause', () => {
    const dom = new DOMException('disk full', 'QuotaExceededError');
    const e = toStorageError(dom, 'writing a chunk');
    expect(e.code).toBe('QUOTA_EXCEEDED');
    expect(e.cause).toBe(dom);
    expect(e.message).toContain('writing a chunk');
  });

  it('finds the quota error under Dexie wrappers (inner) and causes', () => {
    const dom = new DOMException('disk full', 'QuotaExceededError');
    const dexie = new Dexie.AbortError('Transaction aborted', new Dexie.QuotaExceededError(dom));
    expect(isQuotaError(dexie)).toBe(true);
    expect(toStorageError(dexie, 'x').code).toBe('QUOTA_EXCEEDED');
    expect(isQuotaError(new Error('outer', { cause: dom }))).toBe(true);
    expect(isQuotaError(new Dexie.AbortError('aborted'))).toBe(false);
  });

  it('maps other IndexedDB failures to STORAGE_FAILED with the platform name', () => {
    const closed = new Dexie.DatabaseClosedError('closed');
    const e = toStorageError(closed, 'reading');
    expect(e.code).toBe('STORAGE_FAILED');
    expect(e.cause).toBe(closed);
    expect(e.detail).toEqual({ doing: 'reading', name: 'DatabaseClosedError' });
  });

  it('passes tabpool errors through and maps cancellations to ABORTED', async () => {
    const nf = new NotFoundError('no model');
    expect(toStorageError(nf, 'x')).toBe(nf);
    expect(toStorageError(new Dexie.NotFoundError('wrapped', nf), 'x')).toBe(nf);
    const abort = new DOMException('stop', 'AbortError');
    expect(isAbortError(abort)).toBe(true);
    expect(toStorageError(abort, 'downloading').code).toBe('ABORTED');
    await expect(
      atBoundary('opening', async () => {
        throw new Dexie.VersionError('bad version');
      }),
    ).rejects.toMatchObject({ code: 'STORAGE_FAILED' });
    expect(await atBoundary('ok', async () => 7)).toBe(7);
  });
});

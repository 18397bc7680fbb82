import { describe, expect, it } from 'vitest';
import { classifyWindowMessage, idOf, parsePageRequest } from './page';
import { float32Tensor, MAX_TENSOR_BYTES } from './tensor';

const t = (shape: number[], bytes = shape.reduce((a, b) => a * b, 1) * 4) => ({
  dtype: 'float32',
  shape,
  data: new ArrayBuffer(bytes),
});
const codeOf = (raw: unknown) => {
  try {
    parsePageRequest(raw);
    return 'ok';
  } catch (e) {
    return (e as { code: string }).code;
  }
};

describe('classifyWindowMessage', () => {
  it('ignores what is not ours and our own outgoing traffic', () => {
    expect(classifyWindowMessage('hello')).toBe('foreign');
    expect(classifyWindowMessage(null)).toBe('foreign');
    expect(classifyWindowMessage({ type: 'webpackOk' })).toBe('foreign');
    expect(classifyWindowMessage({ tabpool: 1, id: 'a', ok: true })).toBe('outgoing');
    expect(classifyWindowMessage({ tabpool: 1, event: 'announce' })).toBe('outgoing');
    expect(classifyWindowMessage({ tabpool: 1 })).toBe('request');
  });
});

describe('parsePageRequest', () => {
  it('accepts the three ops', () => {
    expect(parsePageRequest({ tabpool: 1, id: 'h', op: 'hello' })).toEqual({
      tabpool: 1,
      id: 'h',
      op: 'hello',
    });
    expect(parsePageRequest({ tabpool: 1, id: 's', op: 'status', params: { x: 1 } }).op).toBe(
      'status',
    );
    const a = float32Tensor(new Float32Array(6), [2, 3]);
    const b = float32Tensor(new Float32Array(3), [3, 1]);
    const req = parsePageRequest({ tabpool: 1, id: 'm', op: 'matmul', params: { a, b } });
    expect(req).toMatchObject({
      op: 'matmul',
      params: { a: { shape: [2, 3] }, b: { shape: [3, 1] } },
    });
  });

  it.each([
    ['a string', 'matmul', 'BAD_MESSAGE'],
    ['no id', { tabpool: 1, op: 'hello' }, 'BAD_MESSAGE'],
    ['empty id', { tabpool: 1, id: '', op: 'hello' }, 'BAD_MESSAGE'],
    ['an overlong id', { tabpool: 1, id: 'x'.repeat(129), op: 'hello' }, 'BAD_MESSAGE'],
    ['version 2', { tabpool: 2, id: 'a', op: 'hello' }, 'UNSUPPORTED_VERSION'],
    ['an unknown op', { tabpool: 1, id: 'a', op: 'eval' }, 'UNKNOWN_OP'],
    ['no params', { tabpool: 1, id: 'a', op: 'matmul' }, 'INVALID_PARAMS'],
    [
      'an int dtype',
      {
        tabpool: 1,
        id: 'a',
        op: 'matmul',
        params: { a: { ...t([1, 1]), dtype: 'int32' }, b: t([1, 1]) },
      },
      'INVALID_PARAMS',
    ],
    [
      'a fractional dim',
      { tabpool: 1, id: 'a', op: 'matmul', params: { a: t([1.5, 1], 4), b: t([1, 1]) } },
      'INVALID_PARAMS',
    ],
    [
      'a zero dim',
      { tabpool: 1, id: 'a', op: 'matmul', params: { a: t([0, 1], 0), b: t([1, 1]) } },
      'INVALID_PARAMS',
    ],
    [
      'rank 9',
      {
        tabpool: 1,
        id: 'a',
        op: 'matmul',
        params: { a: t([1, 1, 1, 1, 1, 1, 1, 1, 1]), b: t([1, 1]) },
      },
      'INVALID_PARAMS',
    ],
    [
      'a typed array for data',
      {
        tabpool: 1,
        id: 'a',
        op: 'matmul',
        params: { a: { ...t([1, 1]), data: new Float32Array(1) }, b: t([1, 1]) },
      },
      'INVALID_PARAMS',
    ],
    [
      'short data',
      { tabpool: 1, id: 'a', op: 'matmul', params: { a: t([2, 2], 12), b: t([2, 2]) } },
      'INVALID_PARAMS',
    ],
    [
      'rank-3 operands',
      { tabpool: 1, id: 'a', op: 'matmul', params: { a: t([1, 2, 2]), b: t([2, 2]) } },
      'INVALID_PARAMS',
    ],
    [
      'mismatched inner dims',
      { tabpool: 1, id: 'a', op: 'matmul', params: { a: t([2, 3]), b: t([2, 3]) } },
      'INVALID_PARAMS',
    ],
    [
      'a shape over the limit',
      {
        tabpool: 1,
        id: 'a',
        op: 'matmul',
        params: { a: t([MAX_TENSOR_BYTES, 1], 4), b: t([1, 1]) },
      },
      'PAYLOAD_TOO_LARGE',
    ],
    [
      'a shape that overflows 2^53',
      {
        tabpool: 1,
        id: 'a',
        op: 'matmul',
        params: { a: t([2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1], 4), b: t([1, 1]) },
      },
      'PAYLOAD_TOO_LARGE',
    ],
  ])('rejects %s with %s', (_name, raw, code) => {
    expect(codeOf(raw)).toBe(code);
  });

  it('reads an id from a bad message when it can, so the reply can be matched', () => {
    expect(idOf({ id: 'abc' })).toBe('abc');
    expect(idOf({ id: 5 })).toBeNull();
    expect(idOf(null)).toBeNull();
  });
});

describe('scheduling options', () => {
  const matmul = { tabpool: 1, id: 'm', op: 'matmul', params: { a: t([1, 1]), b: t([1, 1]) } };
  it('accepts a priority and hedge on ops that are safe to run twice', () => {
    const r = parsePageRequest({ ...matmul, priority: 'background', hedge: true });
    expect(r).toMatchObject({ priority: 'background', hedge: true });
    expect(parsePageRequest(matmul)).not.toHaveProperty('priority');
  });
  it('rejects an unknown priority, a non-boolean hedge, and hedge on other ops', () => {
    expect(codeOf({ ...matmul, priority: 'urgent' })).toBe('BAD_MESSAGE');
    expect(codeOf({ ...matmul, hedge: 'yes' })).toBe('BAD_MESSAGE');
    expect(codeOf({ tabpool: 1, id: 'h', op: 'status', hedge: true })).toBe('INVALID_PARAMS');
  });
});

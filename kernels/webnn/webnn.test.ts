/**
 * The WebNN backend without a browser WebNN context (none can be created on this machine;
 * tests/e2e/webnn.test.ts tries in Chromium and says why it did not run).
 *
 * What runs here: the op mapping, evaluated by the spec-reading CPU builder (reference.ts), is
 * compared with our CPU reference on the conformance cases; the spec's shape rules; the
 * backend's graph cache, dispatch chaining, reads, disposal and failure reporting over the
 * reference context; and the HAL's fallback when `createContext` fails. None of it claims to
 * be WebNN: it checks what we ask WebNN for.
 */
import { describe, expect, it } from 'vitest';
import { KernelFailedError } from '../../core/protocol/errors';
import type { OpInputs, OpName, OpParams } from '../backend/ops';
import { conformanceCases } from '../conformance/cases';
import { CPU_OPS, createCpuBackend } from '../cpu/backend';
import { createHal, halFromBackends } from '../hal/hal';
import { cpuTensor, type Tensor } from '../tensor/tensor';
import { compare } from '../testing/compare';
import { rng, uniform } from '../testing/random';
import { createWebnnBackend, webnnBackendOn } from './backend';
import { MAPPED_OPS, mapOp, NotMappedError } from './ops';
import { SpecReferenceBuilder } from './reference';
import { evaluateGraph, referenceContext } from './reference-context';
import type { ML, MLOperandDataType } from './types';

const ML_OF = { f32: 'float32', f16: 'float16', i32: 'int32' } as const;
const typed = (type: MLOperandDataType, bytes: ArrayBuffer) =>
  type === 'float16'
    ? new Uint16Array(bytes)
    : type === 'int32'
      ? new Int32Array(bytes)
      : new Float32Array(bytes);

describe('op mapping, evaluated by the spec reference, against the CPU reference', () => {
  const cases = conformanceCases(20260, false).filter((c) => MAPPED_OPS.has(c.op) && !c.views);
  const ran = new Map<OpName, number>();

  it.each(cases.map((c) => [c.op, c.label, c] as const))('%s %s', async (op, _label, c) => {
    const b = new SpecReferenceBuilder();
    let y: ReturnType<typeof mapOp>;
    try {
      y = mapOp(b, op, c.inputs, c.params);
    } catch (e) {
      // Attention with key lengths has no mapping: the backend declines it (tested below).
      expect(e).toBeInstanceOf(NotMappedError);
      return;
    }
    const graph = await b.build({ y });
    const feeds = Object.fromEntries(
      c.inputs.map((t, i) => {
        if (t.storage.backend !== 'cpu') throw new Error('cases are CPU tensors');
        return [`x${i}`, { type: ML_OF[t.dtype], data: t.storage.data }];
      }),
    );
    const out = evaluateGraph(graph, feeds).y as ArrayBuffer;
    const fn = CPU_OPS[op] as (i: OpInputs<OpName>, p: OpParams<OpName>) => Tensor;
    const want = fn(c.inputs as OpInputs<OpName>, c.params);
    if (want.storage.backend !== 'cpu') throw new Error('CPU reference');
    expect(y.shape).toEqual(want.shape);
    expect(ML_OF[want.dtype]).toBe(y.dataType);
    const result = compare(typed(y.dataType, out), want.storage.data, c.tolerance);
    expect(result.mismatch).toBeNull();
    ran.set(op, (ran.get(op) ?? 0) + 1);
  });

  it('covered every mapped op (the ops a BERT-family forward needs among them)', async () => {
    // The contiguous cases all start from views, which WebNN tensors never are: on a dense
    // tensor the op is an identity graph.
    const b = new SpecReferenceBuilder();
    const y = mapOp(b, 'contiguous', [{ dtype: 'f32', shape: [2, 2] }], {});
    const out = evaluateGraph(await b.build({ y }), {
      x0: { type: 'float32', data: Float32Array.of(1, 2, 3, 4) },
    }).y as ArrayBuffer;
    expect(Array.from(new Float32Array(out))).toEqual([1, 2, 3, 4]);
    ran.set('contiguous', 1);
    expect(new Set(ran.keys())).toEqual(MAPPED_OPS);
    for (const op of ['matmul', 'layerNorm', 'softmax', 'gather', 'attention', 'binary', 'unary'])
      expect(ran.get(op as OpName)).toBeGreaterThan(0);
  });
});

describe("the spec's shapes and argument checks", () => {
  const f32 = (shape: number[]) => ({ dtype: 'f32' as const, shape });
  it('gives the output shapes and types the spec defines', () => {
    const b = () => new SpecReferenceBuilder();
    expect(mapOp(b(), 'argmax', [f32([2, 3, 5])], {})).toMatchObject({
      shape: [2, 3],
      dataType: 'int32',
    });
    expect(mapOp(b(), 'gather', [f32([50, 8]), { dtype: 'i32', shape: [2, 7] }], {}).shape).toEqual(
      [2, 7, 8],
    );
    expect(mapOp(b(), 'matmul', [f32([4, 3, 16]), f32([24, 16])], { transB: true }).shape).toEqual([
      4, 3, 24,
    ]);
    // Grouped-query attention: 8 query heads over 2 KV heads, 5 queries after 9 cached keys.
    expect(
      mapOp(b(), 'attention', [f32([1, 8, 5, 16]), f32([1, 2, 14, 16]), f32([1, 2, 14, 16])], {
        causal: true,
      }).shape,
    ).toEqual([1, 8, 5, 16]);
    expect(mapOp(b(), 'cast', [f32([3])], { dtype: 'f16' }).dataType).toBe('float16');
  });

  it('rejects what the spec rejects, and leaves unmapped ops to other backends', () => {
    const b = new SpecReferenceBuilder();
    expect(() => mapOp(b, 'matmul', [f32([2, 3]), f32([4, 5])], {})).toThrow(TypeError);
    expect(() =>
      mapOp(new SpecReferenceBuilder(), 'rotary', [f32([1, 2, 3, 4])], {} as never),
    ).toThrow(NotMappedError);
    expect(() =>
      new SpecReferenceBuilder().add(
        b.input('a', { dataType: 'float32', shape: [2] }),
        b.input('b', { dataType: 'int32', shape: [2] }),
      ),
    ).toThrow(TypeError);
  });
});

describe('WebNN backend on the reference context (graph cache, dispatch, reads)', () => {
  const r = rng(5);
  const rand = (shape: number[]) =>
    cpuTensor(
      uniform(
        r,
        shape.reduce((a, b) => a * b, 1),
      ),
      shape,
    );
  const refBuilder = () => new SpecReferenceBuilder();

  it('compiles one graph per op, params, dtypes and shapes, and chains ops on device tensors', async () => {
    const ctx = referenceContext();
    const nn = webnnBackendOn(ctx, refBuilder);
    const [a, w, x2] = [rand([4, 8]), rand([6, 8]), rand([3, 8])];
    const ua = nn.upload(a);
    const uw = nn.upload(w);
    const y1 = nn.ops.matmul?.([ua, uw], { transB: true, activation: 'gelu' }) as Tensor;
    const y2 = nn.ops.matmul?.([ua, uw], { transB: true, activation: 'gelu' }) as Tensor;
    expect(nn.stats.builds).toBe(1); // same key: cached
    nn.ops.matmul?.([nn.upload(x2), uw], { transB: true, activation: 'gelu' });
    expect(nn.stats.builds).toBe(2); // new M: a new graph
    nn.ops.matmul?.([ua, uw], { transB: true });
    expect(nn.stats.builds).toBe(3); // new params: a new graph
    // An op on an op's output: waits for it, no read in between.
    const s = nn.ops.softmax?.([y1], {}) as Tensor;
    const got = await nn.read(s);
    const want = CPU_OPS.softmax(
      [CPU_OPS.matmul([a, w], { transB: true, activation: 'gelu' })],
      {},
    );
    if (got.storage.backend !== 'cpu' || want.storage.backend !== 'cpu') throw new Error('cpu');
    expect(
      compare(got.storage.data, want.storage.data, { abs: 1e-6, rel: 1e-5 }).mismatch,
    ).toBeNull();
    expect(nn.stats.dispatches).toBe(5);
    const before = ctx.destroyed;
    nn.dispose(y2);
    await Promise.resolve(y2.storage.backend === 'webnn' && y2.storage.tensor);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(ctx.destroyed).toBe(before + 1);
  });

  it('declines views and unmapped ops; the HAL runs those on the CPU', async () => {
    const nn = webnnBackendOn(referenceContext(), refBuilder);
    const hal = halFromBackends([nn, createCpuBackend()]);
    const x = hal.upload(rand([1, 2, 4, 8]));
    expect(nn.supports('rotary', [x], { positionOffset: 0, theta: 10000 })).toBe(false);
    const rotated = await hal.run('rotary', [x], { positionOffset: 0, theta: 10000 });
    const normed = await hal.run('rmsNorm', [rotated, hal.upload(rand([8]))], { eps: 1e-6 });
    expect(hal.placements.get('rotary@cpu')).toBe(1);
    expect(hal.placements.get('rmsNorm@webnn')).toBe(1);
    expect((await hal.read(normed)).length).toBe(64);
  });

  it('reports a failed graph build at read, as KERNEL_FAILED, and builds again next time', async () => {
    let fail = true;
    const flaky = () => {
      const b = new SpecReferenceBuilder();
      const build = b.build.bind(b);
      b.build = (outputs) => (fail ? Promise.reject(new Error('driver said no')) : build(outputs));
      return b;
    };
    const nn = webnnBackendOn(referenceContext(), flaky);
    const x = nn.upload(rand([2, 5]));
    const y = nn.ops.softmax?.([x], {}) as Tensor;
    await expect(nn.read(y)).rejects.toBeInstanceOf(KernelFailedError);
    fail = false;
    const again = nn.ops.softmax?.([x], {}) as Tensor;
    expect((await nn.read(again)).shape).toEqual([2, 5]);
    expect(nn.stats.builds).toBe(2);
  });
});

describe('when no WebNN context can be created', () => {
  // The browsers' own failure is exercised in tests/e2e/webnn.test.ts; here, the two shapes it
  // takes: no navigator.ml at all, and createContext rejecting.
  const refusing: ML = {
    createContext: () =>
      Promise.reject(
        Object.assign(new Error('WebNN is not supported on this device'), {
          name: 'NotSupportedError',
        }),
      ),
  };

  it('returns the reason instead of a backend', async () => {
    expect(await createWebnnBackend(undefined)).toEqual({
      backend: null,
      error: 'this browser has no navigator.ml',
    });
    const result = await createWebnnBackend(refusing);
    expect(result.backend).toBeNull();
    expect(result.error).toBe(
      'createContext failed: NotSupportedError: WebNN is not supported on this device',
    );
  });

  it('leaves the HAL on its other backends and says why', async () => {
    const hal = await createHal({ webnn: refusing });
    expect(hal.backends.map((b) => b.name)).toEqual(['cpu']);
    expect(hal.webnnError).toContain('NotSupportedError');
    const y = await hal.run('softmax', [hal.upload(cpuTensor(Float32Array.of(1, 2), [2]))], {});
    expect(Array.from(await hal.read(y))).toHaveLength(2);
  });
});

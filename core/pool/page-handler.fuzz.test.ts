/**
 * Fuzzes the coordinator's page entry point with hostile messages: whatever a page (or a
 * compromised content script) sends, `handlePageRequest` must answer exactly once, promptly,
 * with a well-formed reply — and a bad message must get a specific error code, never INTERNAL.
 *
 * CI-sized run: 100,000 cases. More: TABPOOL_FUZZ_RUNS=1000000; another seed: TABPOOL_FUZZ_SEED.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHal } from '../../kernels/hal/hal';
import { messagePortChannel } from '../messaging/channel';
import { modelFilesFromMap } from '../models/model-files';
import { byteTokenizerFiles, randomModelFiles } from '../models/testing/random-models';
import { ERROR_CODES, NotFoundError } from '../protocol/errors';
import type { CoordinatorToHost, HostToCoordinator } from '../protocol/host';
import { PAGE_OPS, type PageReply } from '../protocol/page';
import { startHostRuntime } from '../runtime/host-runtime';
import { createModelTasks } from '../runtime/model-tasks';
import { createHostOps } from '../runtime/ops';
import { createTaskRunner } from '../runtime/tasks';
import { memoryGrantTable, OriginGate } from '../security/origin-gate';
import { OriginLimiter } from '../security/rate-limiter';
import { Coordinator } from './coordinator';
import { handlePageRequest, type PageContext } from './page-handler';

const TINY = {
  hidden: 8,
  layers: 1,
  heads: 2,
  intermediate: 16,
  vocab: 260,
  maxPositions: 48,
  labels: 2,
};
const RUNS = Number(process.env.TABPOOL_FUZZ_RUNS ?? 100_000);
const SEED = Number(process.env.TABPOOL_FUZZ_SEED ?? 20261126);
const ORIGIN = 'https://fuzz.example';

let ctx: PageContext;
let coordinator: Coordinator;
let stopHost = () => {};

beforeAll(async () => {
  coordinator = new Coordinator({ heartbeatIntervalMs: 60_000 });
  coordinator.start();
  const ch = new MessageChannel();
  coordinator.registry.addControl(
    messagePortChannel<HostToCoordinator, CoordinatorToHost>(ch.port1),
  );
  const hostEnd = messagePortChannel<CoordinatorToHost, HostToCoordinator>(ch.port2);
  // The host runs real (tiny, random-weight) models: model ops reach generation and pooling.
  const stored: Record<string, Record<string, Uint8Array | string>> = {
    'fuzz/gpt2@main': { ...randomModelFiles('gpt2', TINY, 1, 0.5), ...byteTokenizerFiles() },
    'fuzz/bert@main': { ...randomModelFiles('bert', TINY, 2, 0.5), ...byteTokenizerFiles() },
  };
  const cpu = createHal();
  const models = createModelTasks({
    hal: () => cpu,
    files: (id) => {
      const files = stored[id];
      if (!files) throw new NotFoundError(`No stored model ${id}`);
      return modelFilesFromMap(id, files);
    },
  });
  stopHost = startHostRuntime({
    kind: 'tab',
    ops: await createHostOps(null),
    connect: async () => ({ control: hostEnd, data: hostEnd }),
    tasks: createTaskRunner(models),
  }).stop;
  const gate = new OriginGate(memoryGrantTable());
  await gate.decide(ORIGIN, true);
  ctx = {
    coordinator,
    origin: ORIGIN,
    extensionVersion: 'fuzz',
    gate,
    // Limits high enough that the fuzzer tests validation, not the limiter.
    limiter: new OriginLimiter({ burst: 1e9, perSecond: 1e9, maxConcurrent: 1e9 }),
    defaultDeadlineMs: 2_000,
    // Model params from the generators are never valid (repo/file patterns), so no download
    // starts; a list is the real call.
    models: { baseUrl: async () => 'http://127.0.0.1:9', list: async () => [] },
  };
  while (coordinator.registry.ready().length === 0) await new Promise((r) => setTimeout(r, 5));
});

afterAll(() => {
  stopHost();
  coordinator.stop();
});

// ---- generators: mostly near-valid messages, which reach deeper than random noise ----

const dims = fc.oneof(
  fc.integer({ min: 1, max: 4 }),
  fc.constantFrom(0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, 2 ** 53),
  fc.anything(),
);
const buffer = fc.oneof(
  fc.integer({ min: 0, max: 64 }).map((n) => new ArrayBuffer(n)),
  fc.constantFrom(new Float32Array(2), [1, 2, 3], '0000', null, { byteLength: 16 }),
);
const tensor = fc.oneof(
  fc.record({
    dtype: fc.oneof(fc.constant('float32'), fc.constantFrom('float16', 'int8', '', 'Float32')),
    shape: fc.oneof(fc.array(dims, { maxLength: 10 }), fc.anything()),
    data: buffer,
  }),
  fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })).map(([m, k]) => ({
    dtype: 'float32',
    shape: [m, k],
    data: new Float32Array(m * k).fill(1).buffer,
  })),
  fc.anything(),
);
/** Mostly `good`, sometimes anything else: keeps the fuzzer past the envelope check. */
const mostly = <T>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<unknown>) =>
  fc.oneof({ weight: 9, arbitrary: good }, { weight: 1, arbitrary: bad });

const op = mostly(fc.constantFrom(...PAGE_OPS, 'connect'), fc.string({ maxLength: 12 }));
const id = mostly(
  fc.string({ minLength: 1, maxLength: 20 }),
  fc.oneof(fc.constantFrom('', 'x'.repeat(129)), fc.anything()),
);
const f32 = (shape: number[]) => ({
  dtype: 'float32',
  shape,
  data: new Float32Array(shape.reduce((n, d) => n * d, 1)).fill(0.5).buffer,
});
const validMatmul = fc
  .tuple(
    fc.integer({ min: 1, max: 4 }),
    fc.integer({ min: 1, max: 4 }),
    fc.integer({ min: 1, max: 4 }),
  )
  .map(([m, k, n]) => ({ a: f32([m, k]), b: f32([k, n]) }));
const modelRef = mostly(
  fc.constantFrom('fuzz/gpt2', 'fuzz/bert', 'fuzz/gpt2@main', 'fuzz/none', 'Fuzz/Gpt2'),
  fc.oneof(fc.string({ maxLength: 30 }), fc.anything()),
);
const text = mostly(fc.string({ minLength: 1, maxLength: 30 }), fc.anything());
const small = (max: number) =>
  mostly(fc.integer({ min: 0, max }), fc.oneof(fc.double(), fc.anything()));
const ids = fc
  .tuple(
    fc.integer({ min: 1, max: 2 }),
    fc.integer({ min: 1, max: 6 }),
    fc.integer({ min: 0, max: 300 }),
  )
  .map(([b, s, v]) => ({
    dtype: 'int32',
    shape: [b, s],
    data: new Int32Array(b * s).fill(v).buffer,
  }));
const modelParams = fc.oneof(
  fc.record(
    {
      model: modelRef,
      prompt: text,
      maxTokens: small(4),
      temperature: small(2),
      topK: small(10),
      topP: mostly(fc.double({ min: 0, max: 1, noNaN: true }), fc.anything()),
      seed: small(100),
      stop: mostly(fc.array(fc.string({ maxLength: 3 }), { maxLength: 2 }), fc.anything()),
    },
    { requiredKeys: ['model', 'prompt'] },
  ),
  fc.record(
    {
      model: modelRef,
      texts: mostly(fc.array(text, { minLength: 1, maxLength: 3 }), fc.anything()),
      pooling: mostly(fc.constantFrom('mean', 'cls'), fc.anything()),
      normalize: mostly(fc.boolean(), fc.anything()),
      topK: mostly(fc.integer({ min: 1, max: 3 }), fc.anything()),
    },
    { requiredKeys: ['model', 'texts'] },
  ),
  fc.record(
    { model: modelRef, pixelValues: tensor, texts: fc.anything() },
    { requiredKeys: ['model'] },
  ),
  fc.record(
    {
      model: modelRef,
      inputs: fc.oneof(
        { weight: 4, arbitrary: fc.record({ input_ids: ids }) },
        {
          weight: 1,
          arbitrary: fc.record(
            {
              input_ids: mostly(ids, tensor),
              attention_mask: mostly(ids, tensor),
              pixel_values: tensor,
            },
            { requiredKeys: [] },
          ),
        },
      ),
      outputs: fc.array(fc.constantFrom('logits', 'hidden_states.1', 'nope'), { maxLength: 2 }),
    },
    { requiredKeys: ['model', 'inputs'] },
  ),
);
const params = fc.oneof(
  validMatmul,
  modelParams,
  modelParams,
  fc.record({ a: tensor, b: tensor }, { requiredKeys: ['a', 'b'] }),
  fc.record({ a: tensor, b: tensor }, { requiredKeys: [] }),
  fc.record({ timeoutMs: fc.oneof(fc.integer({ min: -5, max: 10 }), fc.anything()) }),
  fc.anything(),
);
const fields = {
  tabpool: mostly(fc.constant(1), fc.anything()),
  id,
  op,
  params,
  extra: fc.anything(),
};
const envelope = fc.oneof(
  { weight: 4, arbitrary: fc.record(fields, { requiredKeys: ['tabpool', 'id', 'op'] }) },
  { weight: 1, arbitrary: fc.record(fields, { requiredKeys: [] }) },
);
const message = fc.oneof(
  { weight: 9, arbitrary: envelope },
  { weight: 1, arbitrary: fc.anything() },
);

/** Resolves with the reply, or rejects when the handler takes longer than `ms` (a hang). */
function answered(raw: unknown, ms = 3_000): Promise<PageReply> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no reply in ${ms} ms to ${safe(raw)}`)), ms);
    handlePageRequest(raw, ctx).then(
      (r) => {
        clearTimeout(t);
        resolve(r);
      },
      (e) => {
        clearTimeout(t);
        reject(new Error(`handler rejected (${String(e)}) for ${safe(raw)}`));
      },
    );
  });
}

function safe(x: unknown): string {
  try {
    return JSON.stringify(x)?.slice(0, 300) ?? String(x);
  } catch {
    return Object.prototype.toString.call(x);
  }
}

describe(`page protocol fuzz (${RUNS} cases, seed ${SEED})`, () => {
  it('answers every message once, well-formed, with a specific code for bad ones', async () => {
    let ok = 0;
    const okByOp = new Map<string, number>();
    const codes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(message, async (raw) => {
        // `access` would wait on a user; the fuzzer's origin is already granted, so it returns.
        const reply = await answered(raw);
        expect(reply.tabpool).toBe(1);
        expect(reply.id === null || typeof reply.id === 'string').toBe(true);
        if (reply.ok) {
          ok++;
          const okOp = (raw as { op: string }).op;
          okByOp.set(okOp, (okByOp.get(okOp) ?? 0) + 1);
          expect(PAGE_OPS).toContain((raw as { op: string }).op);
          expect(reply.id).toBe((raw as { id: string }).id);
        } else {
          expect(ERROR_CODES).toContain(reply.error.code);
          expect(reply.error.code).not.toBe('INTERNAL');
          expect(typeof reply.error.message).toBe('string');
          codes.set(reply.error.code, (codes.get(reply.error.code) ?? 0) + 1);
        }
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    // The generators must reach the deep paths, not only the envelope check.
    expect(ok).toBeGreaterThan(RUNS / 100);
    expect(okByOp.get('matmul') ?? 0).toBeGreaterThan(RUNS / 1000); // real runs on the host
    for (const modelOp of ['generate', 'embed', 'classify', 'run']) {
      expect(okByOp.get(modelOp) ?? 0, modelOp).toBeGreaterThan(RUNS / 20_000); // real models ran
    }
    for (const code of ['BAD_MESSAGE', 'UNSUPPORTED_VERSION', 'UNKNOWN_OP', 'INVALID_PARAMS']) {
      expect(codes.get(code) ?? 0).toBeGreaterThan(0);
    }
    console.log(
      `fuzz: ${RUNS} messages; ok by op ${JSON.stringify(Object.fromEntries(okByOp))}; errors ${JSON.stringify(Object.fromEntries(codes))}`,
    );
  }, 600_000);
});

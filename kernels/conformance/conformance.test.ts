/**
 * Runs every conformance case on every available backend and compares it with the CPU
 * reference. The WebGPU backend runs on Dawn in Node (SwiftShader here and in CI); the run
 * prints which backends ran and the worst error of each op as a fraction of its tolerance.
 * TABPOOL_FUZZ=1 widens the sweep (more seeds, bigger shapes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, OP_NAMES, type OpInputs, type OpName, type OpParams } from '../backend/ops';
import { CPU_OPS } from '../cpu/backend';
import type { Tensor } from '../tensor/tensor';
import { compare } from '../testing/compare';
import { nodeGpu } from '../testing/node-gpu';
import { createWebGpuBackend, type WebGpuBackend } from '../webgpu/backend';
import { createGpuContext } from '../webgpu/context';
import { conformanceCases, type OpCase } from './cases';

const FUZZ = process.env.TABPOOL_FUZZ === '1';
const SEEDS = FUZZ ? [1, 2, 3, 4] : [20260];
const gpu = await nodeGpu();
/** Adapter features the cases may need (`OpCase.needs`); cases needing others report not running. */
const features = new Set<string>(gpu.adapter ? [...gpu.adapter.features] : []);
const runsHere = (c: OpCase) => c.needs === undefined || features.has(c.needs);

function reference(c: OpCase): Tensor {
  const inputs = c.inputs.map((t, i) => c.views?.[i]?.(t) ?? t);
  const fn = CPU_OPS[c.op] as (i: OpInputs<OpName>, p: OpParams<OpName>) => Tensor;
  return fn(inputs as OpInputs<OpName>, c.params);
}

async function runOn(backend: Backend, c: OpCase): Promise<Tensor> {
  const uploaded = c.inputs.map((t) => backend.upload(t));
  const inputs = uploaded.map((t, i) => c.views?.[i]?.(t) ?? t) as OpInputs<OpName>;
  expect(
    backend.supports(c.op, inputs, c.params),
    `${backend.name} should support ${c.op} ${c.label}`,
  ).toBe(true);
  const fn = backend.ops[c.op] as (i: OpInputs<OpName>, p: OpParams<OpName>) => Tensor;
  const out = fn(inputs, c.params);
  try {
    return await backend.read(out);
  } finally {
    for (const t of uploaded) backend.dispose(t);
    backend.dispose(out);
  }
}

describe.runIf(gpu.gpu !== null)('conformance: webgpu vs the CPU reference', () => {
  let backend: WebGpuBackend;
  const worst = new Map<OpName, { ratio: number; maxAbs: number; cases: number }>();

  beforeAll(async () => {
    if (!gpu.adapter) throw new Error('unreachable: runIf checked the adapter');
    backend = createWebGpuBackend(await createGpuContext(gpu.adapter));
    const c = backend.context.caps;
    console.info(
      `conformance backends: webgpu on "${c.vendor} ${c.architecture} ${c.description}" ` +
        `(shader-f16 ${c.shaderF16}, subgroups ${c.subgroups}, subgroup-matrix ${c.subgroupMatrix}) vs cpu reference; seeds ${SEEDS}${FUZZ ? ' (fuzz)' : ''}`,
    );
  });

  afterAll(() => {
    const rows = [...worst].map(
      ([op, w]) =>
        `${op.padEnd(11)} cases ${String(w.cases).padStart(3)}  max |err| ${w.maxAbs.toExponential(2)}  worst ${(w.ratio * 100).toFixed(1)}% of tolerance`,
    );
    console.info(`conformance (webgpu):\n${rows.join('\n')}`);
    console.info(
      `matmul programs chosen: ${JSON.stringify(Object.fromEntries(backend?.matmulChoices ?? []))}`,
    );
    backend?.context.device.destroy();
  });

  for (const seed of SEEDS) {
    const cases = conformanceCases(seed, FUZZ);
    it('covers every op', () => {
      expect(new Set(cases.map((c) => c.op))).toEqual(new Set(OP_NAMES));
    });
    const notHere = cases.filter((c) => !runsHere(c));
    if (notHere.length > 0) {
      const needs = [...new Set(notHere.map((c) => c.needs))].join(', ');
      console.warn(
        `conformance: ${notHere.length} cases did not run here: the adapter lacks ${needs} (they run on the GPU machine: npm run bench:kernels -- --conformance)`,
      );
      it.skip.each(notHere.map((c) => [c.needs, c.op, c.label] as const))(
        `seed ${seed}: did not run here, adapter lacks %s: %s %s`,
        () => undefined,
      );
    }
    it.each(cases.filter(runsHere).map((c) => [c.op, c.label, c] as const))(
      `seed ${seed}: %s %s`,
      async (op, _label, c) => {
        const want = reference(c);
        const got = await runOn(backend, c);
        expect(got.shape).toEqual(want.shape);
        expect(got.dtype).toBe(want.dtype);
        if (got.storage.backend !== 'cpu' || want.storage.backend !== 'cpu')
          throw new Error('read must return CPU tensors');
        const result = compare(got.storage.data, want.storage.data, c.tolerance);
        const w = worst.get(op) ?? { ratio: 0, maxAbs: 0, cases: 0 };
        worst.set(op, {
          ratio: Math.max(w.ratio, result.worstRatio),
          maxAbs: Math.max(w.maxAbs, result.maxAbsError),
          cases: w.cases + 1,
        });
        expect(result.mismatch).toBeNull();
      },
    );
  }
});

describe.runIf(gpu.gpu === null)('conformance without a GPU', () => {
  // Not a skip in disguise: on a machine with no Vulkan ICD there is no WebGPU backend to test;
  // this says so in the run. nodeGpu() throws (failing the file) when an ICD exists but breaks.
  it(`runs the CPU backend only: ${gpu.reason}`, () => {
    console.warn(`conformance: no WebGPU backend (${gpu.reason}); only the CPU reference ran`);
    expect(gpu.reason).toBeTruthy();
  });
});

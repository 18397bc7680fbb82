/**
 * The conformance cases outside vitest, for machines without node_modules (the H100 run): runs
 * every case on the WebGPU backend, compares with the CPU reference and prints the worst error
 * per op as a fraction of its tolerance. Exits 1 on any mismatch.
 */

import type { OpInputs, OpName, OpParams } from '../backend/ops';
import { conformanceCases } from '../conformance/cases';
import { CPU_OPS } from '../cpu/backend';
import type { Tensor } from '../tensor/tensor';
import { compare } from '../testing/compare';
import { nodeGpu } from '../testing/node-gpu';
import { createWebGpuBackend } from '../webgpu/backend';
import { createGpuContext } from '../webgpu/context';

type AnyOp = (i: OpInputs<OpName>, p: OpParams<OpName>) => Tensor;

const found = await nodeGpu();
if (!found.adapter) throw new Error(`No WebGPU adapter: ${found.reason}`);
const gpu = createWebGpuBackend(await createGpuContext(found.adapter));
const worst = new Map<string, { ratio: number; maxAbs: number; cases: number }>();
const failures: string[] = [];
const notRun = new Map<string, number>();
for (const seed of [20260, 1, 2]) {
  for (const c of conformanceCases(seed, process.argv.includes('--fuzz'))) {
    if (c.needs && !found.adapter.features.has(c.needs)) {
      notRun.set(c.needs, (notRun.get(c.needs) ?? 0) + 1);
      continue;
    }
    const view = (t: Tensor, i: number) => c.views?.[i]?.(t) ?? t;
    const want = (CPU_OPS[c.op] as AnyOp)(c.inputs.map(view) as OpInputs<OpName>, c.params);
    const uploaded = c.inputs.map((t) => gpu.upload(t));
    const out = (gpu.ops[c.op] as AnyOp)(uploaded.map(view) as OpInputs<OpName>, c.params);
    const got = await gpu.read(out);
    for (const t of [...uploaded, out]) gpu.dispose(t);
    if (got.storage.backend !== 'cpu' || want.storage.backend !== 'cpu')
      throw new Error('read must return CPU tensors');
    const r = compare(got.storage.data, want.storage.data, c.tolerance);
    // f16 cases get their own rows, and which matmul program ran them.
    const key = c.needs ? `${c.op}/f16` : c.op;
    const w = worst.get(key) ?? { ratio: 0, maxAbs: 0, cases: 0 };
    worst.set(key, {
      ratio: Math.max(w.ratio, r.worstRatio),
      maxAbs: Math.max(w.maxAbs, r.maxAbsError),
      cases: w.cases + 1,
    });
    if (r.mismatch) failures.push(`seed ${seed} ${c.op} ${c.label}: ${r.mismatch}`);
  }
}
const caps = gpu.context.caps;
console.log(
  `conformance on ${caps.vendor} ${caps.architecture} ${caps.description} (shader-f16 ${caps.shaderF16}, subgroup-matrix ${caps.subgroupMatrix} ${JSON.stringify(caps.subgroupMatrixConfigs)}, subgroup size ${caps.subgroupMinSize}-${caps.subgroupMaxSize})`,
);
for (const [needs, count] of notRun) console.log(`did not run: ${count} cases need ${needs}`);
console.log(`matmul programs chosen: ${JSON.stringify(Object.fromEntries(gpu.matmulChoices))}`);
for (const [op, w] of worst) {
  console.log(
    `${op.padEnd(11)} cases ${String(w.cases).padStart(3)}  max |err| ${w.maxAbs.toExponential(2)}  worst ${(w.ratio * 100).toFixed(1)}% of tolerance`,
  );
}
console.log(
  failures.length === 0
    ? 'conformance: all cases pass'
    : `conformance FAILURES:\n${failures.join('\n')}`,
);
gpu.context.device.destroy();
if (failures.length > 0) process.exitCode = 1;

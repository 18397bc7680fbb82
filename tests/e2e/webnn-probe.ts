/**
 * Runs in the page of tests/e2e/webnn.test.ts: asks the browser's WebNN for a context through
 * the HAL, and where one comes, runs the mapped ops' conformance cases on it against the CPU
 * reference. Returns plain data for the test to check.
 */
import type { OpInputs, OpName, OpParams } from '../../kernels/backend/ops';
import { conformanceCases } from '../../kernels/conformance/cases';
import { CPU_OPS } from '../../kernels/cpu/backend';
import { createHal } from '../../kernels/hal/hal';
import type { Tensor } from '../../kernels/tensor/tensor';
import { compare } from '../../kernels/testing/compare';
import { MAPPED_OPS } from '../../kernels/webnn/ops';
import type { ML } from '../../kernels/webnn/types';

export interface ProbeResult {
  hasMl: boolean;
  hasBuilder: boolean;
  /** What `navigator.ml.createContext()` itself threw, or null when it gave a context. */
  browserError: string | null;
  backends: string[];
  webnnError: string | null;
  cases: { op: string; label: string; mismatch: string | null }[];
}

async function probe(): Promise<ProbeResult> {
  const ml = (navigator as Navigator & { ml?: ML }).ml;
  let browserError: string | null = null;
  try {
    if (!ml) throw new Error('no navigator.ml');
    await ml.createContext();
  } catch (e) {
    browserError = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  }
  const hal = await createHal({ webnn: ml ?? null });
  const result: ProbeResult = {
    hasMl: ml !== undefined,
    hasBuilder: typeof (globalThis as { MLGraphBuilder?: unknown }).MLGraphBuilder === 'function',
    browserError,
    backends: hal.backends.map((b) => b.name),
    webnnError: hal.webnnError,
    cases: [],
  };
  const nn = hal.backends[0];
  if (nn?.name !== 'webnn') return result;
  type AnyOp = (i: OpInputs<OpName>, p: OpParams<OpName>) => Tensor;
  for (const c of conformanceCases(20260, false)) {
    if (!MAPPED_OPS.has(c.op) || c.views) continue;
    const inputs = c.inputs.map((t) => nn.upload(t)) as OpInputs<OpName>;
    if (!nn.supports(c.op, inputs, c.params)) continue;
    const got = await nn.read((nn.ops[c.op] as AnyOp)(inputs, c.params));
    const want = (CPU_OPS[c.op] as AnyOp)(c.inputs as OpInputs<OpName>, c.params);
    if (got.storage.backend !== 'cpu' || want.storage.backend !== 'cpu') throw new Error('cpu');
    const r = compare(got.storage.data, want.storage.data, c.tolerance);
    result.cases.push({ op: c.op, label: c.label, mismatch: r.mismatch });
  }
  return result;
}

(globalThis as { webnnProbe?: typeof probe }).webnnProbe = probe;

/**
 * CPU matmul benchmark (`npm run bench:cpu`): the matmul op of the CPU backend at transformer
 * shapes, in GFLOP/s — as it runs by default (WebAssembly SIMD where it compiles) and with the
 * JS kernels alone — beside two peers timed in the same process: the previous op path (views
 * made dense element by element, then the single-row i-p-j loop; kept here only as a yardstick)
 * and onnxruntime-web's WASM backend on one thread (ort-peer.ts). All three are single-threaded.
 * `transB` rows are Linear layers (weights stored [out, in]), the common case in the models.
 */
import { matmulCpuReference } from '../matmul/cpu';
import { allowWasmMatmul, matmulOpCpu } from '../matmul/op-cpu';
import { cpuTensor, cpuToDense, type Tensor, transpose } from '../tensor/tensor';
import { rng, uniform } from '../testing/random';
import { ortMatmul } from './ort-peer';

const budgetMs = process.argv.includes('--quick') ? 150 : 600;

/** Median wall time of one call, after two warm-up calls, over calls filling `budgetMs`. */
async function medianMs(run: () => unknown): Promise<number> {
  await run();
  await run();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 5 || performance.now() - start < budgetMs) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  times.sort((x, y) => x - y);
  return times[times.length >> 1] as number;
}

/** The op as it was before the blocked kernels: dense copies of the views, one row at a time. */
function previousOp(a: Tensor, b: Tensor, m: number, k: number, n: number, transB: boolean) {
  const ad = cpuToDense(a) as Float32Array;
  const bd = cpuToDense(transB ? transpose(b) : b) as Float32Array;
  return matmulCpuReference(ad, bd, m, k, n);
}

const shapes: [number, number, number, boolean][] = [
  [128, 768, 768, true],
  [128, 768, 3072, true],
  [128, 3072, 768, true],
  [128, 768, 768, false],
  [1, 768, 768, true],
  [17, 64, 64, false],
  [17, 64, 17, true],
];

const r = rng(7);
console.log(
  `${'CPU matmul (GFLOP/s, 1 thread)'.padEnd(34)} ${'ours'.padStart(8)} ${'ours JS'.padStart(8)} ${'previous'.padStart(9)} ${'ORT wasm'.padStart(9)}  ours/ORT`,
);
for (const [m, k, n, transB] of shapes) {
  const a = uniform(r, m * k);
  const b = uniform(r, k * n);
  const at = cpuTensor(a, [m, k]);
  const bt = cpuTensor(b, transB ? [n, k] : [k, n]);
  const flop = 2 * m * k * n;
  const gflops = (ms: number) => flop / ms / 1e6;
  const ours = gflops(await medianMs(() => matmulOpCpu([at, bt], { transB })));
  allowWasmMatmul(false);
  const oursJs = gflops(await medianMs(() => matmulOpCpu([at, bt], { transB })));
  allowWasmMatmul(true);
  const previous = gflops(await medianMs(() => previousOp(at, bt, m, k, n, transB)));
  const ort = await ortMatmul(m, k, n, transB);
  const peer = ort ? gflops(await medianMs(() => ort.run(a, b))) : Number.NaN;
  const label = `${m}×${k}×${n}${transB ? ' transB' : ''}`;
  console.log(
    `${label.padEnd(34)} ${ours.toFixed(2).padStart(8)} ${oursJs.toFixed(2).padStart(8)} ${previous.toFixed(2).padStart(9)} ${peer.toFixed(2).padStart(9)}  ${(ours / peer).toFixed(2)}×`,
  );
}

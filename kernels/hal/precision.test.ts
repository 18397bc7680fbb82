/**
 * f16 through the HAL on this machine's adapter. With `shader-f16` (the H100 under Dawn's f16
 * toggle) the HAL stores weights as f16 and the GPU runs f16 matmuls; without it (SwiftShader
 * here) the HAL stays at f32, and f16 tensors still work: every op on them falls back to the
 * CPU, which widens them. Which of the two ran is printed.
 */
import { describe, expect, it } from 'vitest';
import { CPU_OPS } from '../cpu/backend';
import { f32ToF16Array } from '../tensor/f16';
import { cpuTensor } from '../tensor/tensor';
import { compare } from '../testing/compare';
import { nodeGpu } from '../testing/node-gpu';
import { rng, uniform } from '../testing/random';
import { createHal } from './hal';

const found = await nodeGpu();
const hasF16 = found.adapter?.features.has('shader-f16') ?? false;
const r = rng(11);

describe.runIf(found.gpu !== null)('f16 through the HAL on this adapter', () => {
  it('picks the weight precision from the capabilities (and f32 when asked)', async () => {
    const hal = await createHal({ gpu: found.gpu });
    expect(hal.precision).toBe(hasF16 ? 'f16' : 'f32');
    if (!hasF16) console.warn('f16: did not run on the GPU here: the adapter lacks shader-f16');
    const forced = await createHal({ gpu: found.gpu, precision: 'f32' });
    expect(forced.precision).toBe('f32');
    const w = forced.uploadWeight(cpuTensor(uniform(r, 12), [3, 4]));
    expect(w.dtype).toBe('f32');
  });

  it('runs a Linear with f16 weights: on the GPU with shader-f16, else on the CPU', async () => {
    const hal = await createHal({ gpu: found.gpu });
    const x = cpuTensor(uniform(r, 64 * 96), [64, 96]);
    const wBits = f32ToF16Array(uniform(r, 80 * 96));
    const w = cpuTensor(wBits, [80, 96]);
    const y = await hal.run('matmul', [hal.upload(x), hal.upload(w)], { transB: true });
    expect(y.dtype).toBe('f32');
    expect(hal.placements.get(hasF16 ? 'matmul@webgpu' : 'matmul@cpu')).toBe(1);
    const want = CPU_OPS.matmul([x, w], { transB: true });
    if (want.storage.backend !== 'cpu') throw new Error('cpu');
    // The tensor-core program rounds x to f16: the mixed budget of f16-cases.ts (k = 96).
    const result = compare(await hal.read(y), want.storage.data, {
      abs: 2e-6 + 1e-7 * 96 + (2 ** -11 * 96) / 3,
      rel: 1e-3,
    });
    expect(result.mismatch).toBeNull();
  });

  it.skipIf(!hasF16)('stores weights as f16 with uploadWeight (needs shader-f16)', async () => {
    const hal = await createHal({ gpu: found.gpu });
    const w = hal.uploadWeight(cpuTensor(uniform(r, 12), [3, 4]));
    expect(w.dtype).toBe('f16');
    expect(w.storage.backend).toBe('webgpu');
  });
});

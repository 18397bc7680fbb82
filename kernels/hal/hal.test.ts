import { describe, expect, it } from 'vitest';
import type { Backend } from '../backend/ops';
import { createCpuBackend } from '../cpu/backend';
import { matmulOpCpu } from '../matmul/op-cpu';
import { softmaxCpu } from '../softmax/cpu';
import { cpuTensor, cpuToDense } from '../tensor/tensor';
import { nodeGpu } from '../testing/node-gpu';
import { rng, uniform } from '../testing/random';
import { createHal, halFromBackends } from './hal';

const gpu = await nodeGpu();
const r = rng(7);

describe('HAL on the CPU alone', () => {
  it('runs ops and reads results back', async () => {
    const hal = await createHal();
    expect(hal.backends.map((b) => b.name)).toEqual(['cpu']);
    const x = hal.upload(cpuTensor(Float32Array.from([0, Math.log(3)]), [1, 2]));
    const y = await hal.run('softmax', [x], {});
    expect([...(await hal.read(y))].map((v) => v.toFixed(6))).toEqual(['0.250000', '0.750000']);
  });

  it('falls back per op to the CPU when the preferred backend lacks it or refuses the inputs', async () => {
    const cpu = createCpuBackend();
    // A backend that stores tensors on the "cpu" but claims only softmax, and refuses big rows.
    const partial: Backend = {
      ...cpu,
      ops: { softmax: cpu.ops.softmax },
      supports: (_op, inputs) => (inputs[0]?.shape.at(-1) ?? 0) <= 4,
    };
    const hal = halFromBackends([partial, cpu]);
    const a = cpuTensor(uniform(r, 6), [2, 3]);
    const b = cpuTensor(uniform(r, 12), [3, 4]);
    await hal.run('matmul', [a, b], {});
    await hal.run('softmax', [a], {});
    await hal.run('softmax', [b], {});
    await hal.run('softmax', [cpuTensor(uniform(r, 10), [2, 5])], {});
    expect(Object.fromEntries(hal.placements)).toEqual({ 'matmul@cpu': 1, 'softmax@cpu': 3 });
  });

  it('throws UNSUPPORTED_OP when no backend takes the op', async () => {
    const cpu = createCpuBackend();
    const hal = halFromBackends([{ ...cpu, supports: () => false }]);
    await expect(
      hal.run('softmax', [cpuTensor(new Float32Array(2), [2])], {}),
    ).rejects.toMatchObject({ code: 'UNSUPPORTED_OP' });
  });
});

describe.runIf(gpu.gpu !== null)('HAL with WebGPU', () => {
  it('keeps results on the GPU between ops and reads back only on request', async () => {
    const hal = await createHal({ gpu: gpu.gpu });
    const ctx = hal.gpu?.context;
    if (!ctx) throw new Error('expected a WebGPU backend');
    const a = cpuTensor(uniform(r, 64 * 32), [64, 32]);
    const b = cpuTensor(uniform(r, 32 * 48), [32, 48]);
    const h = await hal.run('matmul', [hal.upload(a), hal.upload(b)], { activation: 'gelu' });
    const y = await hal.run('softmax', [h], {});
    expect(h.storage.backend).toBe('webgpu');
    expect(y.storage.backend).toBe('webgpu');
    // Both dispatches are still encoded, unsubmitted: nothing has come back to the CPU.
    expect(ctx.encoder).not.toBeNull();
    expect(ctx.dispatches).toBe(2);
    const got = await hal.read(y);
    expect(ctx.encoder).toBeNull();
    const want = cpuToDense(softmaxCpu([matmulOpCpu([a, b], { activation: 'gelu' })]));
    got.forEach((v, i) => {
      expect(Math.abs(v - (want[i] as number))).toBeLessThan(1e-5);
    });
    expect(Object.fromEntries(hal.placements)).toEqual({ 'matmul@webgpu': 1, 'softmax@webgpu': 1 });
    ctx.device.destroy();
  });

  it('reuses released buffers without clobbering work still waiting in the encoder', async () => {
    const hal = await createHal({ gpu: gpu.gpu });
    const a = cpuTensor(uniform(r, 256), [4, 64]);
    const x = hal.upload(a);
    const y = await hal.run('softmax', [x], {});
    hal.dispose(x); // x's buffer goes back to the pool while softmax is still unsubmitted
    const z = hal.upload(cpuTensor(new Float32Array(256).fill(7), [4, 64]));
    const w = await hal.run('unary', [z], { fn: 'neg' });
    const got = await hal.read(y);
    const want = cpuToDense(softmaxCpu([a]));
    got.forEach((v, i) => {
      expect(Math.abs(v - (want[i] as number))).toBeLessThan(1e-6);
    });
    expect([...(await hal.read(w))].every((v) => v === -7)).toBe(true);
    hal.gpu?.context.device.destroy();
  });

  it('moves tensors to the CPU for an op the GPU refuses (head dim over the limit)', async () => {
    const hal = await createHal({ gpu: gpu.gpu });
    const q = hal.upload(cpuTensor(uniform(r, 2 * 300), [1, 1, 2, 300]));
    const out = await hal.run('attention', [q, q, q], { causal: true });
    expect(out.storage.backend).toBe('cpu');
    expect(Object.fromEntries(hal.placements)).toEqual({ 'attention@cpu': 1 });
    hal.gpu?.context.device.destroy();
  });

  it('surfaces a lost device as GPU_DEVICE_LOST on the next op and read', async () => {
    const hal = await createHal({ gpu: gpu.gpu });
    const ctx = hal.gpu?.context;
    if (!ctx) throw new Error('expected a WebGPU backend');
    const x = hal.upload(cpuTensor(uniform(r, 8), [2, 4]));
    const y = await hal.run('softmax', [x], {});
    ctx.device.destroy();
    await ctx.device.lost;
    await expect(hal.read(y)).rejects.toMatchObject({ code: 'GPU_DEVICE_LOST' });
    // The GPU no longer claims ops, so new work lands on the CPU instead of failing.
    const z = await hal.run('softmax', [cpuTensor(uniform(r, 8), [2, 4])], {});
    expect(z.storage.backend).toBe('cpu');
    await expect(hal.run('softmax', [y], {})).rejects.toMatchObject({ code: 'GPU_DEVICE_LOST' });
  });
});

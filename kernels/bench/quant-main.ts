/** `node kernels/bench/run.mjs --quant [--full]`: the quantized-kernel benchmark alone. */
import { nodeGpu } from '../testing/node-gpu';
import { createWebGpuBackend } from '../webgpu/backend';
import { createGpuContext } from '../webgpu/context';
import { benchQuant } from './quant-bench';

const full = process.argv.includes('--full');
const found = await nodeGpu();
if (!found.adapter) throw new Error(`No WebGPU adapter: ${found.reason}`);
const ctx = await createGpuContext(found.adapter);
const c = ctx.caps;
console.log(`adapter: ${c.vendor} ${c.architecture} ${c.description}`);
await benchQuant(
  ctx,
  createWebGpuBackend(ctx),
  full,
  full ? 400 : 200,
  (label, value, unit, ms, encodeMs = 0) =>
    console.log(
      `${label.padEnd(44)} ${value.toFixed(1).padStart(10)} ${unit}  ${ms.toFixed(4).padStart(9)} ms (encode ${encodeMs.toFixed(4)})`,
    ),
);
ctx.device.destroy();

/** Timing helpers for the kernel benchmark: wall clock around submitted GPU work. */
import { flush, type GpuContext } from '../webgpu/context';

export interface Timing {
  iterations: number;
  msPerIteration: number;
  /** CPU time spent encoding, per iteration: when it nears msPerIteration, the CPU is the limit. */
  encodeMsPerIteration: number;
}

/**
 * Runs `encode` (which encodes one iteration) until `budgetMs` has passed, after `warmup`
 * untimed iterations; each batch is submitted and waited for, so the time is GPU-bound work.
 */
export async function timeGpu(
  ctx: GpuContext,
  encode: () => void,
  budgetMs: number,
  warmup = 2,
): Promise<Timing> {
  for (let i = 0; i < warmup; i++) encode();
  flush(ctx);
  await ctx.device.queue.onSubmittedWorkDone();
  let iterations = 0;
  let batch = 1;
  const start = performance.now();
  let elapsed = 0;
  let encodeMs = 0;
  while (elapsed < budgetMs && iterations < 10_000) {
    const encodeStart = performance.now();
    for (let i = 0; i < batch; i++) encode();
    encodeMs += performance.now() - encodeStart;
    flush(ctx);
    await ctx.device.queue.onSubmittedWorkDone();
    iterations += batch;
    elapsed = performance.now() - start;
    batch = Math.min(batch * 2, 64);
  }
  return {
    iterations,
    msPerIteration: elapsed / iterations,
    encodeMsPerIteration: encodeMs / iterations,
  };
}

export const gflops = (flop: number, ms: number): number => flop / ms / 1e6;
export const gbps = (bytes: number, ms: number): number => bytes / ms / 1e6;

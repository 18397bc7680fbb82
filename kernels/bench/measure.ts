/** Timing helpers for the kernel benchmark: wall clock around submitted GPU work. */
import { flush, type GpuContext } from '../webgpu/context';

export interface Timing {
  iterations: number;
  /** Median over the timed batches of (batch wall time / batch size). */
  msPerIteration: number;
  /** CPU time spent encoding, per iteration: when it nears msPerIteration, the CPU is the limit. */
  encodeMsPerIteration: number;
}

/**
 * Times any GPU API the same way: `run` encodes (or enqueues) one iteration, `sync` submits
 * what is pending and resolves once the GPU has finished it. After `warmup` untimed
 * iterations, the batch size doubles until a batch takes ≥ 1/8 of the budget (or 64
 * iterations); then batches of that size run until the budget is spent (at least 5), and the
 * median per-iteration time is returned, so one slow batch (a clock change, a compile) does
 * not skew it.
 */
export async function timeBatches(
  run: () => void,
  sync: () => Promise<void>,
  budgetMs: number,
  warmup = 2,
): Promise<Timing> {
  for (let i = 0; i < warmup; i++) run();
  await sync();
  let batch = 1;
  let iterations = 0;
  let encodeMs = 0;
  const samples: number[] = [];
  const start = performance.now();
  const once = async (n: number) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) run();
    encodeMs += performance.now() - t0;
    await sync();
    iterations += n;
    return performance.now() - t0;
  };
  for (;;) {
    const ms = await once(batch);
    if (ms >= budgetMs / 8 || batch >= 64) {
      samples.push(ms / batch);
      break;
    }
    batch *= 2;
  }
  while (samples.length < 5 || (performance.now() - start < budgetMs && samples.length < 100)) {
    samples.push((await once(batch)) / batch);
  }
  samples.sort((a, b) => a - b);
  return {
    iterations,
    msPerIteration: samples[samples.length >> 1] as number,
    encodeMsPerIteration: encodeMs / iterations,
  };
}

/**
 * `timeBatches` for our own programs: `encode` adds one iteration to the open encoder, which is
 * submitted at once, so the GPU runs iteration i while the CPU encodes i + 1 (as TF.js, which
 * submits every few dispatches, does); the encode column shows when the CPU is the limit.
 */
export function timeGpu(
  ctx: GpuContext,
  encode: () => void,
  budgetMs: number,
  warmup = 2,
): Promise<Timing> {
  return timeBatches(
    () => {
      encode();
      flush(ctx);
    },
    async () => {
      flush(ctx);
      await ctx.device.queue.onSubmittedWorkDone();
    },
    budgetMs,
    warmup,
  );
}

export const gflops = (flop: number, ms: number): number => flop / ms / 1e6;
export const gbps = (bytes: number, ms: number): number => bytes / ms / 1e6;

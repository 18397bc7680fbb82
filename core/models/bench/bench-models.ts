/**
 * Model benchmark: a BERT-base-shaped encoder's latency (seq 128, batch 1) and a GPT-2-small-
 * shaped decoder's prefill and decode tokens/s (128-token prompt, greedy, KV cache), on our
 * kernels through WebGPU (Dawn), with random weights in the Hugging Face layout. `--full` runs
 * those shapes (the H100 run); without it, small shapes that suit SwiftShader. With
 * TABPOOL_BENCH_BASELINE naming a JSON file from torch-models.py, it prints ratios to PyTorch.
 * Prints one JSON line prefixed `RESULT ` for the runner.
 */
import { readFileSync } from 'node:fs';
import { createHal } from '../../../kernels/hal/hal';
import { cpuTensor, cpuToDense, type Tensor } from '../../../kernels/tensor/tensor';
import { nodeGpu } from '../../../kernels/testing/node-gpu';
import { generate, loadModel, type Model } from '../index';
import { modelFilesFromMap } from '../model-files';
import { modelFilesFromDir } from '../model-files-node';
import { randomModelFiles } from '../testing/random-models';

const full = process.argv.includes('--full');
const enc = full
  ? {
      hidden: 768,
      layers: 12,
      heads: 12,
      intermediate: 3072,
      vocab: 30522,
      maxPositions: 512,
      seq: 128,
    }
  : { hidden: 128, layers: 2, heads: 4, intermediate: 512, vocab: 1000, maxPositions: 64, seq: 32 };
const dec = full
  ? {
      hidden: 768,
      layers: 12,
      heads: 12,
      intermediate: 3072,
      vocab: 50257,
      maxPositions: 1024,
      prompt: 128,
      decode: 64,
    }
  : {
      hidden: 128,
      layers: 2,
      heads: 4,
      intermediate: 512,
      vocab: 1000,
      maxPositions: 128,
      prompt: 32,
      decode: 16,
    };
const runs = full ? 20 : 5;
const baseline: Record<string, number> = process.env.TABPOOL_BENCH_BASELINE
  ? JSON.parse(readFileSync(process.env.TABPOOL_BENCH_BASELINE, 'utf8'))
  : {};
const result: Record<string, number> = {};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const ids = (n: number, vocab: number) =>
  cpuTensor(
    Int32Array.from({ length: n }, (_, i) => (i * 7919) % vocab),
    [1, n],
  );

function row(label: string, value: number, unit: string, lowerIsBetter: boolean): void {
  result[label] = value;
  const base = baseline[label];
  const ratio =
    base === undefined
      ? ''
      : lowerIsBetter
        ? `   PyTorch ${base.toFixed(2)} ${unit} → ours/PyTorch ${(value / base).toFixed(2)}×`
        : `   PyTorch ${base.toFixed(1)} ${unit} → ours/PyTorch ${(value / base).toFixed(2)}×`;
  console.log(`${label.padEnd(40)} ${value.toFixed(2).padStart(10)} ${unit}${ratio}`);
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  return [await fn(), performance.now() - t0];
}

async function forwardOnce(model: Model, input: Tensor, name: string): Promise<void> {
  const out = await model.forward({ input_ids: input });
  await model.hal.read(out.get(name) as Tensor);
  model.free(out);
}

const found = await nodeGpu();
if (!found.gpu) throw new Error(`No WebGPU: ${found.reason}`);
const hal = await createHal({ gpu: found.gpu });
const caps = hal.capabilities;
console.log(`adapter: ${caps?.vendor} ${caps?.architecture} ${caps?.description ?? ''}`.trim());
console.log(`shapes: ${full ? 'full (BERT-base, GPT-2 small)' : 'small (SwiftShader)'}\n`);

// `--encoder-dir DIR`: the checkpoint PyTorch and ONNX Runtime Web ran (same weights).
const dirAt = process.argv.indexOf('--encoder-dir');
const encFiles =
  dirAt > 0
    ? modelFilesFromDir(process.argv[dirAt + 1] as string)
    : modelFilesFromMap('bench/bert', randomModelFiles('bert', enc, 1, 0.05));
const [bert, loadMs] = await timed(() => loadModel(encFiles, hal));
const input = ids(enc.seq, enc.vocab);
const [, firstMs] = await timed(() => forwardOnce(bert, input, 'last_hidden_state'));
const times: number[] = [];
for (let i = 0; i < runs; i++) {
  times.push((await timed(() => forwardOnce(bert, input, 'last_hidden_state')))[1]);
}
row(`encoder seq ${enc.seq} latency`, median(times), 'ms', true);
const ortText = process.env.TABPOOL_BENCH_ORT
  ? readFileSync(process.env.TABPOOL_BENCH_ORT, 'utf8').trim()
  : '';
if (!ortText && process.env.TABPOOL_BENCH_ORT)
  console.log('  ONNX Runtime Web: no result (see its log)');
if (ortText) {
  // ort-bench.mjs's result on the same checkpoint, same Dawn, same machine.
  const ort = JSON.parse(ortText) as {
    first: number;
    median: number;
  };
  console.log(
    `  ONNX Runtime Web (WebGPU EP) ${ort.median.toFixed(2)} ms → ours/ORT ${(median(times) / ort.median).toFixed(2)}×; ORT first run ${ort.first.toFixed(0)} ms`,
  );
  result['ort encoder latency'] = ort.median;
  result['ort first run'] = ort.first;
}
row('encoder cold: load + first forward', loadMs + firstMs, 'ms', true);
row('encoder first forward (weights on GPU)', firstMs, 'ms', true);
const gpuBackend = hal.gpu;
if (gpuBackend) {
  // Where a forward's time goes: encoding (JS + Dawn calls, GPU work only recorded) vs the
  // submit-and-wait of the read.
  const split: [number, number][] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const out = await bert.forward({ input_ids: input });
    const t1 = performance.now();
    await hal.read(out.get('last_hidden_state') as Tensor);
    split.push([t1 - t0, performance.now() - t1]);
    bert.free(out);
  }
  console.log(
    `  encode ${median(split.map((x) => x[0])).toFixed(2)} ms, submit + GPU + read ${median(split.map((x) => x[1])).toFixed(2)} ms (medians)`,
  );
  const before = gpuBackend.context.dispatches;
  await forwardOnce(bert, input, 'last_hidden_state');
  console.log(`  dispatches per forward: ${gpuBackend.context.dispatches - before}`);
  const choices = new Map<string, number>();
  for (const s of gpuBackend.matmulChoices.values()) {
    const k = JSON.stringify(s);
    choices.set(k, (choices.get(k) ?? 0) + 1);
  }
  for (const [k, n] of choices) console.log(`  matmul strategy ×${n}: ${k}`);
}
bert.dispose();

const gpt2 = await loadModel(
  modelFilesFromMap('bench/gpt2', randomModelFiles('gpt2', dec, 2, 0.05)),
  hal,
);
const prompt = [...cpuToDense(ids(dec.prompt, dec.vocab))];
await forwardOnce(gpt2, ids(dec.prompt, dec.vocab), 'logits');
const prefill: number[] = [];
const decode: number[] = [];
for (let r = 0; r < (full ? 3 : 2); r++) {
  const stamps: number[] = [];
  const t0 = performance.now();
  for await (const _ of generate(gpt2, prompt, { maxNewTokens: dec.decode + 1 })) {
    stamps.push(performance.now());
  }
  prefill.push((stamps[0] as number) - t0);
  decode.push((dec.decode * 1000) / ((stamps.at(-1) as number) - (stamps[0] as number)));
}
row(`decoder prefill ${dec.prompt} tokens`, median(prefill), 'ms', true);
row('decoder decode tokens/s', median(decode), 'tok/s', false);
gpt2.dispose();
console.log(`RESULT ${JSON.stringify(result)}`);

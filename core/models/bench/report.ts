/** The model benchmark's table: ours beside PyTorch and ORT Web, the ratios and the targets. */
import type { OrtResult } from './ort-web';

/** Medians of a forward split in phases (see bench-compare.ts `phases`). */
export interface Phases {
  encodeMs: number;
  submitMs: number;
  gpuWaitMs: number;
  readMs: number;
  totalMs: number;
}

/** Dawn calls during a cold phase: pipeline compiles and weight uploads. */
export interface DawnSpent {
  compileMs: number;
  pipelines: number;
  writeMs: number;
  writeMiB: number;
}

export interface EncoderResult {
  phases?: Phases;
  coldLoad?: DawnSpent;
  coldFirst?: DawnSpent;
  deviceMs: number;
  loadMs: number;
  firstForwardMs: number;
  coldMs: number;
  medianMs: number;
  minMs: number;
  /** Time until `forward` resolves (encoding; dispatches are submitted at the read). */
  encodeMs: number;
  runs: number;
  dispatchesPerForward: number;
  paramBytes: number;
  matmulChoices: Record<string, unknown>;
}

export interface DecoderResult {
  stepPhases?: Phases;
  coldLoad?: DawnSpent;
  coldFirst?: DawnSpent;
  deviceMs: number;
  loadMs: number;
  coldPrefillMs: number;
  coldMs: number;
  prefillMs: number;
  decodeTokS: number;
  msPerToken: number;
  prefillDispatches: number;
  dispatchesPerToken: number;
  tokens: number[];
  runs: number;
  matmulChoices: Record<string, unknown>;
}

/** What torch-compare.py writes. */
export interface TorchResult {
  device?: string;
  torch?: string;
  transformers?: string;
  bert?: {
    medianMs: number;
    minMs: number;
    runs: number;
    coldMs: number;
    firstForwardMs: number;
    maxAbsDiffVsOurs?: number;
    maxAbs?: number;
  };
  gpt2?: {
    prefillMs: number;
    decodeTokS: number;
    msPerToken: number;
    coldMs: number;
    tokens: number[];
    matchingTokens?: number;
  };
  onnx?: { path?: string; exporter?: string; seconds?: number; error?: string };
  errors?: string[];
}

export interface Report {
  full: boolean;
  shapes: {
    bert: { hidden: number; layers: number; heads: number; intermediate: number; vocab: number };
    seq: number;
    gpt2: { hidden: number; layers: number; heads: number; vocab: number };
    prompt: number;
    newTokens: number;
    runs: number;
  };
  adapter: string;
  /** NVIDIA's shader disk cache (`__GL_SHADER_DISK_CACHE=0` makes every cold run compile). */
  shaderCache?: string;
  ours: { bert?: EncoderResult; gpt2?: DecoderResult };
  torch: TorchResult | null;
  ort: Record<string, OrtResult>;
  errors: string[];
}

const ms = (v: number | undefined) => (v === undefined ? '—' : `${v.toFixed(v < 100 ? 2 : 0)} ms`);
const num = (v: number | undefined, unit: string, digits = 1) =>
  v === undefined ? '—' : `${v.toFixed(digits)} ${unit}`;
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || b === 0 ? '—' : `${(a / b).toFixed(2)}×`;
const phaseLine = (p: Phases, readWhat: string) =>
  `encode ${p.encodeMs.toFixed(2)} ms | submit ${p.submitMs.toFixed(2)} ms | GPU wait ${p.gpuWaitMs.toFixed(2)} ms | read ${readWhat} ${p.readMs.toFixed(2)} ms | total ${p.totalMs.toFixed(2)} ms`;
const dawnLine = (d: DawnSpent) =>
  `${d.pipelines} pipelines created, ${d.compileMs.toFixed(0)} ms inside createShaderModule/createComputePipeline`;
const verdict = (ok: boolean | undefined) => (ok === undefined ? '?' : ok ? 'MET' : 'NOT MET');

function table(rows: string[][]): string {
  const widths = (rows[0] as string[]).map((_, c) =>
    Math.max(...rows.map((r) => (r[c] ?? '').length)),
  );
  return rows
    .map((r) =>
      r
        .map((cell, c) =>
          c === 0 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number),
        )
        .join('  '),
    )
    .join('\n');
}

export function printReport(r: Report): string {
  const { ours, torch, ort } = r;
  const b = ours.bert;
  const g = ours.gpt2;
  const tb = torch?.bert;
  const tg = torch?.gpt2;
  const jsep = ort.jsep;
  const native = ort.webgpu;
  const s = r.shapes;
  const lines: string[] = [];
  lines.push('');
  lines.push(`== bench:models (${r.full ? 'full shapes' : 'small shapes'})`);
  lines.push(`WebGPU adapter (ours, ORT Web): ${r.adapter || '—'}`);
  if (r.shaderCache) lines.push(`Driver shader disk cache: ${r.shaderCache}`);
  if (torch)
    lines.push(
      `PyTorch: ${torch.device ?? '?'}, torch ${torch.torch ?? '?'}, transformers ${torch.transformers ?? '?'}, fp32, TF32 off, eager`,
    );
  const ortVersion = jsep?.version ?? native?.version;
  if (ortVersion)
    lines.push(
      `ONNX Runtime Web ${ortVersion} (jsep: ort.mjs JS WebGPU EP; webgpu: ort.webgpu.mjs C++ WebGPU EP), numThreads 1`,
    );
  lines.push('');
  lines.push(
    `Encoder: BERT-base shape (hidden ${s.bert.hidden}, ${s.bert.layers} layers, ${s.bert.heads} heads, intermediate ${s.bert.intermediate}, vocab ${s.bert.vocab}), seq ${s.seq}, batch 1, random weights`,
  );
  lines.push(
    table([
      [
        '',
        'ours',
        'PyTorch',
        'ORT Web jsep',
        'ORT Web webgpu',
        'ours/PyTorch',
        'ours/ORT jsep',
        'target',
      ],
      [
        `latency, median of ${b?.runs ?? s.runs} warm runs (incl. readback)`,
        ms(b?.medianMs),
        ms(tb?.medianMs),
        ms(jsep?.medianMs),
        ms(native?.medianMs),
        ratio(b?.medianMs, tb?.medianMs),
        ratio(b?.medianMs, jsep?.medianMs),
        '≤ 1.20× PyTorch',
      ],
      [
        'latency, best run',
        ms(b?.minMs),
        ms(tb?.minMs),
        ms(jsep?.minMs),
        ms(native?.minMs),
        ratio(b?.minMs, tb?.minMs),
        '',
        '',
      ],
      [
        'cold first run: load from memory + first output',
        ms(b?.coldMs),
        ms(tb?.coldMs),
        ms(jsep?.coldMs),
        ms(native?.coldMs),
        ratio(b?.coldMs, tb?.coldMs),
        ratio(b?.coldMs, jsep?.coldMs),
        '≤ 1000 ms',
      ],
      [
        '  of which loadModel / session create',
        ms(b?.loadMs),
        '',
        ms(jsep?.createMs),
        ms(native?.createMs),
        '',
        '',
        '',
      ],
      [
        '  of which first forward',
        ms(b?.firstForwardMs),
        ms(tb?.firstForwardMs),
        ms(jsep?.firstRunMs),
        ms(native?.firstRunMs),
        '',
        '',
        '',
      ],
    ]),
  );
  lines.push(
    `  PyTorch cold = weights on the CPU → .to(cuda) + first forward (CUDA context already up); ours = loadModel (uploads, dummy forward, pipelines) + first forward at seq ${s.seq}; ORT = InferenceSession.create + first run.`,
  );
  if (b) {
    lines.push(
      `  ours: ${b.dispatchesPerForward} dispatches per forward; forward() returns after ${b.encodeMs.toFixed(2)} ms of encoding (median), the rest is submit + GPU + readback; device creation ${b.deviceMs.toFixed(0)} ms (not counted); params ${(b.paramBytes / 2 ** 20).toFixed(0)} MiB`,
    );
  }
  if (b?.phases)
    lines.push(
      `  ours, one warm forward split (median of 5): ${phaseLine(b.phases, 'last_hidden_state')}`,
    );
  if (b?.coldLoad) lines.push(`  ours cold, inside loadModel: ${dawnLine(b.coldLoad)}`);
  if (b?.coldFirst) lines.push(`  ours cold, inside the first forward: ${dawnLine(b.coldFirst)}`);
  const diffs = [
    tb?.maxAbsDiffVsOurs !== undefined
      ? `PyTorch vs ours ${tb.maxAbsDiffVsOurs.toExponential(2)}`
      : '',
    jsep?.maxAbsDiffVsOurs !== undefined
      ? `ORT jsep vs ours ${jsep.maxAbsDiffVsOurs.toExponential(2)}`
      : '',
    native?.maxAbsDiffVsOurs !== undefined
      ? `ORT webgpu vs ours ${native.maxAbsDiffVsOurs.toExponential(2)}`
      : '',
  ].filter(Boolean);
  if (diffs.length)
    lines.push(
      `  last_hidden_state max |diff| (same weights): ${diffs.join('; ')}${tb?.maxAbs ? ` (max |value| ${tb.maxAbs.toFixed(2)})` : ''}`,
    );
  if (jsep?.firstMapMs !== undefined || native?.firstMapMs !== undefined) {
    lines.push(
      `  ORT first run's first readback waited: jsep ${ms(jsep?.firstMapMs)}, webgpu ${ms(native?.firstMapMs)}`,
    );
  }
  lines.push('');
  lines.push(
    `Decoder: GPT-2 small shape (hidden ${s.gpt2.hidden}, ${s.gpt2.layers} layers, ${s.gpt2.heads} heads, vocab ${s.gpt2.vocab}), batch 1, ${s.prompt}-token prompt, ${s.newTokens} new tokens greedy, KV cache`,
  );
  lines.push(
    table([
      ['', 'ours', 'PyTorch', 'ours/PyTorch', 'target'],
      [
        'prefill (prompt → first token)',
        ms(g?.prefillMs),
        ms(tg?.prefillMs),
        ratio(g?.prefillMs, tg?.prefillMs),
        '',
      ],
      [
        'decode tokens/s',
        num(g?.decodeTokS, 'tok/s'),
        num(tg?.decodeTokS, 'tok/s'),
        ratio(g?.decodeTokS, tg?.decodeTokS),
        '≥ 1.00× PyTorch',
      ],
      [
        'ms per decoded token',
        ms(g?.msPerToken),
        ms(tg?.msPerToken),
        ratio(g?.msPerToken, tg?.msPerToken),
        '',
      ],
      [
        'cold: load from memory + first token',
        ms(g?.coldMs),
        ms(tg?.coldMs),
        ratio(g?.coldMs, tg?.coldMs),
        '≤ 1000 ms',
      ],
    ]),
  );
  if (g) {
    lines.push(
      `  ours: prefill ${g.prefillDispatches} dispatches, ${g.dispatchesPerToken.toFixed(0)} per decoded token; loadModel ${g.loadMs.toFixed(0)} ms + cold prefill ${g.coldPrefillMs.toFixed(0)} ms`,
    );
  }
  if (g?.stepPhases)
    lines.push(
      `  ours, one decode step split (median of 16): ${phaseLine(g.stepPhases, 'logits')}`,
    );
  if (g?.coldLoad) lines.push(`  ours cold, inside loadModel: ${dawnLine(g.coldLoad)}`);
  if (g?.coldFirst)
    lines.push(`  ours cold, inside the first generation: ${dawnLine(g.coldFirst)}`);
  if (tg?.matchingTokens !== undefined && g) {
    lines.push(
      `  greedy tokens identical to PyTorch's for the first ${tg.matchingTokens} of ${g.tokens.length}`,
    );
  }
  lines.push('');
  lines.push('Targets:');
  lines.push(
    `  encoder latency ≤ 1.2× PyTorch: ${ratio(b?.medianMs, tb?.medianMs)} → ${verdict(b && tb ? b.medianMs <= 1.2 * tb.medianMs : undefined)}`,
  );
  lines.push(
    `  decode tok/s ≥ PyTorch eager: ${ratio(g?.decodeTokS, tg?.decodeTokS)} → ${verdict(g && tg ? g.decodeTokS >= tg.decodeTokS : undefined)}`,
  );
  lines.push(
    `  cold first run ≤ 1 s: encoder ${ms(b?.coldMs)} → ${verdict(b ? b.coldMs <= 1000 : undefined)}; decoder ${ms(g?.coldMs)} → ${verdict(g ? g.coldMs <= 1000 : undefined)}`,
  );
  lines.push('');
  for (const [name, res] of [
    ['encoder', b],
    ['decoder', g],
  ] as const) {
    if (!res) continue;
    const byStrategy = new Map<string, string[]>();
    for (const [shape, strategy] of Object.entries(res.matmulChoices)) {
      const key = JSON.stringify(strategy);
      byStrategy.set(key, [...(byStrategy.get(key) ?? []), shape]);
    }
    lines.push(`Matmul strategies chosen (${name}; shape = batch×m×k×n):`);
    for (const [strategy, shapes] of byStrategy) lines.push(`  ${strategy}: ${shapes.join(', ')}`);
  }
  const errors = [...r.errors, ...(torch?.errors ?? []).map((e) => `PyTorch: ${e}`)];
  if (torch?.onnx?.error) errors.push(`ONNX export: ${torch.onnx.error}`);
  if (torch?.onnx?.exporter)
    lines.push(
      `ONNX export: ${torch.onnx.exporter} exporter, ${torch.onnx.seconds?.toFixed(1) ?? '?'} s`,
    );
  if (errors.length) {
    lines.push('Errors:');
    for (const e of errors) lines.push(`  ${e.split('\n').slice(0, 6).join('\n    ')}`);
  }
  return lines.join('\n');
}

import { useState } from 'preact/hooks';
import type { BenchmarkTask } from '../../core/protocol/host';
import type { BenchResultRow } from '../../storage';
import { UplotChart } from '../charts/uplot-chart';
import { kindLabel } from '../pool/format';
import { caseKey, casesOf, historySeries } from './bench-store';
import type { BenchRun } from './use-bench-runner';

/** The kernel cases a person can pick: small enough for a CPU host on a laptop. */
export const KERNEL_CASES: BenchmarkTask['kernels'] = [
  { op: 'matmul', size: 64 },
  { op: 'matmul', size: 128 },
  { op: 'matmul', size: 256 },
  { op: 'softmax', size: 256 },
  { op: 'softmax', size: 1024 },
];
const BUDGETS_MS = [100, 300, 1000];

export interface BenchPanelProps {
  history: BenchResultRow[];
  run: BenchRun | null;
  /** Ready models in the store, by id. */
  models: string[];
  /** Ready hosts that can run a benchmark now. */
  hosts: number;
  start: (params: BenchmarkTask) => void;
  exportAs: (format: 'csv' | 'json') => void;
  clear: () => void;
}

const caseLabel = (c: BenchmarkTask['kernels'][number]) =>
  c.op === 'matmul' ? `matmul ${c.size}×${c.size}×${c.size}` : `softmax ${c.size}×${c.size}`;
const fmt = (v: number | null, digits = 2) => (v === null ? '—' : v.toFixed(digits));

/**
 * Runs kernel and model benchmarks on every host and backend (through real host tasks), shows the
 * latest run as a table and any case's history as a chart, and exports the history.
 */
export function BenchPanel(props: BenchPanelProps) {
  const { history, run, models, hosts, start, exportAs, clear } = props;
  const [kernels, setKernels] = useState<Set<number>>(new Set([0]));
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const [budgetMs, setBudgetMs] = useState(BUDGETS_MS[0] as number);
  const cases = casesOf(history);
  const [chosen, setChosen] = useState<string | null>(null);
  const newest = history.at(-1);
  // The chosen case, else the case the latest result belongs to.
  const shown =
    chosen !== null && cases.includes(chosen) ? chosen : newest ? caseKey(newest) : null;
  const running = run !== null && !run.finished;
  const latestRunId = history.at(-1)?.runId;
  const latest = history.filter((r) => r.runId === latestRunId);
  const chart = shown === null ? null : historySeries(history, shown);
  const toggle = <T,>(set: Set<T>, value: T) => {
    const next = new Set(set);
    if (!next.delete(value)) next.add(value);
    return next;
  };
  const onSubmit = (e: Event) => {
    e.preventDefault();
    start({
      kernels: KERNEL_CASES.filter((_, i) => kernels.has(i)),
      models: [...picked],
      budgetMs,
    });
  };
  const nothingPicked = kernels.size === 0 && picked.size === 0;

  return (
    <section class="bench" aria-labelledby="bench-title">
      <h2 id="bench-title">Benchmarks</h2>
      <form class="bench__form" onSubmit={onSubmit}>
        <fieldset>
          <legend>Kernels</legend>
          {KERNEL_CASES.map((c, i) => (
            <label key={caseLabel(c)} class="check">
              <input
                type="checkbox"
                name={`kernel-${c.op}-${c.size}`}
                checked={kernels.has(i)}
                onChange={() => setKernels(toggle(kernels, i))}
              />
              {caseLabel(c)}
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>Model forward pass (16 tokens, or one image)</legend>
          {models.length === 0 && <p class="muted">No ready model in the store.</p>}
          {models.map((id) => (
            <label key={id} class="check">
              <input
                type="checkbox"
                name={`model-${id}`}
                checked={picked.has(id)}
                onChange={() => setPicked(toggle(picked, id))}
              />
              {id}
            </label>
          ))}
        </fieldset>
        <label>
          Time per case and backend
          <select
            name="budgetMs"
            value={budgetMs}
            onChange={(e) => setBudgetMs(Number(e.currentTarget.value))}
          >
            {BUDGETS_MS.map((ms) => (
              <option key={ms} value={ms}>
                {ms} ms
              </option>
            ))}
          </select>
        </label>
        <div class="bench__actions">
          <button type="submit" disabled={running || hosts === 0 || nothingPicked}>
            Run on {hosts} host{hosts === 1 ? '' : 's'}
          </button>
          <button type="button" onClick={() => exportAs('csv')} disabled={history.length === 0}>
            Export CSV
          </button>
          <button type="button" onClick={() => exportAs('json')} disabled={history.length === 0}>
            Export JSON
          </button>
          <button
            type="button"
            data-action="clear-history"
            onClick={clear}
            disabled={running || history.length === 0}
          >
            Clear history
          </button>
        </div>
        <p class="bench__status" role="status" data-field="bench-status">
          {run === null
            ? ''
            : running
              ? `Running… ${run.hostsDone} of ${hosts} hosts done`
              : `Done: ${run.hostsDone} host${run.hostsDone === 1 ? '' : 's'}${run.errors.length ? `; ${run.errors.join('; ')}` : ''}`}
        </p>
      </form>

      {latest.length > 0 && (
        <table class="bench__table" data-run={latestRunId}>
          <caption>
            Latest run, {new Date(latest[0]?.at ?? 0).toLocaleString()} (median per iteration)
          </caption>
          <thead>
            <tr>
              <th scope="col">Host</th>
              <th scope="col">Backend</th>
              <th scope="col">Case</th>
              <th scope="col">ms</th>
              <th scope="col">GFLOP/s</th>
            </tr>
          </thead>
          <tbody>
            {latest.map((r) => (
              <tr key={r.id} data-case={caseKey(r)} data-backend={r.backend}>
                <td>{kindLabel(r.hostKind)}</td>
                <td title={r.adapter ?? undefined}>
                  {r.backend === 'webgpu' ? `WebGPU (${r.adapter ?? '?'})` : 'CPU'}
                </td>
                <td>{caseKey(r)}</td>
                <td class="num">{fmt(r.ms, 3)}</td>
                <td class="num">{fmt(r.gflops)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      {shown !== null && chart !== null && (
        <div class="bench__history">
          <label>
            History of
            <select
              name="historyCase"
              value={shown}
              onChange={(e) => setChosen(e.currentTarget.value)}
            >
              {cases.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          </label>
          <UplotChart
            variant="history"
            width={600}
            height={220}
            unit="ms"
            label={`Median ms per run of ${shown}, by backend and host, over time`}
            xMs={chart.xMs}
            series={chart.series}
          />
        </div>
      )}
    </section>
  );
}

/**
 * The benchmark history: rows in the tabpool database (`benchResults`, schema v3), the series the
 * history chart draws, and the CSV/JSON exports.
 */
import type { BenchHostResult } from '../../core/protocol/host';
import type { BenchResultRow, TabpoolDb } from '../../storage';

/** One row per host × backend × case, as the benchmark task answered. */
export function rowsFromHost(runId: string, atMs: number, msg: BenchHostResult): BenchResultRow[] {
  return msg.samples.map((s) => ({
    runId,
    at: atMs,
    suite: s.suite,
    name: s.name,
    shape: s.shape,
    backend: s.backend,
    adapter: s.adapter,
    hostId: msg.host.id,
    hostKind: msg.host.kind,
    ms: s.ms,
    gflops: s.gflops,
    iterations: s.iterations,
  }));
}

export async function saveRows(db: TabpoolDb, rows: BenchResultRow[]): Promise<void> {
  if (rows.length > 0) await db.benchResults.bulkAdd(rows);
}

/** Every stored row, oldest first. */
export function loadHistory(db: TabpoolDb): Promise<BenchResultRow[]> {
  return db.benchResults.orderBy('at').toArray();
}

export async function clearHistory(db: TabpoolDb): Promise<void> {
  await db.benchResults.clear();
}

/** What a chart compares over time: one case (kernel or model at a shape). */
export const caseKey = (r: Pick<BenchResultRow, 'name' | 'shape'>): string =>
  `${r.name} ${r.shape}`;

/** The cases in the history, in the order they first appeared. */
export function casesOf(rows: BenchResultRow[]): string[] {
  return [...new Set(rows.map(caseKey))];
}

/** One line per backend and host kind, e.g. `webgpu · Pool tab`. */
const lineKey = (r: BenchResultRow): string => `${r.backend} · ${r.hostKind}`;

/**
 * The history chart's data for one case: x = each run's start, one series per backend and host
 * kind holding that run's median ms (null where the run had no such line).
 */
export function historySeries(
  rows: BenchResultRow[],
  key: string,
): { xMs: number[]; series: { label: string; values: (number | null)[] }[] } {
  const mine = rows.filter((r) => caseKey(r) === key);
  const xMs = [...new Set(mine.map((r) => r.at))].sort((a, b) => a - b);
  const lines = [...new Set(mine.map(lineKey))].sort();
  const series = lines.map((label) => ({
    label,
    values: xMs.map((at) => {
      const hit = mine.filter((r) => r.at === at && lineKey(r) === label);
      // Two hosts of one kind in one run: their mean, so one point per run and line.
      return hit.length === 0 ? null : hit.reduce((n, r) => n + r.ms, 0) / hit.length;
    }),
  }));
  return { xMs, series };
}

export const CSV_COLUMNS = [
  'run_id',
  'at',
  'host_kind',
  'host_id',
  'backend',
  'adapter',
  'suite',
  'name',
  'shape',
  'ms',
  'gflops',
  'iterations',
] as const;

/** RFC 4180: quote a field holding a comma, quote or line break; double its quotes. */
function csvField(value: string | number | null): string {
  const text = value === null ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The history as CSV, header first, one line per row, `at` as ISO 8601. */
export function toCsv(rows: BenchResultRow[]): string {
  const lines = rows.map((r) =>
    [
      r.runId,
      new Date(r.at).toISOString(),
      r.hostKind,
      r.hostId,
      r.backend,
      r.adapter,
      r.suite,
      r.name,
      r.shape,
      r.ms,
      r.gflops,
      r.iterations,
    ]
      .map(csvField)
      .join(','),
  );
  return `${[CSV_COLUMNS.join(','), ...lines].join('\r\n')}\r\n`;
}

/** The history as JSON: the rows as stored, without the database's own ids. */
export function toJson(rows: BenchResultRow[]): string {
  return `${JSON.stringify(
    rows.map(({ id: _id, ...r }) => ({ ...r, at: new Date(r.at).toISOString() })),
    null,
    2,
  )}\n`;
}

/**
 * Hands `text` to the browser as a file download (a Blob URL on a temporary link).
 *
 * @example
 * downloadText('bench.csv', 'text/csv', toCsv(rows));
 */
export function downloadText(filename: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  // The click has started the download; the URL may go once it has been read.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

import 'fake-indexeddb/auto';
import Dexie from 'dexie';
import { afterEach, describe, expect, it } from 'vitest';
import type { BenchHostResult } from '../../core/protocol/host';
import { type BenchResultRow, createTabpoolDb, type TabpoolDb } from '../../storage';
import {
  CSV_COLUMNS,
  casesOf,
  clearHistory,
  historySeries,
  loadHistory,
  rowsFromHost,
  saveRows,
  toCsv,
  toJson,
} from './bench-store';

const hostResult = (over: Partial<BenchHostResult> = {}): BenchHostResult => ({
  type: 'bench-host',
  id: 'run-1',
  host: { id: 'host-a', kind: 'tab' },
  error: null,
  samples: [
    {
      suite: 'kernel',
      name: 'matmul',
      shape: '64x64x64',
      backend: 'cpu',
      adapter: null,
      ms: 0.5,
      gflops: 1.048576,
      iterations: 40,
    },
    {
      suite: 'kernel',
      name: 'matmul',
      shape: '64x64x64',
      backend: 'webgpu',
      adapter: 'google, "swiftshader"',
      ms: 2,
      gflops: 0.262144,
      iterations: 10,
    },
  ],
  ...over,
});

let dbs: TabpoolDb[] = [];
afterEach(async () => {
  for (const db of dbs) {
    db.close();
    await Dexie.delete(db.name);
  }
  dbs = [];
});

describe('bench store', () => {
  it('turns a host’s samples into rows, stores them and reads them back oldest first', async () => {
    const db = createTabpoolDb(`bench-${Math.random()}`);
    dbs.push(db);
    await saveRows(db, rowsFromHost('run-2', 2_000, hostResult()));
    await saveRows(db, rowsFromHost('run-1', 1_000, hostResult()));
    const rows = await loadHistory(db);
    expect(rows.map((r) => [r.runId, r.backend, r.hostKind, r.hostId])).toEqual([
      ['run-1', 'cpu', 'tab', 'host-a'],
      ['run-1', 'webgpu', 'tab', 'host-a'],
      ['run-2', 'cpu', 'tab', 'host-a'],
      ['run-2', 'webgpu', 'tab', 'host-a'],
    ]);
    await clearHistory(db);
    expect(await loadHistory(db)).toEqual([]);
  });

  it('charts one case over runs: one line per backend and host kind, gaps where a run had none', () => {
    const rows: BenchResultRow[] = [
      ...rowsFromHost('r1', 1_000, hostResult()),
      ...rowsFromHost('r1', 1_000, hostResult({ host: { id: 'host-b', kind: 'tab' } })).map(
        (r) => ({ ...r, ms: r.ms + 1 }),
      ),
      ...rowsFromHost('r2', 2_000, hostResult()).filter((r) => r.backend === 'cpu'),
      ...rowsFromHost('r3', 3_000, hostResult()).map((r) => ({ ...r, shape: '128x128x128' })),
    ];
    expect(casesOf(rows)).toEqual(['matmul 64x64x64', 'matmul 128x128x128']);
    expect(historySeries(rows, 'matmul 64x64x64')).toEqual({
      xMs: [1_000, 2_000],
      series: [
        // two tab hosts in run 1: their mean
        { label: 'cpu · tab', values: [1, 0.5] },
        { label: 'webgpu · tab', values: [2.5, null] },
      ],
    });
  });

  it('exports CSV with a header and one quoted-where-needed line per row', () => {
    const csv = toCsv(rowsFromHost('r1', Date.UTC(2026, 0, 2, 3, 4, 5), hostResult()));
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toBe(CSV_COLUMNS.join(','));
    expect(lines[0]).toBe(
      'run_id,at,host_kind,host_id,backend,adapter,suite,name,shape,ms,gflops,iterations',
    );
    expect(lines.slice(1)).toEqual([
      'r1,2026-01-02T03:04:05.000Z,tab,host-a,cpu,,kernel,matmul,64x64x64,0.5,1.048576,40',
      'r1,2026-01-02T03:04:05.000Z,tab,host-a,webgpu,"google, ""swiftshader""",kernel,matmul,64x64x64,2,0.262144,10',
    ]);
  });

  it('exports JSON rows without database ids, times as ISO 8601', () => {
    const rows = rowsFromHost('r1', 0, hostResult()).map((r, i) => ({ ...r, id: i + 1 }));
    const parsed = JSON.parse(toJson(rows));
    expect(parsed).toHaveLength(2);
    expect(parsed[0]).not.toHaveProperty('id');
    expect(parsed[0]).toMatchObject({ runId: 'r1', at: '1970-01-01T00:00:00.000Z', ms: 0.5 });
  });
});

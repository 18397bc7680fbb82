import { useEffect, useRef, useState } from 'preact/hooks';
import type { BenchmarkTask, PopupCommand, PopupMessage } from '../../core/protocol/host';
import type { BenchResultRow, TabpoolDb } from '../../storage';
import type { PopupListener } from '../pool/use-pool-status';
import { loadHistory, rowsFromHost, saveRows } from './bench-store';

export interface BenchRun {
  id: string;
  atMs: number;
  /** Hosts that have answered so far, and their errors (host kind: message). */
  hostsDone: number;
  errors: string[];
  finished: boolean;
}

export interface BenchRunnerDeps {
  db: TabpoolDb;
  send: (command: PopupCommand) => void;
  listen: (cb: PopupListener) => () => void;
}

/**
 * Runs benchmarks through the coordinator (host by host), stores each host's rows in the database
 * as they arrive, and keeps the history the charts and exports read.
 */
export function useBenchRunner({ db, send, listen }: BenchRunnerDeps) {
  const [history, setHistory] = useState<BenchResultRow[]>([]);
  const [run, setRun] = useState<BenchRun | null>(null);
  // The listener outlives renders: it reads the run in flight from here, not from a stale closure.
  const current = useRef<BenchRun | null>(null);
  const update = (next: BenchRun) => {
    current.current = next;
    setRun(next);
  };
  const reload = () => void loadHistory(db).then(setHistory);
  useEffect(reload, []);
  useEffect(
    () =>
      listen((m: PopupMessage) => {
        const r = current.current;
        if (r === null || !('id' in m) || m.id !== r.id) return;
        if (m.type === 'bench-host') {
          void saveRows(db, rowsFromHost(r.id, r.atMs, m)).then(reload);
          const errors = m.error ? [...r.errors, `${m.host.kind}: ${m.error.message}`] : r.errors;
          update({ ...r, hostsDone: r.hostsDone + 1, errors });
        } else if (m.type === 'bench-done') {
          update({ ...r, finished: true });
        }
      }),
    [],
  );
  const start = (params: BenchmarkTask) => {
    const id = crypto.randomUUID();
    update({ id, atMs: Date.now(), hostsDone: 0, errors: [], finished: false });
    send({ type: 'bench-run', id, params });
  };
  return { history, run, start, reload };
}

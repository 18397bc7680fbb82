import { renderToString } from 'preact-render-to-string';
import { describe, expect, it } from 'vitest';
import type { BenchResultRow } from '../../storage';
import { BenchPanel, type BenchPanelProps } from './bench-panel';

const row = (over: Partial<BenchResultRow>): BenchResultRow => ({
  id: 1,
  runId: 'r1',
  at: 1_000,
  suite: 'kernel',
  name: 'matmul',
  shape: '64x64x64',
  backend: 'cpu',
  adapter: null,
  hostId: 'h',
  hostKind: 'offscreen',
  ms: 1.23456,
  gflops: 0.42,
  iterations: 9,
  ...over,
});
const props = (over: Partial<BenchPanelProps> = {}): BenchPanelProps => ({
  history: [],
  run: null,
  models: [],
  hosts: 2,
  start: () => {},
  exportAs: () => {},
  clear: () => {},
  ...over,
});

describe('BenchPanel', () => {
  it('offers labelled kernel and model choices and runs on the ready hosts', () => {
    const html = renderToString(<BenchPanel {...props({ models: ['org/m@main'] })} />);
    expect(html).toMatch(/<legend>Kernels<\/legend>/);
    expect(html).toMatch(/<input type="checkbox" name="kernel-matmul-64" checked/);
    expect(html).toContain('matmul 128×128×128');
    expect(html).toMatch(/<input type="checkbox" name="model-org\/m@main"/);
    expect(html).toMatch(/<button type="submit">Run on 2 hosts<\/button>/);
    // Nothing to export yet.
    expect(html).toMatch(/<button type="button" disabled>Export CSV<\/button>/);
    expect(html).not.toContain('<table');
  });

  it('cannot run without a host, nor twice at once', () => {
    expect(renderToString(<BenchPanel {...props({ hosts: 0 })} />)).toMatch(
      /<button type="submit" disabled>Run on 0 hosts/,
    );
    const html = renderToString(
      <BenchPanel
        {...props({ run: { id: 'x', atMs: 0, hostsDone: 1, errors: [], finished: false } })}
      />,
    );
    expect(html).toMatch(/<button type="submit" disabled>/);
    expect(html).toContain('Running… 1 of 2 hosts done');
  });

  it('shows the latest run as a table and the chosen case’s history as a chart', () => {
    const history = [
      row({ runId: 'r0', at: 500, ms: 2 }),
      row({ id: 2 }),
      row({ id: 3, backend: 'webgpu', adapter: 'swiftshader', ms: 3, gflops: 0.17 }),
    ];
    const html = renderToString(
      <BenchPanel
        {...props({
          history,
          run: { id: 'r1', atMs: 1_000, hostsDone: 2, errors: ['tab: boom'], finished: true },
        })}
      />,
    );
    expect(html).toContain('Done: 2 hosts; tab: boom');
    const table = html.slice(html.indexOf('<table'), html.indexOf('</table>'));
    expect(table).toContain('data-run="r1"');
    expect(table.match(/<tr data-case/g)).toHaveLength(2); // r0 is history, not the latest run
    expect(table).toMatch(
      /<td>Offscreen document<\/td><td>CPU<\/td><td>matmul 64x64x64<\/td><td class="num">1.235<\/td><td class="num">0.42<\/td>/,
    );
    expect(table).toContain('WebGPU (swiftshader)');
    expect(html).toMatch(/<option selected value="matmul 64x64x64">/);
    // The chart: two lines (cpu, webgpu) over two runs, three points (webgpu only in r1).
    expect(html).toMatch(
      /<figure class="chart chart--history" role="img" aria-label="Median ms per run of matmul 64x64x64[^"]*" data-points="3" data-series="2"/,
    );
    expect(html).toMatch(/<button type="button">Export CSV<\/button>/);
  });
});

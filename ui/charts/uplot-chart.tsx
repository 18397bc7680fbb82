import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface ChartSeries {
  label: string;
  /** One value per x; null is a gap. */
  values: (number | null)[];
}

export interface UplotChartProps {
  /** The chart's accessible name (it is an image to a screen reader; the numbers sit beside it). */
  label: string;
  /** Epoch milliseconds, ascending. */
  xMs: number[];
  series: ChartSeries[];
  width: number;
  height: number;
  /** `spark`: a bare line, no axes or legend (the popup); `history`: axes, legend and points. */
  variant: 'spark' | 'history';
  /** The y axis' unit (history charts). */
  unit?: string;
}

/** Non-null values across every series: what a test (or a person) can count as drawn points. */
export const countPoints = (series: ChartSeries[]): number =>
  series.reduce((n, s) => n + s.values.filter((v) => v !== null).length, 0);

/**
 * A uPlot chart as a Preact component. uPlot draws on a canvas in the browser; on the server
 * (tests with preact-render-to-string) only the labelled figure renders, with the number of
 * points it will draw in `data-points`. The chart is rebuilt when the series change, and only
 * fed new data otherwise (the popup updates every second).
 *
 * @example
 * <UplotChart label="Requests per second" variant="spark" width={140} height={28}
 *   xMs={metrics.atMs} series={[{ label: 'requests', values: metrics.completed }]} />
 */
export function UplotChart(props: UplotChartProps) {
  const { label, xMs, series, width, height, variant, unit } = props;
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<{ chart: uPlot; key: string } | null>(null);
  const key = `${variant}|${width}x${height}|${unit ?? ''}|${series.map((s) => s.label).join('|')}`;

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    // uPlot's time scale counts seconds.
    const data: uPlot.AlignedData = [xMs.map((ms) => ms / 1000), ...series.map((s) => s.values)];
    if (plot.current?.key === key) {
      plot.current.chart.setData(data);
      return;
    }
    plot.current?.chart.destroy();
    plot.current = { chart: new uPlot(options(props, el), data, el), key };
  });
  useEffect(
    () => () => {
      plot.current?.chart.destroy();
      plot.current = null;
    },
    [],
  );

  return (
    <figure
      class={`chart chart--${variant}`}
      role="img"
      aria-label={label}
      data-points={countPoints(series)}
      data-series={series.length}
    >
      <div ref={host} style={{ minHeight: `${height}px` }} />
    </figure>
  );
}

/** Reads the theme's colours (CSS custom properties), so charts follow dark/light mode. */
function palette(el: HTMLElement): { lines: string[]; axis: string; grid: string } {
  const css = getComputedStyle(el);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return {
    lines: [1, 2, 3, 4, 5, 6].map((i) => v(`--chart-${i}`, '#0969da')),
    axis: v('--muted', '#57606a'),
    grid: v('--grid', 'rgba(128,128,128,0.2)'),
  };
}

function options(props: UplotChartProps, el: HTMLElement): uPlot.Options {
  const { width, height, variant, series, unit } = props;
  const colors = palette(el);
  const spark = variant === 'spark';
  const axis = (extra: Partial<uPlot.Axis>): uPlot.Axis => ({
    show: !spark,
    stroke: colors.axis,
    grid: { stroke: colors.grid, width: 1 },
    ticks: { stroke: colors.grid, width: 1 },
    ...extra,
  });
  return {
    width,
    height,
    legend: { show: !spark },
    cursor: spark ? { show: false } : { points: { size: 8 } },
    scales: {
      x: { time: true },
      // Counts and latencies start at zero; a flat line sits on the floor, not mid-chart.
      y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
    },
    axes: [axis({}), axis({ label: unit ?? '', size: 56 })],
    series: [
      {},
      ...series.map(
        (s, i): uPlot.Series => ({
          label: s.label,
          stroke: colors.lines[i % colors.lines.length],
          width: spark ? 1.5 : 2,
          spanGaps: false,
          // Sparklines keep small points: a second with one request between quiet ones is
          // a lone value, which a line alone would not draw.
          points: { show: true, size: spark ? 3 : 6 },
        }),
      ),
    ],
  };
}

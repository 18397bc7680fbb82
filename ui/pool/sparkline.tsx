export interface SparklineProps {
  values: (number | null)[];
  label: string;
  width?: number;
  height?: number;
}

/**
 * A small line of the last minute. SVG, not a chart library: sixty points need no axes, zoom or
 * canvas, and an SVG path can be read in tests. Gaps (null) break the line.
 */
export function Sparkline({ values, label, width = 140, height = 28 }: SparklineProps) {
  const present = values.filter((v): v is number => v !== null);
  const max = Math.max(1, ...present);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  let d = '';
  let pen = false;
  values.forEach((v, i) => {
    if (v === null) {
      pen = false;
      return;
    }
    const x = (i * step).toFixed(1);
    const y = (height - 1 - (v / max) * (height - 2)).toFixed(1);
    d += `${pen ? 'L' : 'M'}${x} ${y}`;
    pen = true;
  });
  return (
    <svg
      class="sparkline"
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={label}
    >
      <path d={d} fill="none" stroke="currentColor" stroke-width="1.5" />
    </svg>
  );
}

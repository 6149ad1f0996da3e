/**
 * A latency percentile plot as a standalone SVG, in the style of
 * HdrHistogram's plotter: the x axis is the percentile on a log scale of
 * 1 / (1 − p) (0%, 90%, 99%, 99.9%, … equally spaced), so the tail gets as
 * much room as the median; the y axis is latency. Several series share the
 * axes. The y axis turns logarithmic when the series differ by more than
 * 30× (else the faster one would lie flat on the axis); the axis label says
 * which. No dependency: plain string building.
 */

/**
 * One line: points as [percentile in 0..100, value], percentile ascending. A
 * point at 100 (the maximum) is drawn at the depth of the point before it,
 * as a final rise: a sample says nothing deeper than 1 / its count.
 */
export interface PlotSeries {
  name: string;
  color: string;
  points: readonly (readonly [number, number])[];
}

/** Title, axis label, legend unit and size of a plot. */
export interface PlotOptions {
  title: string;
  yLabel: string;
  /** Unit after each number in the legend (e.g. "ms"). */
  unit?: string;
  width?: number;
  height?: number;
}

const M = { left: 72, right: 48, top: 48, bottom: 64 };
/** Tail depth shown at most: 99.9999%. */
const MAX_NINES = 6;

/** x position of a percentile in "nines": 0 for 0%, 1 for 90%, 2 for 99%, … */
export function nines(percentile: number): number {
  if (percentile >= 100) return MAX_NINES;
  return Math.min(MAX_NINES, Math.log10(100 / (100 - percentile)));
}

/** The plot; an empty or all-NaN input gives an SVG that says there is no data. */
export function percentileSvg(series: readonly PlotSeries[], opts: PlotOptions): string {
  const width = opts.width ?? 900;
  const legendH = 8 + 18 * series.length;
  const height = (opts.height ?? 520) + legendH;
  const plotW = width - M.left - M.right;
  const plotH = height - M.top - M.bottom - legendH;
  const clean = series
    .map((s) => ({ ...s, points: s.points.filter(([p, v]) => Number.isFinite(p) && Number.isFinite(v) && v >= 0) }))
    .filter((s) => s.points.length > 0);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${esc(opts.title)}</text>`,
  ];
  if (clean.length === 0) {
    out.push(`<text x="${width / 2}" y="${height / 2}" text-anchor="middle">no data</text>`, '</svg>');
    return out.join('\n') + '\n';
  }

  const depth = (pts: readonly (readonly [number, number])[]) => Math.max(0, ...pts.filter(([p]) => p < 100).map(([p]) => nines(p)));
  const xMax = Math.max(1, Math.ceil(Math.max(...clean.map((s) => depth(s.points))) - 1e-9));
  const values = clean.flatMap((s) => s.points.map(([, v]) => v));
  const vMax = Math.max(...values);
  const positive = values.filter((v) => v > 0);
  const vMinPos = positive.length > 0 ? Math.min(...positive) : 1;
  const medians = clean.map((s) => (s.points.find(([p]) => p >= 50) ?? s.points[s.points.length - 1]!)[1]).filter((v) => v > 0);
  const logY = medians.length > 1 && Math.max(...medians) / Math.min(...medians) > 30;

  let yOf: (v: number) => number;
  let yTicks: number[];
  if (logY) {
    const lo = Math.floor(Math.log10(vMinPos));
    const hi = Math.ceil(Math.log10(vMax));
    const span = Math.max(1, hi - lo);
    yOf = (v) => M.top + plotH - ((Math.log10(Math.max(v, 10 ** lo)) - lo) / span) * plotH;
    yTicks = [];
    for (let d = lo; d <= hi; d++) yTicks.push(10 ** d);
  } else {
    const step = niceStep(vMax / 6);
    const top = Math.max(step, Math.ceil(vMax / step) * step);
    yOf = (v) => M.top + plotH - (v / top) * plotH;
    yTicks = [];
    for (let t = 0; t <= top + step / 2; t += step) yTicks.push(t);
  }
  const xOf = (p: number, seriesDepth: number) => M.left + ((p >= 100 ? seriesDepth : nines(p)) / xMax) * plotW;

  // Grid and axes.
  out.push(`<g stroke="#d0d7de" stroke-width="1">`);
  for (const t of yTicks) out.push(`<line x1="${M.left}" y1="${r(yOf(t))}" x2="${M.left + plotW}" y2="${r(yOf(t))}"/>`);
  for (let k = 0; k <= xMax; k++) {
    const x = M.left + (k / xMax) * plotW;
    out.push(`<line x1="${r(x)}" y1="${M.top}" x2="${r(x)}" y2="${M.top + plotH}"/>`);
  }
  out.push('</g>');
  out.push(`<rect x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#57606a"/>`);
  for (const t of yTicks) out.push(`<text x="${M.left - 6}" y="${r(yOf(t) + 4)}" text-anchor="end">${esc(tickLabel(t))}</text>`);
  for (let k = 0; k <= xMax; k++) {
    const x = M.left + (k / xMax) * plotW;
    out.push(`<text x="${r(x)}" y="${M.top + plotH + 18}" text-anchor="middle">${percentLabel(k)}</text>`);
  }
  out.push(
    `<text x="${M.left + plotW / 2}" y="${M.top + plotH + 40}" text-anchor="middle">percentile (log scale of 1/(1−p))</text>`,
    `<text transform="translate(18 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel + (logY ? ', log scale' : ''))}</text>`,
  );

  // The lines.
  clean.forEach((s) => {
    const sd = depth(s.points);
    const d = s.points.map(([p, v], j) => `${j === 0 ? 'M' : 'L'}${r(xOf(p, sd))},${r(yOf(v))}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
  });
  // The legend under the axis, each series with its headline percentiles.
  clean.forEach((s, i) => {
    const ly = M.top + plotH + 64 + i * 18;
    out.push(
      `<line x1="${M.left}" y1="${ly - 4}" x2="${M.left + 24}" y2="${ly - 4}" stroke="${s.color}" stroke-width="3"/>`,
      `<text x="${M.left + 30}" y="${ly}">${esc(`${s.name}: ${headline(s.points, opts.unit ?? '')}`)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** "p50 0.21 ms · p99 0.48 ms · …" from the points nearest those percentiles. */
function headline(points: readonly (readonly [number, number])[], unit: string): string {
  const at = (p: number) => {
    let best = points[0]!;
    for (const pt of points) if (Math.abs(pt[0] - p) < Math.abs(best[0] - p)) best = pt;
    return best[1];
  };
  const max = points[points.length - 1]![1];
  const u = unit === '' ? '' : ` ${unit}`;
  return `p50 ${num(at(50))}${u} · p99 ${num(at(99))}${u} · p99.9 ${num(at(99.9))}${u} · max ${num(max)}${u}`;
}

function percentLabel(k: number): string {
  if (k === 0) return '0%';
  return `${(100 - 100 / 10 ** k).toFixed(Math.max(0, k - 2))}%`;
}

function niceStep(raw: number): number {
  if (!(raw > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

function tickLabel(v: number): string {
  return v === 0 ? '0' : v >= 1 ? String(Number(v.toPrecision(3))) : String(Number(v.toPrecision(2)));
}

function num(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toPrecision(2);
}

function r(v: number): string {
  return v.toFixed(1);
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

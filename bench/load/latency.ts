/**
 * HDR latency histograms of the load harness (bench fan-out and HTTP, the
 * soak): the one way they are built (µs, 3 significant digits), merging the
 * compressed histograms threads send back, the summary (µs), and the
 * percentile distribution the bench's latency plot draws.
 */
import * as hdr from 'hdr-histogram-js';

/** The largest latency a histogram holds, µs (600 s). */
export const HIGHEST_LATENCY_US = 600_000_000;

/**
 * An empty latency histogram (µs). `useWebAssembly` for a recording thread
 * that takes a value per message (call `hdr.initWebAssembly()` first and
 * `destroy()` it when done); JS mode for merging and summaries.
 */
export function latencyHistogram(useWebAssembly = false): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_LATENCY_US, numberOfSignificantValueDigits: 3, useWebAssembly });
}

/** The headline percentiles of a latency histogram, µs. */
export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  p9999: number;
  max: number;
}

/** One JS-mode histogram holding every encoded histogram in `encoded` (µs values). */
export function merge(encoded: readonly string[]): hdr.Histogram {
  const total = latencyHistogram();
  for (const e of encoded) total.add(hdr.decodeFromCompressedBase64(e));
  return total;
}

/** p50 … max of `h`; NaN for every percentile of an empty histogram. */
export function summarize(h: hdr.Histogram): LatencySummary {
  const empty = h.totalCount === 0;
  const at = (p: number) => (empty ? NaN : h.getValueAtPercentile(p));
  return {
    count: h.totalCount,
    mean: empty ? NaN : h.mean,
    p50: at(50),
    p90: at(90),
    p99: at(99),
    p999: at(99.9),
    p9999: at(99.99),
    max: empty ? NaN : h.maxValue,
  };
}

/**
 * The percentile curve as [percentile, µs] points: 20 per decade of
 * 1 / (1 − p), as deep into the tail as the sample supports (1 / (1 − p) ≤
 * count), then the maximum at 100.
 */
export function distribution(h: hdr.Histogram): [number, number][] {
  if (h.totalCount === 0) return [];
  const points: [number, number][] = [];
  const depth = Math.log10(h.totalCount);
  for (let k = 0; k / 20 <= depth && k <= 120; k++) {
    const p = 100 * (1 - 10 ** (-k / 20));
    points.push([Number(p.toFixed(6)), h.getValueAtPercentile(p)]);
  }
  points.push([100, h.maxValue]);
  return points;
}

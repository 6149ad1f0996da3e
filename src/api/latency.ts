/**
 * The runtime's latency figures: parse-time histograms merged from the
 * workers' status reports, and the percentile summaries `latency()` returns
 * (µs, from HDR histograms).
 */
import type { IntervalHistogram } from 'node:perf_hooks';
import type * as hdr from 'hdr-histogram-js';
import { decodeFromCompressedBase64 } from 'hdr-histogram-js';
import type { LatencySummary } from '../model/status.ts';

/** Add a worker's reported histogram (compressed base64, reset in the worker after each report) into `into`. */
export function mergeReported(into: hdr.Histogram, compressedBase64: string): void {
  into.add(decodeFromCompressedBase64(compressedBase64));
}

/** The percentiles, max and count of one measured stage. */
export function summarize(h: hdr.Histogram): LatencySummary {
  return {
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
    count: h.totalCount,
  };
}

/**
 * The same summary of a Node interval histogram (perf_hooks, ns), in µs: the
 * main thread's event-loop delay. Node records the whole time between two
 * ticks of its sampling timer, the timer's own `intervalMs` included (an idle
 * loop at resolution 10 reads p50 10.14 ms, measured on Node 20), so the
 * interval is taken off: what is left is the delay (0 when the timer fired
 * early, as libuv's millisecond clock lets it).
 */
export function summarizeLoopDelay(h: IntervalHistogram, intervalMs: number): LatencySummary {
  const interval = intervalMs * 1e6;
  const us = (ns: number): number => Math.round(Math.max(0, ns - interval) / 1000);
  const count = h.count;
  if (count === 0) return { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, count: 0 };
  return {
    p50: us(h.percentile(50)),
    p90: us(h.percentile(90)),
    p99: us(h.percentile(99)),
    p999: us(h.percentile(99.9)),
    max: us(h.max),
    count,
  };
}

/**
 * The runtime's latency figures: parse-time histograms merged from the
 * workers' status reports, and the percentile summaries `latency()` returns
 * (µs, from HDR histograms).
 */
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

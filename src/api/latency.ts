/**
 * The runtime's latency figures: parse-time histograms merged from the
 * workers' status reports, and the percentile summaries `latency()` returns
 * (µs, from HDR histograms). Every histogram counts from the process's
 * start; asked for them (`histograms`), a summary also carries its whole
 * histogram, so a reader cuts any window out of two readings (`between`).
 */
import type * as hdr from 'hdr-histogram-js';
import { decodeFromCompressedBase64, encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import type { LatencySummary } from '../model/status.ts';

/** Add a worker's reported histogram (compressed base64, reset in the worker after each report) into `into`. */
export function mergeReported(into: hdr.Histogram, compressedBase64: string): void {
  into.add(decodeFromCompressedBase64(compressedBase64));
}

/** The percentiles, max and count of one measured stage; with `histogram`, the histogram too (`hdr`, see LatencySummary). */
export function summarize(h: hdr.Histogram, histogram = false): LatencySummary {
  const s: LatencySummary = {
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
    count: h.totalCount,
  };
  if (histogram) s.hdr = encodeIntoCompressedBase64(h);
  return s;
}

/**
 * What a stage recorded between two readings taken with histograms
 * (`earlier` may be undefined: the stage had no sample then), as a summary;
 * undefined when `later` carries no histogram. The max is the window's
 * highest recorded value (within the histogram's precision).
 */
export function between(earlier: LatencySummary | undefined, later: LatencySummary): LatencySummary | undefined {
  if (later.hdr === undefined) return undefined;
  const h = decodeFromCompressedBase64(later.hdr);
  if (earlier?.hdr !== undefined) h.subtract(decodeFromCompressedBase64(earlier.hdr));
  return summarize(h);
}

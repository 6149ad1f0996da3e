/**
 * The event-loop delay summary (src/api/latency.ts `summarizeLoopDelay`):
 * Node's interval histogram holds the time between its timer's ticks, the
 * interval included; the summary reports only the delay beyond it, in µs,
 * never below 0. A real histogram of an idle loop reads near 0, not near the
 * interval.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { summarizeLoopDelay } from '../../src/api/latency.ts';

/** An interval histogram holding `ns` values (only what the summary reads). */
function histogramOf(ns: number[]): IntervalHistogram {
  const sorted = [...ns].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  return { count: sorted.length, max: sorted.at(-1) ?? 0, percentile: at } as unknown as IntervalHistogram;
}

describe('summarizeLoopDelay', () => {
  it('takes the sampling interval off every figure, in µs, never below 0', () => {
    const ms = 1e6;
    const h = histogramOf([9.1 * ms, ...Array.from({ length: 97 }, () => 10.2 * ms), 13 * ms, 60 * ms]);
    expect(summarizeLoopDelay(h, 10)).toEqual({ p50: 200, p90: 200, p99: 3000, p999: 50_000, max: 50_000, count: 100 });
    expect(summarizeLoopDelay(histogramOf([9.1 * ms]), 10)).toMatchObject({ p50: 0, max: 0, count: 1 }); // fired early: no delay
    expect(summarizeLoopDelay(histogramOf([]), 10)).toEqual({ p50: 0, p90: 0, p99: 0, p999: 0, max: 0, count: 0 });
  });

  it('on a real histogram: Node records the interval, the summary takes it off', async () => {
    const h = monitorEventLoopDelay({ resolution: 10 });
    h.enable();
    await new Promise((r) => setTimeout(r, 300));
    h.disable();
    expect(h.percentile(50) / 1e6).toBeGreaterThanOrEqual(8); // what Node records: the interval and the delay
    const raw = h.percentile(50);
    expect(summarizeLoopDelay(h, 10).p50).toBe(Math.round(Math.max(0, raw - 10e6) / 1000)); // the delay alone, µs
  });
});

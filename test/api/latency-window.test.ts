/**
 * Latency windows (src/api/latency.ts): a summary asked with its histogram
 * carries it, and two such readings subtract into what was recorded between
 * them; a reading without histograms cannot be cut.
 */
import { describe, expect, it } from 'vitest';
import { between, summarize } from '../../src/api/latency.ts';
import { newLatencyHistogram } from '../../src/reader/pump.ts';

describe('latency windows', () => {
  it('subtract two readings into the window between them', () => {
    const h = newLatencyHistogram();
    for (let i = 0; i < 1000; i++) h.recordValue(50_000); // start-up: 50 ms each
    const first = summarize(h, true);
    expect(first.hdr).toEqual(expect.any(String));
    expect(first.p99).toBeGreaterThanOrEqual(49_000);
    for (let i = 1; i <= 100; i++) h.recordValue(i * 10); // the window: 10 µs … 1 ms
    const window = between(first, summarize(h, true))!;
    expect(window.count).toBe(100);
    expect(window.p50).toBeGreaterThanOrEqual(495);
    expect(window.p50).toBeLessThanOrEqual(505);
    expect(window.max).toBeLessThanOrEqual(1001);
    expect(window.max).toBeGreaterThanOrEqual(999);
    expect(window).not.toHaveProperty('hdr');
  });

  it('take a stage with no earlier reading whole, and refuse a reading without its histogram', () => {
    const h = newLatencyHistogram();
    h.recordValue(7);
    expect(between(undefined, summarize(h, true))).toMatchObject({ count: 1, p50: 7, max: 7 });
    expect(summarize(h)).not.toHaveProperty('hdr');
    expect(between(undefined, summarize(h))).toBeUndefined();
  });
});

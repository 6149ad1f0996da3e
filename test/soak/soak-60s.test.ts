/**
 * The soak end to end, as `npm run soak` runs it: a real tickwire gateway in
 * its own process, the fake Binance and the subscribers on loopback.
 *
 * The CI variant: 60 s of rated load (2,000 trades/s) to 20 subscribers; the
 * verdict must pass (memory flat, nothing lost) and the report must have its
 * shape. Latency is reported, never asserted. Not in `npm test` (it takes
 * ~80 s): `npm run soak:ci` runs it, and so does CI. The leak self-check
 * stays in `npm test` (soak.test.ts).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { removeSoakRuns, runSoak } from '../support/run-soak.ts';

const MiB = 1024 * 1024;

afterAll(removeSoakRuns);

describe('soak', () => {
  it('60 s of rated load to 20 subscribers: memory flat, nothing lost', { timeout: 180_000 }, async () => {
    const { code, output, report, markdown } = await runSoak(['--duration', '60s', '--subscribers', '20']);
    expect(report.verdict.reasons, output).toEqual([]);
    expect(report.verdict.pass).toBe(true);
    expect(code).toBe(0);
    expect(output).toMatch(/soak: PASS/);

    // Shape: one sample per 5 s, the first 15 s warm-up; every figure present.
    expect(report.completed).toBe(true);
    expect(report.options).toMatchObject({ durationSec: 60, rate: 2000, subscribers: 20, intervalSec: 5, warmupSec: 15, storage: true });
    expect(report.samples.map((s) => s.tSec)).toEqual([5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60]);
    expect(report.samples.filter((s) => s.judged)).toHaveLength(10);
    for (const s of report.samples) {
      expect(s.heapUsedBytes).toBeGreaterThan(1 * MiB);
      expect(s.heapUsedBytes).toBeLessThan(s.heapUsedBeforeGcBytes + 1); // sampled after the forced GC
      expect(s.rssBytes).toBeGreaterThan(s.heapUsedBytes);
      expect(s.latencyMs.count).toBeGreaterThan(0);
      expect(s.latencyMs.p50).toBeLessThanOrEqual(s.latencyMs.p99);
      expect(s.latencyMs.p99).toBeLessThanOrEqual(s.latencyMs.max);
      expect(s.exchangeState).toBe('connected');
      expect(s.missed).toBe(0);
      expect(s.ringOverflow).toBe(0);
    }
    for (const g of [report.verdict.heap, report.verdict.external, report.verdict.rss]) {
      expect(g.judged).toBe(true);
      expect(g.samples).toBe(10);
      expect(Number.isFinite(g.slopeBytesPerMin)).toBe(true);
    }

    // Every trade reached every subscriber of its symbol: 2,000/s for 60 s, each to 5 of the 20.
    const t = report.totals;
    expect(t.tradesSent).toBeGreaterThan(100_000);
    expect(t.tradesExpected).toBe(t.tradesSent * 5);
    expect(t.tradesDelivered).toBe(t.tradesExpected);
    expect(t.barsDelivered).toBeGreaterThan(0);
    expect(report.latencyMs.count).toBe(t.tradesDelivered);
    expect(report.shutdownMs).not.toBeNull();

    expect(markdown).toMatch(/^# tickwire soak/);
    expect(markdown).toMatch(/\*\*PASS\*\*/);
    expect(markdown.split('\n').filter((l) => /^\| \d+\*? \|/.test(l))).toHaveLength(12);
  });
});

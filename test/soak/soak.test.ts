/**
 * The soak's self-check, in `npm test`: a short run of the real gateway (in
 * its own process, the fake Binance and the subscribers on loopback, as
 * `npm run soak` runs it) with a leak injected into the gateway (`--leak`)
 * must fail on heap growth, with the measured slope near the injected one:
 * the sampling really measures the gateway's heap. The 60 s CI variant, which
 * must pass, is soak-60s.test.ts (`npm run soak:ci`).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { removeSoakRuns, runSoak } from '../support/run-soak.ts';

const MiB = 1024 * 1024;

afterAll(removeSoakRuns);

describe('soak', () => {
  it('fails a gateway that leaks, and measures the leak', { timeout: 120_000 }, async () => {
    const { code, output, report } = await runSoak([
      '--duration', '16s', '--interval', '1s', '--warmup', '6s', '--subscribers', '2', '--rate', '200', '--leak', '30', '--storage', 'off',
    ]);
    expect(code, output).toBe(1);
    expect(report.verdict.pass).toBe(false);
    expect(report.verdict.heap.growing).toBe(true);
    expect(report.verdict.reasons.some((r) => r.startsWith('memory keeps growing: heap'))).toBe(true);
    expect(output).toMatch(/soak: FAIL/);
    // 30 MB/min injected: the gateway's post-GC heap slope says so.
    expect(report.verdict.heap.slopeBytesPerMin / MiB).toBeGreaterThan(20);
    expect(report.verdict.heap.slopeBytesPerMin / MiB).toBeLessThan(40);
    // Only the leak failed it: the traffic itself was clean.
    expect(report.totals.tradesDelivered).toBe(report.totals.tradesExpected);
  });
});

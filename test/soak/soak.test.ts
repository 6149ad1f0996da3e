/**
 * The soak end to end, as `npm run soak` runs it: a real tickwire gateway in
 * its own process, the fake Binance and the subscribers on loopback.
 *
 * - The CI variant: 60 s of rated load (2,000 trades/s) to 20 subscribers;
 *   the verdict must pass (memory flat, nothing lost) and the report must
 *   have its shape. Latency is reported, never asserted.
 * - The self-check: a short run with a leak injected into the gateway
 *   (`--leak`) must fail on heap growth, with the measured slope near the
 *   injected one: the sampling really measures the gateway's heap.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { SoakReport } from '../../scripts/soak/report.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MiB = 1024 * 1024;
const dirs: string[] = [];

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Run `scripts/soak.ts` with `args` into a fresh directory; resolves with the exit code, output and the report. */
async function soak(args: string[]): Promise<{ code: number | null; output: string; report: SoakReport; markdown: string }> {
  const out = mkdtempSync(path.join(os.tmpdir(), 'tickwire-soak-test-'));
  dirs.push(out);
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/soak.ts', ...args, '--out', out], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  const files = readdirSync(out);
  const json = files.find((f) => f.endsWith('.json'));
  const md = files.find((f) => f.endsWith('.md'));
  if (json === undefined || md === undefined) throw new Error(`no report in ${out}; output:\n${output}`);
  return {
    code,
    output,
    report: JSON.parse(readFileSync(path.join(out, json), 'utf8')) as SoakReport,
    markdown: readFileSync(path.join(out, md), 'utf8'),
  };
}

describe('soak', () => {
  it('60 s of rated load to 20 subscribers: memory flat, nothing lost', { timeout: 180_000 }, async () => {
    const { code, output, report, markdown } = await soak(['--duration', '60s', '--subscribers', '20']);
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

  it('fails a gateway that leaks, and measures the leak', { timeout: 120_000 }, async () => {
    const { code, output, report } = await soak([
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

/**
 * The shared part of the micro-benchmarks: run a suite's cases in one
 * tinybench `Bench` and turn each task's latency statistics into per-unit
 * figures (ns per trade, per record, per bar) by dividing by the batch size.
 *
 * tinybench times each call of a task function with a ~50 ns floor, so every
 * case batches `batch` units of work per call. Percentiles are therefore over
 * calls: p99 is the 99th-percentile *batch mean* (slow batches: GC, bar
 * closes), not the tail of single operations. Measurements only: nothing
 * here asserts a time.
 */
import { Bench, type FnOptions, type Task } from 'tinybench';

/** BENCH_TIME_MS from the environment, when set: it overrides the profile's time per case. */
export const ENV_TIME_MS: number | undefined = (() => {
  const raw = process.env['BENCH_TIME_MS'];
  if (raw === undefined) return undefined;
  const ms = Number(raw);
  if (!(ms > 0 && Number.isFinite(ms))) throw new RangeError(`BENCH_TIME_MS must be a positive number of milliseconds, got ${raw}`);
  return ms;
})();

let timeMs = ENV_TIME_MS ?? 1000;

/** Time budget per case from now on, ms (warm-up is a quarter of it); BENCH_TIME_MS wins when set. */
export function setTimePerCase(ms: number): void {
  timeMs = ENV_TIME_MS ?? ms;
}

/** The time budget per case in force, ms. */
export function timePerCase(): number {
  return timeMs;
}

/** One measured operation: each call of `fn` does `batch` units of work. */
export interface Case {
  /** Stable key of the figure, e.g. `parse.binance_trade`. */
  id: string;
  name: string;
  /** Id of the case in the same suite this one is compared against, when it is tickwire's side of a comparison. */
  peer?: string;
  /** What one unit is, singular: 'trade', 'record', 'call', 'bar'. */
  unit: string;
  batch: number;
  fn: () => void;
  /** tinybench hooks (beforeEach/afterEach run outside the timed window). */
  hooks?: FnOptions;
}

/** A case's result, per unit of work. */
export interface Row {
  suite: string;
  id: string;
  name: string;
  peer?: string;
  unit: string;
  batch: number;
  meanNs: number;
  p50Ns: number;
  p99Ns: number;
  /** Units per second at the mean (batch / mean call time). */
  opsPerSec: number;
  /** Timed calls (each one batch). */
  samples: number;
  /** Relative margin of error of the mean, %. */
  rmePct: number;
}

/** Run `cases` in one Bench named `suite` and return one row per case. */
export function runCases(suite: string, cases: readonly Case[]): Row[] {
  const bench = new Bench({
    name: suite,
    time: timeMs,
    warmupTime: timeMs / 4,
    timestampProvider: 'hrtimeNow',
    throws: true,
  });
  for (const c of cases) bench.add(c.name, c.fn, c.hooks);
  bench.runSync();
  return cases.map((c) => toRow(suite, c, bench.getTask(c.name)!));
}

function toRow(suite: string, c: Case, task: Task): Row {
  const r = task.result;
  if (r.state !== 'completed') throw new Error(`bench ${suite} / ${c.name} ended ${r.state}`);
  const nsPerUnit = 1e6 / c.batch; // latency is in ms per call
  return {
    suite,
    id: c.id,
    name: c.name,
    ...(c.peer === undefined ? {} : { peer: c.peer }),
    unit: c.unit,
    batch: c.batch,
    meanNs: r.latency.mean * nsPerUnit,
    p50Ns: r.latency.p50 * nsPerUnit,
    p99Ns: r.latency.p99 * nsPerUnit,
    opsPerSec: (c.batch * 1000) / r.latency.mean,
    samples: r.latency.samplesCount,
    rmePct: r.latency.rme,
  };
}

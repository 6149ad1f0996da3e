/**
 * "Unchanged within noise", decided by a test with known error rates rather
 * than by a chosen margin. A figure is measured in rounds that each run the
 * baseline and the treatment one right after the other (in alternating
 * order from round to round), so a change of load on the shared machine
 * falls on both runs of a round alike: each round gives one paired ratio,
 * treated / baseline.
 *
 * The rule: a one-sided paired t-test on the logarithms of those ratios at
 * the 5 % level. The treatment adds to the figure when the mean log ratio is
 * larger than its standard error times the t quantile (n − 1 degrees of
 * freedom) allows; otherwise the figure is unchanged within noise. Logs,
 * because a latency percentile's noise on a loaded machine scales with the
 * figure (a busy spell doubles it, whatever it was), and a log makes that
 * scatter symmetric. The allowance is the treatment's own rounds'
 * scatter of the ratio: a treatment that makes the figure erratic widens it,
 * but only as far as the erratic rounds leave the mean ratio no larger than
 * its standard error allows, and an erratic tail still shows in the mean.
 *
 * Error rates (test/bench/noise.test.ts simulates them with a seeded PRNG:
 * a load factor shared within each round, lognormal noise of each run of
 * σ 0.35, about what two quiet runs of the strategies scenario differ by,
 * and a 2–4× spike in one run of ten): a treatment that changes nothing
 * fails 5 % of the time whatever the number of rounds (false fail). One
 * that doubles the figure passes 10 % of the time at 10 rounds (the quick
 * profile) and 3 % at 14 (full); one that adds half of it 44 % and 31 %,
 * one that adds a quarter 73 % and 67 % (false pass): costs smaller than
 * the per-run noise need more rounds than a bench run of a few minutes has.
 * The rule it replaced (2 runs a side, mean with − mean without ≤ the
 * spread of the runs without) failed a costless treatment 24 % of the time
 * and passed a doubling 33 % and a +50 % 51 % of the time under the same
 * noise.
 */

/** One-sided 95 % quantiles of Student's t by degrees of freedom (index 0: df 1). */
const T95 = [6.314, 2.92, 2.353, 2.132, 2.015, 1.943, 1.895, 1.86, 1.833, 1.812, 1.796, 1.782, 1.771, 1.761, 1.753, 1.746, 1.74, 1.734, 1.729, 1.725];
/** Beyond the table: the normal quantile (df ≥ 30 is within 3 % of it). */
const Z95 = 1.645;

/** A paired comparison of a lower-is-better figure: baseline and treated runs, one pair per round (same unit). */
export interface PairedComparison {
  baseline: number[];
  treated: number[];
  /** Geometric means of each side. */
  baselineMean: number;
  treatedMean: number;
  /** What the treatment adds, in the figure's unit: baselineMean × (e^(mean log ratio) − 1) (> 0 is worse). */
  added: number;
  /** The most it may add and still pass: baselineMean × (e^(t × standard error) − 1). */
  allowance: number;
  /** Standard deviation of the rounds' log ratios: the per-round noise the test allowed for. */
  sd: number;
  /** The test's t statistic (mean log ratio / its standard error); Infinity when every round agrees exactly on a ratio above 1. */
  t: number;
  /** added ≤ allowance: not shown to add anything at the 5 % level. */
  withinNoise: boolean;
}

/** The one-sided 95 % quantile of Student's t with `df` degrees of freedom. */
export function t95(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`degrees of freedom must be a positive integer, got ${df}`);
  return T95[df - 1] ?? (df < 30 ? 1.7 : Z95);
}

/**
 * Compare a lower-is-better figure's treated runs with its baseline runs,
 * pair by pair (`baseline[i]` and `treated[i]` measured in the same round;
 * at least 3 rounds: fewer leave the test no power), figures > 0.
 */
export function pairedWithinNoise(baseline: readonly number[], treated: readonly number[]): PairedComparison {
  if (baseline.length !== treated.length) throw new RangeError(`a paired comparison needs as many treated runs as baseline runs, got ${treated.length} and ${baseline.length}`);
  if (baseline.length < 3) throw new RangeError(`the noise rule needs at least 3 rounds, got ${baseline.length}`);
  if ([...baseline, ...treated].some((x) => !(x > 0) || !Number.isFinite(x))) throw new RangeError('the noise rule compares positive finite figures');
  const n = baseline.length;
  const logs = baseline.map((b, i) => Math.log(treated[i]! / b));
  const mean = logs.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(logs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const se = sd / Math.sqrt(n);
  const baselineMean = geometricMean(baseline);
  const allowanceLog = t95(n - 1) * se;
  const t = se === 0 ? (mean > 0 ? Infinity : mean < 0 ? -Infinity : 0) : mean / se;
  return {
    baseline: [...baseline], treated: [...treated], baselineMean, treatedMean: geometricMean(treated),
    added: baselineMean * Math.expm1(mean), sd, allowance: baselineMean * Math.expm1(allowanceLog), t, withinNoise: mean <= allowanceLog,
  };
}

function geometricMean(xs: readonly number[]): number {
  return Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
}

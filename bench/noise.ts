/**
 * "Unchanged within noise", decided by measurement rather than by a chosen
 * margin. A figure is measured in runs that alternate in one bench run:
 * baseline, treated, baseline, treated (A B A B), so a change of load on the
 * shared machine falls on both sides alike.
 *
 * The rule: the treated figure is within noise of the baseline when the
 * difference of their means is no larger than the spread of the baseline's
 * own runs (max − min): a difference the same configuration shows against
 * itself in the same bench run is not one the treatment can be blamed for.
 * Only the baseline's spread counts, so a treatment that makes the figure
 * erratic cannot widen its own allowance; the test is one-sided (a treated
 * figure better than the baseline is within noise). With two runs a side
 * this is about a one-standard-deviation test: a treatment that changes
 * nothing passes about four times in five, one that moves the figure by
 * more than the runs scatter fails.
 */

/** A comparison of a treated figure's runs with its baseline's runs (same unit). */
export interface NoiseComparison {
  baseline: number[];
  treated: number[];
  baselineMean: number;
  treatedMean: number;
  /** treatedMean − baselineMean (for a lower-is-better figure, > 0 is worse). */
  difference: number;
  /** Spread of the baseline's runs (max − min): the allowance. */
  noise: number;
  /** difference ≤ noise. */
  withinNoise: boolean;
}

/** Compare a lower-is-better figure's treated runs with its baseline runs (at least two baseline runs: one has no spread). */
export function withinNoise(baseline: readonly number[], treated: readonly number[]): NoiseComparison {
  if (baseline.length < 2) throw new RangeError(`the noise rule needs at least 2 baseline runs, got ${baseline.length}`);
  if (treated.length < 1) throw new RangeError('the noise rule needs at least 1 treated run');
  const baselineMean = mean(baseline);
  const treatedMean = mean(treated);
  const difference = treatedMean - baselineMean;
  const noise = Math.max(...baseline) - Math.min(...baseline);
  return { baseline: [...baseline], treated: [...treated], baselineMean, treatedMean, difference, noise, withinNoise: difference <= noise };
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

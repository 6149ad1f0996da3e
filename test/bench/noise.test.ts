/**
 * The bench's noise rule (bench/noise.ts): a one-sided paired t-test on log
 * ratios at 5 %. Checked on worked examples, and its error rates measured by
 * simulation (seeded, so every run computes the same rates): a load factor
 * shared by the two runs of a round (the machine's load drifts between
 * rounds), lognormal noise of each run, and a 2–4× spike in one run of ten
 * (a busy spell caught by one run only). The rates the docs quote
 * (bench/noise.ts, bench/README.md) are held here, against the rule it
 * replaced measured under the same noise.
 */
import { describe, expect, it } from 'vitest';
import { pairedWithinNoise, t95 } from '../../bench/noise.ts';
import { Prng } from '../support/prng.ts';

/** A standard normal draw (Box–Muller). */
function normal(rng: Prng): number {
  return Math.sqrt(-2 * Math.log(1 - rng.float())) * Math.cos(2 * Math.PI * rng.float());
}

/** One run's p99 in a round whose shared load is `load`: 2 ms × load × its own noise × (sometimes) a spike × (1 + `added`). */
function run(rng: Prng, load: number, added: number): number {
  const spike = rng.float() < 0.1 ? 2 + 2 * rng.float() : 1;
  return 2000 * load * Math.exp(0.35 * normal(rng)) * spike * (1 + added);
}

/** Rounds of (baseline, treated) runs; the treatment adds `added` (0.5: half the figure). */
function rounds(rng: Prng, n: number, added: number): { baseline: number[]; treated: number[] } {
  const baseline: number[] = [];
  const treated: number[] = [];
  for (let i = 0; i < n; i++) {
    const load = Math.exp(0.4 * normal(rng));
    baseline.push(run(rng, load, 0));
    treated.push(run(rng, load, added));
  }
  return { baseline, treated };
}

/** The share of `trials` simulated bench runs that a rule passes. */
function passRate(rule: (baseline: number[], treated: number[]) => boolean, n: number, added: number, trials = 20_000, seed = 13): number {
  const rng = new Prng(seed);
  let passed = 0;
  for (let i = 0; i < trials; i++) {
    const r = rounds(rng, n, added);
    if (rule(r.baseline, r.treated)) passed++;
  }
  return passed / trials;
}

const paired = (b: number[], t: number[]): boolean => pairedWithinNoise(b, t).withinNoise;
/** The rule it replaced: mean with − mean without ≤ the spread (max − min) of the runs without. */
const spreadRule = (b: number[], t: number[]): boolean => t.reduce((a, x) => a + x, 0) / t.length - b.reduce((a, x) => a + x, 0) / b.length <= Math.max(...b) - Math.min(...b);

describe('bench noise rule: a paired test with known error rates', () => {
  it('passes a treatment whose rounds scatter around no change, and fails one that adds in every round', () => {
    const same = pairedWithinNoise([2000, 3000, 2500, 4000], [2100, 2900, 2600, 3800]);
    expect(same.withinNoise).toBe(true);
    expect(same.baselineMean).toBeCloseTo(Math.exp((Math.log(2000) + Math.log(3000) + Math.log(2500) + Math.log(4000)) / 4), 6);
    expect(same.added).toBeLessThanOrEqual(same.allowance);
    // +10 % in every round, however loaded the round: a real cost, found although the rounds differ 2×.
    const costly = pairedWithinNoise([2000, 3000, 2500, 4000], [2200, 3300, 2750, 4400]);
    expect(costly.withinNoise).toBe(false);
    expect(costly.added).toBeCloseTo(costly.baselineMean * 0.1, 6);
  });

  it('is one-sided: a treatment that lowers the figure is within noise', () => {
    expect(pairedWithinNoise([3000, 3100, 2900], [1000, 1200, 1100]).withinNoise).toBe(true);
  });

  it('states its allowance as the figure it compares: added ≤ allowance exactly when the test passes', () => {
    const c = pairedWithinNoise([2000, 2600, 2300], [2500, 2700, 2400]);
    const logs = [2500 / 2000, 2700 / 2600, 2400 / 2300].map(Math.log);
    const mean = (logs[0]! + logs[1]! + logs[2]!) / 3;
    const sd = Math.sqrt(logs.reduce((a, x) => a + (x - mean) ** 2, 0) / 2);
    expect(c.t).toBeCloseTo(mean / (sd / Math.sqrt(3)), 9);
    expect(c.allowance).toBeCloseTo(c.baselineMean * Math.expm1(2.92 * (sd / Math.sqrt(3))), 6);
    expect(c.withinNoise).toBe(c.added <= c.allowance);
  });

  it('refuses what it cannot judge: unpaired runs, fewer than 3 rounds, figures that are not positive', () => {
    expect(() => pairedWithinNoise([1, 2, 3], [1, 2])).toThrow(RangeError);
    expect(() => pairedWithinNoise([1, 2], [1, 2])).toThrow(RangeError);
    expect(() => pairedWithinNoise([1, 0, 3], [1, 2, 3])).toThrow(RangeError);
    expect(() => t95(0)).toThrow(RangeError);
    expect(t95(4)).toBe(2.132);
    expect(t95(100)).toBe(1.645);
  });

  it('fails a costless treatment 1 time in 20 at any number of rounds, where the spread rule failed it about 1 in 4', () => {
    for (const n of [5, 10, 14]) {
      const falseFail = 1 - passRate(paired, n, 0);
      expect(falseFail, `${n} rounds`).toBeGreaterThan(0.03);
      expect(falseFail, `${n} rounds`).toBeLessThan(0.07);
    }
    const spreadFalseFail = 1 - passRate(spreadRule, 2, 0);
    expect(spreadFalseFail).toBeGreaterThan(0.2);
    expect(spreadFalseFail).toBeLessThan(0.3);
  });

  it('lets a real cost through at the rates the docs quote, less often the more rounds it has', () => {
    // bench/noise.ts: at 10 rounds (quick) and 14 (full), a doubling passes 10 % and 3 %, +50 % 44 % and 31 %, +25 % 73 % and 67 %.
    const quoted: [rounds: number, added: number, rate: number][] = [[10, 1, 0.1], [14, 1, 0.03], [10, 0.5, 0.44], [14, 0.5, 0.31], [10, 0.25, 0.73], [14, 0.25, 0.67]];
    for (const [n, added, rate] of quoted) expect(passRate(paired, n, added), `${n} rounds, +${added * 100} %`).toBeCloseTo(rate, 1);
    expect(passRate(paired, 14, 0.5)).toBeLessThan(passRate(paired, 10, 0.5));
    // The spread rule, 2 runs a side: a doubling 33 %, +50 % 51 %.
    expect(passRate(spreadRule, 2, 1)).toBeCloseTo(0.33, 1);
    expect(passRate(spreadRule, 2, 0.5)).toBeCloseTo(0.51, 1);
  });
});

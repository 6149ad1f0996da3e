/**
 * The soak's memory-growth rule on synthetic series: it must pass flat and
 * noisy-flat memory and a one-off step, and catch steady growth, both over a
 * 10-minute run and within the 60-second CI window.
 */
import { describe, expect, it } from 'vitest';
import { HEAP_LIMITS, MIN_JUDGED_SAMPLES, RSS_LIMITS, assessGrowth, fitLine, type SizePoint } from '../../scripts/soak/growth.ts';
import { mulberry32 } from '../../src/sim/prng.ts';

const MiB = 1024 * 1024;

/** Samples every `intervalS` from `fromS` to `toS` inclusive: `bytes(tSeconds)`. */
function series(fromS: number, toS: number, intervalS: number, bytes: (t: number) => number): SizePoint[] {
  const out: SizePoint[] = [];
  for (let t = fromS; t <= toS + 1e-9; t += intervalS) out.push({ tMs: t * 1000, bytes: bytes(t) });
  return out;
}

/** Uniform noise in ±amplitude, seeded. */
function noise(seed: number, amplitude: number): () => number {
  const r = mulberry32(seed);
  return () => (r() * 2 - 1) * amplitude;
}

describe('fitLine', () => {
  it('recovers an exact line', () => {
    const xs = [0, 1, 2, 3, 4];
    const { slope, intercept } = fitLine(xs, xs.map((x) => 3 * x - 2));
    expect(slope).toBeCloseTo(3, 12);
    expect(intercept).toBeCloseTo(-2, 12);
  });

  it('gives slope 0 when x does not vary', () => {
    expect(fitLine([5, 5, 5], [1, 2, 3]).slope).toBe(0);
  });
});

describe('assessGrowth', () => {
  it('passes a flat heap over ten minutes', () => {
    const g = assessGrowth('heap', series(60, 600, 5, () => 20 * MiB), HEAP_LIMITS);
    expect(g.judged).toBe(true);
    expect(g.growing).toBe(false);
    expect(g.slopeBytesPerMin).toBeCloseTo(0, 6);
  });

  it('passes noisy-flat heap and RSS (±1 MB and ±6 MB of noise) for many seeds', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const heapNoise = noise(seed, 1 * MiB);
      const rssNoise = noise(seed + 10_000, 6 * MiB);
      expect(assessGrowth('heap', series(60, 600, 5, () => 20 * MiB + heapNoise()), HEAP_LIMITS).growing).toBe(false);
      expect(assessGrowth('rss', series(60, 600, 5, () => 150 * MiB + rssNoise()), RSS_LIMITS).growing).toBe(false);
      // The short CI window is noisier relative to its length.
      expect(assessGrowth('heap', series(15, 60, 5, () => 20 * MiB + heapNoise()), HEAP_LIMITS).growing).toBe(false);
    }
  });

  it('catches a steady 1.5 MB/min heap leak over ten minutes, noise and all', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const n = noise(seed, 1 * MiB);
      const g = assessGrowth('heap', series(60, 600, 5, (t) => 20 * MiB + (1.5 * MiB * t) / 60 + n()), HEAP_LIMITS);
      expect(g.growing, g.detail).toBe(true);
      expect(g.slopeBytesPerMin / MiB).toBeGreaterThan(1.2);
      expect(g.slopeBytesPerMin / MiB).toBeLessThan(1.8);
    }
  });

  it('catches a 6 MB/min leak within the 60 s CI window (45 s judged)', () => {
    const n = noise(3, 0.3 * MiB);
    const g = assessGrowth('heap', series(15, 60, 5, (t) => 20 * MiB + (6 * MiB * t) / 60 + n()), HEAP_LIMITS);
    expect(g.growing, g.detail).toBe(true);
  });

  it('catches steady RSS growth of 10 MB/min', () => {
    const n = noise(4, 4 * MiB);
    const g = assessGrowth('rss', series(60, 600, 5, (t) => 150 * MiB + (10 * MiB * t) / 60 + n()), RSS_LIMITS);
    expect(g.growing, g.detail).toBe(true);
  });

  it('passes RSS that jumps by 25 MB for a minute at a time and falls back (buffering while subscribers lag)', () => {
    const n = noise(6, 2 * MiB);
    // Plateaus at 40-100 s, 250-310 s and, the worst case for the slope, 520-580 s near the end.
    const bump = (t: number): number => ((t >= 40 && t < 100) || (t >= 250 && t < 310) || (t >= 520 && t < 580) ? 25 * MiB : 0);
    const g = assessGrowth('rss', series(60, 600, 5, (t) => 160 * MiB + bump(t) + n()), RSS_LIMITS);
    expect(g.growing, g.detail).toBe(false);
  });

  it('does not call a slope below the limit growth, even when the thirds differ', () => {
    // 0.8 MB/min for ten minutes: ~3 MB between first and last third, but under the 1 MB/min slope limit.
    const g = assessGrowth('heap', series(60, 600, 5, (t) => 20 * MiB + (0.8 * MiB * t) / 60), HEAP_LIMITS);
    expect(g.lastThirdMedianBytes - g.firstThirdMedianBytes).toBeGreaterThan(HEAP_LIMITS.riseBytes);
    expect(g.growing).toBe(false);
  });

  it('passes a one-off step after warm-up that then stays flat', () => {
    // 16 MB once, early in the judged window: slope and rise are both over their limits; only "still rising" tells.
    const n = noise(5, 0.2 * MiB);
    const g = assessGrowth('heap', series(60, 600, 5, (t) => (t < 150 ? 20 * MiB : 36 * MiB) + n()), HEAP_LIMITS);
    expect(g.slopeBytesPerMin).toBeGreaterThan(HEAP_LIMITS.slopeBytesPerMin);
    expect(g.lastThirdMedianBytes - g.firstThirdMedianBytes).toBeGreaterThan(HEAP_LIMITS.riseBytes);
    expect(g.growing, g.detail).toBe(false);
  });

  it('refuses to judge too few samples', () => {
    const g = assessGrowth('heap', series(0, (MIN_JUDGED_SAMPLES - 2) * 5, 5, (t) => t * MiB), HEAP_LIMITS);
    expect(g.samples).toBe(MIN_JUDGED_SAMPLES - 1);
    expect(g.judged).toBe(false);
    expect(g.growing).toBe(false);
    expect(g.detail).toMatch(/at least 6 are needed/);
  });
});

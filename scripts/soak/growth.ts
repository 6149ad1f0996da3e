/**
 * The soak's memory verdict: does a series of post-warm-up samples (post-GC
 * heap, RSS) keep growing? Pure: samples in, an assessment out.
 *
 * Rule (all three must hold for "growing"):
 *  1. the least-squares slope over the judged samples exceeds
 *     `slopeBytesPerMin`;
 *  2. the median of the last third of the samples exceeds the median of the
 *     first third by more than `riseBytes`;
 *  3. the last third's median still exceeds the middle third's by more than a
 *     quarter of `riseBytes`: growth goes on to the end of the run.
 *
 * Why: the slope alone is pulled by a single outlier at either end of a short
 * window; the thirds' medians ignore such outliers (RSS jumps for a while
 * when subscribers lag and uWS buffers, then falls back) and set a floor in
 * bytes that allocator and JIT jitter never reach; (3) tells a leak (still rising)
 * from a one-off step after warm-up (a cache filled once, a buffer grown
 * once) that settled before the last third. A steady leak satisfies all
 * three: over the judged window T its thirds' medians are about slope × T/3
 * apart each. (A step inside the last third looks like growth and fails:
 * from the samples alone it cannot be told from a leak's start.)
 *
 * What it can see: with the defaults a 60 s run (45 s judged) only flags
 * leaks of a few MB per minute, since (2) needs the thirds 30 s apart to
 * differ by `riseBytes`; a 10-minute run flags anything above the slope limit.
 * Fewer than MIN_JUDGED_SAMPLES samples cannot be judged (and fail the soak).
 */

export interface GrowthLimits {
  /** Least-squares slope above this is suspicious, bytes per minute. */
  slopeBytesPerMin: number;
  /** The last third's median must exceed the first third's by more than this, bytes. */
  riseBytes: number;
}

const MiB = 1024 * 1024;

/**
 * Post-GC heap of the gateway's main thread. Measured on real runs (README,
 * "Soak"): clean runs of 60 s to 3 min showed slopes of 0.03–0.15 MB/min and
 * 0.03–0.10 MB between the first and last third, and a 30 MB/min injected
 * leak measured 30.7 MB/min; 1 MB/min and 2 MB sit well between the two.
 */
export const HEAP_LIMITS: GrowthLimits = { slopeBytesPerMin: 1 * MiB, riseBytes: 2 * MiB };

/**
 * Post-GC `external` of the gateway's main thread: Buffers and ArrayBuffers
 * (outside the JS heap, so a leak of them does not show in heap-used). As
 * exact as the heap, so the same limits.
 */
export const EXTERNAL_LIMITS: GrowthLimits = { slopeBytesPerMin: 1 * MiB, riseBytes: 2 * MiB };

/**
 * RSS of the whole gateway process (main thread, feed worker, uWS buffers,
 * malloc arenas, LMDB pages). Much noisier: measured here it moves in steps
 * of 10–25 MB and back within a minute (uWS buffering while subscribers lag,
 * the allocator returning memory late), so its limits are eight times the
 * heap's. It is the backstop for native leaks the two exact figures miss.
 */
export const RSS_LIMITS: GrowthLimits = { slopeBytesPerMin: 8 * MiB, riseBytes: 16 * MiB };

/** Judged samples needed for a verdict (two per third at least). */
export const MIN_JUDGED_SAMPLES = 6;

/** One sample: time since load start (ms) and a size in bytes. */
export interface SizePoint {
  tMs: number;
  bytes: number;
}

export interface GrowthAssessment {
  /** What was judged, e.g. "heap" or "rss". */
  metric: string;
  /** Samples judged (after warm-up). */
  samples: number;
  /** False when there were too few samples to judge. */
  judged: boolean;
  /** True when all three conditions of the rule hold. */
  growing: boolean;
  slopeBytesPerMin: number;
  firstThirdMedianBytes: number;
  middleThirdMedianBytes: number;
  lastThirdMedianBytes: number;
  limits: GrowthLimits;
  /** One line: the figures against the limits. */
  detail: string;
}

/** Least-squares line through (x, y): slope and intercept. Slope 0 for fewer than two distinct x. */
export function fitLine(xs: readonly number[], ys: readonly number[]): { slope: number; intercept: number } {
  const n = Math.min(xs.length, ys.length);
  if (n === 0) return { slope: 0, intercept: 0 };
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i]!;
    my += ys[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx;
    sxy += dx * (ys[i]! - my);
    sxx += dx * dx;
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  return { slope, intercept: my - slope * mx };
}

/** Median of the sizes of points[from, to); NaN when empty. */
function median(points: readonly SizePoint[], from: number, to: number): number {
  const v = points.slice(from, to).map((p) => p.bytes).sort((a, b) => a - b);
  const n = v.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? v[(n - 1) / 2]! : (v[n / 2 - 1]! + v[n / 2]!) / 2;
}

function mb(bytes: number): string {
  return (bytes / MiB).toFixed(2);
}

/** Judge `points` (already past warm-up, in time order) against `limits` with the rule above. */
export function assessGrowth(metric: string, points: readonly SizePoint[], limits: GrowthLimits): GrowthAssessment {
  const n = points.length;
  const third = Math.floor(n / 3);
  const first = median(points, 0, third);
  const middle = median(points, third, n - third);
  const last = median(points, n - third, n);
  const { slope } = fitLine(
    points.map((p) => p.tMs / 60_000),
    points.map((p) => p.bytes),
  );
  const base = { metric, samples: n, slopeBytesPerMin: slope, firstThirdMedianBytes: first, middleThirdMedianBytes: middle, lastThirdMedianBytes: last, limits };
  if (n < MIN_JUDGED_SAMPLES) {
    return {
      ...base,
      judged: false,
      growing: false,
      detail: `${metric}: ${n} samples after warm-up, at least ${MIN_JUDGED_SAMPLES} are needed to judge growth (lengthen --duration or shorten --interval)`,
    };
  }
  const slopeHigh = slope > limits.slopeBytesPerMin;
  const rise = last - first;
  const riseHigh = rise > limits.riseBytes;
  const stillRising = last - middle > limits.riseBytes / 4;
  const growing = slopeHigh && riseHigh && stillRising;
  const detail =
    `${metric}: slope ${mb(slope)} MB/min (limit ${mb(limits.slopeBytesPerMin)}), ` +
    `last third − first third ${mb(rise)} MB (limit ${mb(limits.riseBytes)}), ` +
    `last − middle ${mb(last - middle)} MB (limit ${mb(limits.riseBytes / 4)})`;
  return { ...base, judged: true, growing, detail };
}

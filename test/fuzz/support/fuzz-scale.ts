/**
 * How big each fuzz run is: the full counts (100,000 frames per adapter,
 * 100,000 client messages, 100,000 HTTP queries) times FUZZ_SCALE.
 * `npm test` runs a tenth of them (the default) to stay quick; `npm run fuzz`
 * and CI set FUZZ_SCALE=1. A run's stream depends on its seed and its count,
 * so a replay needs both (see `replayEnv`). The feed-worker suite's 6,000
 * frames stay as they are: its time is the worker's start and the recorded
 * trades, not the garbage.
 */

/** The fraction of the full counts a run makes when FUZZ_SCALE is not set. */
export const DEFAULT_FUZZ_SCALE = 0.1;

/** FUZZ_SCALE from the environment (a positive number; 1 = the full counts), else DEFAULT_FUZZ_SCALE. */
export function fuzzScale(): number {
  const env = process.env['FUZZ_SCALE'];
  if (env === undefined || env === '') return DEFAULT_FUZZ_SCALE;
  const n = Number(env);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`FUZZ_SCALE: got ${JSON.stringify(env)}, expected a positive number (1 = the full counts)`);
  return n;
}

/** `full` times the scale, rounded to a multiple of `step` (the connections a count is split over), at least `step`. */
export function fuzzCount(full: number, step = 1): number {
  return Math.max(step, Math.round((full * fuzzScale()) / step) * step);
}

/** The environment that replays a run of `seed` at this run's scale, for failure messages. */
export function replayEnv(seed: number): string {
  const env = process.env['FUZZ_SCALE'];
  return env === undefined || env === '' ? `FUZZ_SEED=${seed}` : `FUZZ_SEED=${seed} FUZZ_SCALE=${env}`;
}

/**
 * The seed of each fuzz run: fixed per run label, so that `npm test` is
 * reproducible, and overridden for all runs by FUZZ_SEED to explore other
 * streams or to replay the one a failure names.
 */

/** The seed of a run: FUZZ_SEED from the environment (decimal or 0x-hex), else a fixed one per label. */
export function fuzzSeed(label: string): number {
  const env = process.env['FUZZ_SEED'];
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`FUZZ_SEED: got ${JSON.stringify(env)}, expected a non-negative integer`);
    return n >>> 0;
  }
  let h = 0x7157;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

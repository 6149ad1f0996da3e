/**
 * mulberry32: a small seeded PRNG (32-bit state, period 2^32). The same seed
 * gives the same sequence on every platform: the simulated market and the
 * randomized tests are reproducible. Not for anything that needs real
 * randomness.
 */

/** A generator of floats in [0, 1) with 32 random bits each. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

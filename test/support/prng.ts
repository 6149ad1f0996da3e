/**
 * A small seeded PRNG for reproducible randomized tests (mulberry32: 32-bit
 * state, period 2^32, good enough for test data, not for anything else).
 * The same seed always yields the same sequence on every platform.
 */

import { mulberry32 } from '../../src/sim/prng.ts';

export { mulberry32 };

/** Convenience helpers over `mulberry32`. */
export class Prng {
  readonly seed: number;
  readonly #next: () => number;

  constructor(seed: number) {
    this.seed = seed;
    this.#next = mulberry32(seed);
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.#next();
  }

  /** Uniform integer in [lo, hi], both inclusive (ranges wider than 2^32 are sampled coarsely). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.#next() * (hi - lo + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.#next() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.#next() * items.length)]!;
  }

  /** Shuffle `items` in place (Fisher–Yates) and return it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.#next() * (i + 1));
      const t = items[i]!;
      items[i] = items[j]!;
      items[j] = t;
    }
    return items;
  }
}

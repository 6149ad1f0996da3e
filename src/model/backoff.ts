/**
 * Reconnect delays, written once for the feed's venue connections
 * (src/feed/connection.ts) and the client SDK (src/client/backoff.ts).
 *
 * Exponential backoff with jitter: failed attempt n (0 after a reset) has
 * the ceiling min(maxMs, initialMs · 2ⁿ), doubling stopped at 2³⁰ (past any
 * sane maxMs, and never Infinity); the delay is a random point below it,
 * drawn one of two ways, as each caller has always drawn it:
 * - FULL (venue connections): uniform in [0, ceiling), whole ms (floor).
 * - EQUAL (client SDK): between half and all of the ceiling, rounded; the
 *   random half spreads a crowd of clients that lost the same server, the
 *   fixed half keeps any one of them from hammering a server still down.
 *
 * Pure: the random source is injected and there are no timers (the owner
 * arms them). No Node import: the browser build of the client SDK bundles it.
 */

/** How the delay is drawn below the attempt's ceiling. */
export const Jitter = {
  /** Uniform in [0, ceiling), floored to whole ms. */
  FULL: 0,
  /** Uniform in [ceiling / 2, ceiling], rounded to whole ms. */
  EQUAL: 1,
} as const;
export type Jitter = (typeof Jitter)[keyof typeof Jitter];

/** Doubling stops after this many attempts: 2³⁰ · initialMs is past any sane maxMs. */
const MAX_DOUBLINGS = 30;

/** Counts failed attempts and turns the count into the next delay. Options are the caller's to validate. */
export class JitteredBackoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly jitter: Jitter;
  readonly #random: () => number;
  #attempt = 0;

  /** `random` returns numbers in [0, 1) (tests make it deterministic). */
  constructor(initialMs: number, maxMs: number, jitter: Jitter, random: () => number = Math.random) {
    this.initialMs = initialMs;
    this.maxMs = maxMs;
    this.jitter = jitter;
    this.#random = random;
  }

  /** Failed attempts since the last `reset()`. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The delay before the next attempt, ms; counts one more failure. */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.#attempt, MAX_DOUBLINGS));
    this.#attempt++;
    return this.jitter === Jitter.FULL ? Math.floor(this.#random() * ceiling) : Math.round(ceiling / 2 + this.#random() * (ceiling / 2));
  }

  /** A connection succeeded: the next failure starts from `initialMs` again. */
  reset(): void {
    this.#attempt = 0;
  }
}

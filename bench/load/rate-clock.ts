/**
 * Fixed-rate pacing for a load generator: how many sends a rate owes by now,
 * counted from `start`, so a sender that was held up catches up and the mean
 * rate is exact over any window longer than the hold-up. The sender calls it
 * from a SEND_TICK_MS timer and sends what is owed beyond what it sent.
 */

/** The senders' timer period, ms (Node's timers do not go below 1 ms): frames go out in bursts of rate / 1000. */
export const SEND_TICK_MS = 1;

/** Sends owed since `start` at a fixed rate (clock.ts's µs). */
export class RateClock {
  readonly #perUs: number;
  #startUs = NaN;

  constructor(ratePerSecond: number) {
    this.#perUs = ratePerSecond / 1e6;
  }

  /** Start counting at `nowUs`. */
  start(nowUs: number): void {
    this.#startUs = nowUs;
  }

  /** True once started. */
  get started(): boolean {
    return this.#startUs === this.#startUs;
  }

  /** The start, µs (NaN before `start`). */
  get startUs(): number {
    return this.#startUs;
  }

  /** Sends the rate owes at `nowUs` since the start, ⌊elapsed × rate⌋ (NaN before `start`). */
  owed(nowUs: number): number {
    return Math.floor((nowUs - this.#startUs) * this.#perUs);
  }
}

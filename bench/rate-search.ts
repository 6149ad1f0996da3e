/**
 * The fan-out benchmark's search for the highest rate a gateway holds, as a
 * state machine its caller drives one step at a time, so that two
 * gateways' searches can take turns (tickwire's step, then the floor's at
 * the same rate, and so on) and meet the machine's load of the same moments.
 *
 * From the rated load upwards while each step is held (stopping at the first
 * rate not held), downwards while none is (stopping at the first held), then
 * `refine` bisection steps between the highest rate held and the lowest not
 * held, rounded to 100 trades/s. Whether a step was held is the caller's
 * test (bench/fanout.ts: the same for every gateway). Pure: no I/O.
 */

/** The rates a search may try (a profile's `fanout` settings). */
export interface RatePlan {
  /** Tried above the rated load when it was held, ascending, trades/s. */
  readonly stepsUp: readonly number[];
  /** Tried below it when it was not, descending. */
  readonly stepsDown: readonly number[];
  /** Bisection steps once a rate held and a rate not held are known. */
  readonly refine: number;
}

/** One gateway's rate search: `next()` the rate to try, `record()` whether it was held. */
export class RateSearch {
  #held: number;
  #failed: number;
  readonly #ratedHeld: boolean;
  readonly #ladder: readonly number[];
  readonly #refine: number;
  #rung = 0;
  #laddering = true;
  #refined = 0;

  constructor(ratedRate: number, ratedHeld: boolean, plan: RatePlan) {
    this.#ratedHeld = ratedHeld;
    this.#held = ratedHeld ? ratedRate : 0;
    this.#failed = ratedHeld ? Infinity : ratedRate;
    this.#ladder = ratedHeld ? plan.stepsUp : plan.stepsDown;
    this.#refine = plan.refine;
  }

  /** The next rate to try, trades/s; undefined when the search is over. */
  next(): number | undefined {
    if (this.#laddering && this.#rung < this.#ladder.length) return this.#ladder[this.#rung];
    this.#laddering = false;
    if (this.#refined >= this.#refine || this.#held <= 0 || !Number.isFinite(this.#failed)) return undefined;
    const rate = Math.round((this.#held + this.#failed) / 2 / 100) * 100;
    return rate <= this.#held || rate >= this.#failed ? undefined : rate;
  }

  /** The outcome of trying `rate` (the rate `next()` gave). */
  record(rate: number, held: boolean): void {
    if (held) this.#held = Math.max(this.#held, rate);
    else this.#failed = Math.min(this.#failed, rate);
    if (this.#laddering) {
      this.#rung++;
      if (held !== this.#ratedHeld) this.#laddering = false; // the first step the other way ends the ladder
    } else {
      this.#refined++;
    }
  }

  /** Highest rate held so far, trades/s; 0 when none was. */
  get maxHeldRate(): number {
    return this.#held;
  }

  /** True when no rate tried failed: the true limit is above every rate tried. */
  get ceilingReached(): boolean {
    return !Number.isFinite(this.#failed);
  }
}

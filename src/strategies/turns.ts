/**
 * The starts of strategies' judgments spread over event-loop turns. A bar
 * close queues a judgment for every strategy of its series, and starting one
 * (features are already done: the window, the task, a pool submission) costs
 * the main thread about 0.1 ms; starting 100 at once held the trade path for
 * 10–35 ms on this loaded 2-core machine (`onBar`, timed). Here starts run
 * in FIFO order, one `setImmediate` turn at a time, each turn until
 * SLICE_MS have passed (at least one start per turn): between turns the
 * event loop polls I/O and the rings' doorbell, so a trade waits for one
 * slice at most, not for every strategy. Starts run in the order of `add`.
 * A backtest gives them no budget (all in one turn): how far a slice got
 * depends on the machine's speed, and with it the interleaving of the
 * strategies' calls in the pool, hence of their lines in the output file.
 */

/** A turn's budget, ms: starts keep running in one turn until this much time has passed. */
export const SLICE_MS = 1;

/** A FIFO of jobs run a bounded slice per event-loop turn. */
export class Turns {
  readonly #budgetMs: number;
  readonly #jobs: (() => void)[] = [];
  #next = 0;
  #scheduled = false;

  /** `budgetMs`: a turn's budget (SLICE_MS; Infinity: every job queued runs in the next turn). */
  constructor(budgetMs: number) {
    this.#budgetMs = budgetMs;
  }

  /** Run `job` in a coming turn, after the jobs added before it. */
  add(job: () => void): void {
    this.#jobs.push(job);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#turn);
    }
  }

  readonly #turn = (): void => {
    const until = performance.now() + this.#budgetMs;
    do this.#jobs[this.#next++]!();
    while (this.#next < this.#jobs.length && performance.now() < until);
    if (this.#next < this.#jobs.length) {
      setImmediate(this.#turn);
      return;
    }
    this.#jobs.length = 0;
    this.#next = 0;
    this.#scheduled = false;
  };
}

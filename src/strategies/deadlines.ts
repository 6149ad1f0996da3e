/**
 * What the strategy pool's deadlines share (pool.ts for single calls,
 * batch.ts for batched judgments): the outer bound of any call, the error
 * of a call cut at its deadline, and the abort hook piscina listens to.
 */
import { Stage } from './task.ts';

/** Longest a call may take from submission whatever happens (loading, init, waiting for a thread), beyond its stages' deadlines, ms. */
export const OUTER_BOUND_MS = 60_000;

/** A call that ran past its deadline (aborted; its worker, if it had started, terminated); `stage`: the one it cut. */
export class CallTimeout extends Error {
  readonly stage: Stage;
  constructor(ms: number, stage: Stage = Stage.NONE) {
    super(`call took longer than ${ms} ms`);
    this.name = 'CallTimeout';
    this.stage = stage;
  }
}

/**
 * The abort signal piscina accepts for a task (`aborted`, one 'abort'
 * listener), reusable: a new AbortController per call cost the main thread
 * about 8 µs of the 30 µs a piscina round trip took here.
 */
export class AbortHook {
  /** Read by piscina as the task is submitted. */
  aborted = false;
  #listener: (() => void) | undefined;

  /** Piscina's hook for the task in flight. */
  addEventListener(_name: 'abort', listener: () => void): void {
    this.#listener = listener;
  }

  removeEventListener(_name: 'abort', listener: () => void): void {
    if (this.#listener === listener) this.#listener = undefined;
  }

  /** Ready for a new task. */
  reset(): void {
    this.aborted = false;
    this.#listener = undefined;
  }

  /** Abort the task in flight (piscina terminates its worker when it runs, drops it when it waits). */
  abort(): void {
    this.aborted = true;
    const listener = this.#listener;
    this.#listener = undefined;
    listener?.();
  }
}

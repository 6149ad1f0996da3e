/**
 * Reconnect delays: exponential backoff with "equal jitter". Attempt n waits
 * between half and all of min(maxMs, initialMs · 2ⁿ): the random half spreads
 * a crowd of clients that lost the same server, the fixed half keeps any one
 * of them from hammering a server that is still down. Pure: the random source
 * is injected, no timers here (the client owns them).
 */
import { InvalidParameterError } from '../errors.ts';

/** Reconnect timing (milliseconds). */
export interface BackoffOptions {
  /** Delay scale of the first retry (default 250). */
  initialMs?: number;
  /** Upper bound of any delay (default 30 000). */
  maxMs?: number;
}

/** The defaults: first retries within a quarter second, never more than 30 s apart. */
export const DEFAULT_BACKOFF: Readonly<Required<BackoffOptions>> = { initialMs: 250, maxMs: 30_000 };

/** Counts failed attempts and turns the count into the next delay. */
export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly #random: () => number;
  #attempt = 0;

  /** Throws InvalidParameterError for a non-positive initialMs or a maxMs below it. */
  constructor(options: BackoffOptions = {}, random: () => number = Math.random) {
    const initialMs = options.initialMs ?? DEFAULT_BACKOFF.initialMs;
    const maxMs = options.maxMs ?? Math.max(DEFAULT_BACKOFF.maxMs, initialMs);
    if (!Number.isFinite(initialMs) || initialMs <= 0) {
      throw new InvalidParameterError('reconnect.initialMs', initialMs, 'a number of milliseconds > 0');
    }
    if (!Number.isFinite(maxMs) || maxMs < initialMs) {
      throw new InvalidParameterError('reconnect.maxMs', maxMs, `a number of milliseconds ≥ reconnect.initialMs (${initialMs})`);
    }
    this.initialMs = initialMs;
    this.maxMs = maxMs;
    this.#random = random;
  }

  /** Failed attempts since the last `reset()`. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The delay before the next attempt; counts one more failure. */
  next(): number {
    // 2^30 · initialMs is past any sane maxMs: stop doubling there instead of overflowing to Infinity.
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.round(ceiling / 2 + this.#random() * (ceiling / 2));
  }

  /** A connection succeeded: the next failure starts from `initialMs` again. */
  reset(): void {
    this.#attempt = 0;
  }
}

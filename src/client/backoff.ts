/**
 * The client SDK's reconnect delays: the shared backoff (src/model/backoff.ts)
 * with "equal jitter" — attempt n waits between half and all of
 * min(maxMs, initialMs · 2ⁿ) — and the SDK's defaults and option checks.
 */
import { InvalidParameterError } from '../errors.ts';
import { Jitter, JitteredBackoff } from '../model/backoff.ts';

/** Reconnect timing (milliseconds). */
export interface BackoffOptions {
  /** Delay scale of the first retry (default 250). */
  initialMs?: number;
  /** Upper bound of any delay (default 30 000). */
  maxMs?: number;
}

/** The defaults: first retries within a quarter second, never more than 30 s apart. */
export const DEFAULT_BACKOFF: Readonly<Required<BackoffOptions>> = { initialMs: 250, maxMs: 30_000 };

/** The shared backoff with equal jitter, its options checked once here. */
export class Backoff extends JitteredBackoff {
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
    super(initialMs, maxMs, Jitter.EQUAL, random);
  }
}

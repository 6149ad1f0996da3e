/**
 * Token-bucket settings (`auth.httpRate`, `stream.subscribeRate`): `{ rate,
 * burst }`, or one number = rate with a burst of twice that.
 */
import type { Checker } from '../check/checker.ts';
import { isMap, keyPath } from '../check/paths.ts';
import type { RateLimit } from './types.ts';

/** Highest rate (per second) a token bucket may be given; bursts go to ten times that. */
export const MAX_SUBSCRIBE_RATE = 10_000;
const RATE_KEYS = ['rate', 'burst'] as const;

/** A token bucket at `path`, each part falling back to `base`; `what` names the unit in messages. */
export function rateSection(c: Checker, value: unknown, path: string, base: RateLimit, what: string): RateLimit {
  if (value === undefined || value === null) return { rate: base.rate, burst: base.burst };
  const rateOk = (n: number) => n > 0 && n <= MAX_SUBSCRIBE_RATE;
  const rateExpected = `a number of ${what} > 0 and <= ${MAX_SUBSCRIBE_RATE}`;
  if (!isMap(value)) {
    const rate = c.number(value, path, base.rate, rateOk, `${rateExpected}, or { rate, burst }`);
    return { rate, burst: Math.max(1, Math.ceil(rate * 2)) };
  }
  const r = c.section(value, path, RATE_KEYS);
  const rate = c.number(r.rate, keyPath(path, 'rate'), base.rate, rateOk, rateExpected);
  const burst = c.number(r.burst, keyPath(path, 'burst'), r.rate === undefined ? base.burst : Math.max(1, Math.ceil(rate * 2)),
    (n) => Number.isInteger(n) && n >= 1 && n <= MAX_SUBSCRIBE_RATE * 10, `a whole number from 1 to ${MAX_SUBSCRIBE_RATE * 10}`);
  return { rate, burst };
}

/**
 * What a venue's REST answer says about its rate limit: the usage headers
 * (how much of the window's budget is spent, the budget, when the window
 * resets) and `Retry-After`. Pure: headers and a clock in, figures out.
 *
 * Conventions read, first match wins:
 *  - Binance: `x-mbx-used-weight-1m`, the request weight used in the current
 *    minute; the budget is not in the answer: BINANCE_WEIGHT_PER_MINUTE
 *    (https://developers.binance.com/docs/binance-spot-api-docs/rest-api/limits);
 *    the window resets on the minute.
 *  - Bybit: `X-Bapi-Limit-Status` (left), `X-Bapi-Limit` (budget),
 *    `X-Bapi-Limit-Reset-Timestamp` (ms).
 *  - IETF draft and common practice: `RateLimit-Remaining` / `-Limit` /
 *    `-Reset` (seconds from now), or the same with an `X-` prefix.
 */

/** Binance spot's request-weight budget per minute (REQUEST_WEIGHT in exchangeInfo). */
export const BINANCE_WEIGHT_PER_MINUTE = 6000;

/** The longest `Retry-After` honoured as given, ms: a day. Longer is read as a day. */
const MAX_RETRY_AFTER_MS = 86_400_000;
const MINUTE_MS = 60_000;

/** The headers of an answer, as fetch's `Headers` reads them (names case-insensitive). */
export interface HeaderReader {
  get(name: string): string | null;
}

/** A rate-limit window as the venue reported it. */
export interface Usage {
  /** Budget spent in the current window (requests or weight, as the venue counts). */
  used: number;
  /** The window's budget. */
  limit: number;
  /** When the window resets, epoch ms. */
  resetAt: number;
}

function count(headers: HeaderReader, name: string): number | undefined {
  const raw = headers.get(name);
  if (raw === null || !/^\s*\d+(\.\d+)?\s*$/.test(raw)) return undefined;
  return Number(raw);
}

/** The venue's usage figures in `headers` at `nowMs`; undefined when it sends none this module reads. */
export function readUsage(headers: HeaderReader, nowMs: number): Usage | undefined {
  const binance = count(headers, 'x-mbx-used-weight-1m');
  if (binance !== undefined) return { used: binance, limit: BINANCE_WEIGHT_PER_MINUTE, resetAt: (Math.floor(nowMs / MINUTE_MS) + 1) * MINUTE_MS };
  const bybitLeft = count(headers, 'x-bapi-limit-status');
  const bybitLimit = count(headers, 'x-bapi-limit');
  if (bybitLeft !== undefined && bybitLimit !== undefined && bybitLimit > 0) {
    const reset = count(headers, 'x-bapi-limit-reset-timestamp');
    return { used: Math.max(0, bybitLimit - bybitLeft), limit: bybitLimit, resetAt: reset !== undefined && reset > nowMs ? reset : nowMs + 1_000 };
  }
  for (const prefix of ['ratelimit-', 'x-ratelimit-']) {
    const left = count(headers, prefix + 'remaining');
    const limit = count(headers, prefix + 'limit');
    if (left === undefined || limit === undefined || limit <= 0) continue;
    const resetS = count(headers, prefix + 'reset');
    // A reset past a day from now is an epoch time in seconds (some venues send that), not a delay.
    const resetAt = resetS === undefined ? nowMs + 1_000 : resetS > 86_400 ? resetS * 1000 : nowMs + resetS * 1000;
    return { used: Math.max(0, limit - left), limit, resetAt: Math.max(resetAt, nowMs) };
  }
  return undefined;
}

/** `Retry-After` (seconds, or an HTTP date) as ms from `nowMs`, at most a day; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(text);
  if (!Number.isFinite(at)) return undefined;
  return Math.min(Math.max(0, at - nowMs), MAX_RETRY_AFTER_MS);
}

/**
 * Binance's public klines endpoint (`GET /api/v3/klines`) as bar records:
 * the backfill source for closed bars missed while tickwire was down.
 *
 * A kline is `[openTime, open, high, low, close, volume, closeTime,
 * quoteVolume, trades, takerBuyBaseVolume, takerBuyQuoteVolume, ignore]`,
 * decimals as strings. Bars made from klines are closed, revision 0, marked
 * `BarSource.BACKFILL`, and have no trade ids (klines carry none) and no
 * spread (klines carry no quotes). Any malformed kline fails the whole page
 * (TickwireError INVALID_PARAMETER): a half-understood page is not merged;
 * an error status or no answer is a VenueRestError (EXCHANGE_NOT_RUNNING).
 */
import { ErrorCode, TickwireError } from '../errors.ts';
import { answerError, restGet } from '../exchanges/rest.ts';
import { BAR_FIELDS, BarField as F, BarSource } from '../model/records.ts';
import type { Timeframe, TimeframeName } from '../model/timeframes.ts';

/** Largest page Binance serves. */
export const KLINES_PAGE_LIMIT = 1000;

/** Binance kline intervals that are tickwire timeframes (same names; weeks start on Monday on both). */
const INTERVALS: ReadonlySet<TimeframeName> = new Set<TimeframeName>(['1s', '1m', '3m', '5m', '15m', '30m', '1h', '2h', '4h', '6h', '12h', '1d', '1w']);

/** The Binance interval for `tf`, or undefined when Binance has none (5s, 15s). */
export function klineInterval(tf: TimeframeName): string | undefined {
  return INTERVALS.has(tf) ? tf : undefined;
}

/** One page request. */
export interface KlinePage {
  restUrl: string;
  symbol: string;
  interval: string;
  /** First openTime wanted, ms (inclusive). */
  startTime: number;
  /** Last openTime wanted, ms (inclusive). */
  endTime: number;
  /** Aborts the request (default: after REST_TIMEOUT_MS, ../exchanges/rest.ts). */
  signal?: AbortSignal;
}

/** Fetch one page of klines (oldest first) as bar records of timeframe `tf`. */
export async function fetchKlinePage(page: KlinePage, tf: Timeframe): Promise<Float64Array[]> {
  const url = new URL('/api/v3/klines', page.restUrl);
  url.searchParams.set('symbol', page.symbol);
  url.searchParams.set('interval', page.interval);
  url.searchParams.set('startTime', String(page.startTime));
  url.searchParams.set('endTime', String(page.endTime));
  url.searchParams.set('limit', String(KLINES_PAGE_LIMIT));
  const answer = await restGet('binance', url, { signal: page.signal });
  if (!answer.ok) throw answerError(answer, `klines ${page.symbol} ${page.interval}: HTTP ${answer.status} from ${url.origin}`);
  return parseKlines(answer.body, tf, `klines ${page.symbol} ${page.interval}`);
}

/** Validate a klines answer and turn it into bar records. */
export function parseKlines(body: unknown, tf: Timeframe, what: string): Float64Array[] {
  const tfMs = tf.ms;
  if (!Array.isArray(body)) throw malformed(what, 'the answer is not an array');
  const out: Float64Array[] = [];
  let previous = -Infinity;
  for (let i = 0; i < body.length; i++) {
    const k: unknown = body[i];
    if (!Array.isArray(k) || k.length < 11) throw malformed(what, `kline ${i} is not an array of at least 11 fields`);
    const openTime = k[0];
    if (typeof openTime !== 'number' || !Number.isSafeInteger(openTime) || (openTime - tf.origin) % tfMs !== 0) {
      throw malformed(what, `kline ${i}: open time ${JSON.stringify(openTime)} is not an aligned integer ms`);
    }
    if (openTime <= previous) throw malformed(what, `kline ${i}: open times are not increasing`);
    previous = openTime;
    const r = new Float64Array(BAR_FIELDS);
    r[F.OPEN_TIME] = openTime;
    r[F.CLOSE_TIME] = openTime + tfMs - 1;
    r[F.OPEN] = decimal(k[1], what, i, 'open');
    r[F.HIGH] = decimal(k[2], what, i, 'high');
    r[F.LOW] = decimal(k[3], what, i, 'low');
    r[F.CLOSE] = decimal(k[4], what, i, 'close');
    const volume = decimal(k[5], what, i, 'volume');
    const quoteVolume = decimal(k[7], what, i, 'quoteVolume');
    const buyVolume = decimal(k[9], what, i, 'takerBuyBaseVolume');
    const trades = k[8];
    if (typeof trades !== 'number' || !Number.isSafeInteger(trades) || trades < 0) throw malformed(what, `kline ${i}: trades ${JSON.stringify(trades)}`);
    if (r[F.LOW]! > r[F.HIGH]! || buyVolume > volume) throw malformed(what, `kline ${i}: low above high or buy volume above volume`);
    r[F.VOLUME] = volume;
    r[F.QUOTE_VOLUME] = quoteVolume;
    r[F.BUY_VOLUME] = buyVolume;
    r[F.SELL_VOLUME] = volume - buyVolume;
    r[F.TRADES] = trades;
    r[F.FIRST_TRADE_ID] = NaN;
    r[F.LAST_TRADE_ID] = NaN;
    r[F.VWAP] = volume > 0 ? Math.min(r[F.HIGH]!, Math.max(r[F.LOW]!, quoteVolume / volume)) : NaN;
    r[F.SPREAD] = NaN;
    r[F.CLOSED] = 1;
    r[F.REVISION] = 0;
    r[F.GAPPED] = 0;
    r[F.SOURCE] = BarSource.BACKFILL;
    out.push(r);
  }
  return out;
}

function decimal(v: unknown, what: string, i: number, field: string): number {
  const n = typeof v === 'string' && /^\d+(\.\d+)?$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n)) throw malformed(what, `kline ${i}: ${field} ${JSON.stringify(v)} is not a non-negative decimal string`);
  return n;
}

function malformed(what: string, why: string): TickwireError {
  return new TickwireError(ErrorCode.INVALID_PARAMETER, `${what}: malformed answer: ${why}`);
}

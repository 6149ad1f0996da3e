/**
 * Backfill: on start, fetch the closed bars a series is missing, from the end
 * of what it holds (restored from storage) up to the last closed bucket, over
 * the venue's klines REST endpoint, and put them into the series.
 *
 * - Runs before the exchange's worker starts, so the main thread is the only
 *   writer of the series; bounded by `timeoutMs` per exchange (what arrived
 *   by then is kept, the rest stays missing and is reported).
 * - At most `history` bars back per series; timeframes the venue has no
 *   interval for are skipped (reported).
 * - Only bars after the newest one held are fetched, so nothing stored is
 *   duplicated or overwritten; every bar put is handed to `onBar` (to persist).
 * - At most `CONCURRENCY` requests in flight per exchange (the venue's
 *   request weight limits are per IP).
 * - Venues: those whose registry entry has `klines` (Binance spot,
 *   `/api/v3/klines`); others start with what storage held.
 */
import type { BarSeries } from '../buffers/bar-store.ts';
import { BarField as F } from '../model/records.ts';
import { bucketStart, parseTimeframe, type TimeframeName } from '../model/timeframes.ts';
import { fetchKlinePage, klineInterval, KLINES_PAGE_LIMIT } from './binance-klines.ts';

export interface BackfillTarget {
  symbol: string;
  timeframe: TimeframeName;
  series: BarSeries;
  history: number;
  /** Series index (handed back to `onBar`). */
  index: number;
}

export interface BackfillResult {
  /** Bars put into series. */
  bars: number;
  /** What could not be filled, one line each. */
  problems: string[];
}

/** How far one series got: bars fetched so far of the `expected` it was missing. */
export type BackfillProgress = (target: BackfillTarget, fetched: number, expected: number) => void;

/** Fill `targets` from `restUrl` up to the last bucket closed at `now` (ms); `onProgress` after each page. */
export async function backfill(
  restUrl: string,
  targets: readonly BackfillTarget[],
  now: number,
  timeoutMs: number,
  onBar: (index: number, record: Float64Array) => void,
  onProgress: BackfillProgress = () => {},
): Promise<BackfillResult> {
  const result: BackfillResult = { bars: 0, problems: [] };
  const signal = AbortSignal.timeout(Math.max(1, timeoutMs));
  await inParallel(targets, CONCURRENCY, async (t) => {
    const interval = klineInterval(t.timeframe);
    if (interval === undefined) {
      result.problems.push(`${t.symbol} ${t.timeframe}: the venue has no kline interval for it`);
      return;
    }
    const tf = parseTimeframe(t.timeframe);
    const lastClosed = bucketStart(now, tf.ms, tf.origin) - tf.ms;
    let from = Math.max(t.series.lastClosedOpenTime() + tf.ms, lastClosed - (t.history - 1) * tf.ms);
    const expected = Math.max(0, Math.floor((lastClosed - from) / tf.ms) + 1);
    let fetched = 0;
    try {
      while (from <= lastClosed) {
        const page = await fetchKlinePage({ restUrl, symbol: t.symbol, interval, startTime: from, endTime: lastClosed, signal }, tf);
        for (const rec of page) {
          const openTime = rec[F.OPEN_TIME]!;
          if (openTime < from || openTime > lastClosed) continue;
          t.series.putClosed(rec, 0);
          onBar(t.index, rec);
          result.bars++;
          fetched++;
        }
        onProgress(t, fetched, expected);
        if (page.length < KLINES_PAGE_LIMIT) break;
        from = page[page.length - 1]![F.OPEN_TIME]! + tf.ms;
      }
    } catch (err) {
      const why = signal.aborted ? `timed out after ${timeoutMs} ms` : (err as Error).message;
      result.problems.push(`${t.symbol} ${t.timeframe}: ${why}`);
    }
  });
  return result;
}

const CONCURRENCY = 4;

/** Run `task` over `items` with at most `limit` running at once. */
async function inParallel<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

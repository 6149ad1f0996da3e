/**
 * BarAggregator.addTrade fed the recorded BTCUSDT trades (see trades.ts), in
 * batches of 1024 trades per timed call, default options (fillEmpty on).
 *  - null sink: the aggregator alone (bucketing, dedup, OHLCV, compensated sums).
 *  - SeriesSink: plus the write of every forming/closed bar into a shared-memory
 *    BarSeries per timeframe, what an exchange worker does.
 */
import { BarAggregator, type BarSink } from '../src/bars/aggregator.ts';
import { SeriesSink } from '../src/bars/series-sink.ts';
import { BarSeries } from '../src/buffers/bar-store.ts';
import { binanceLongTrades } from '../test/support/fixtures.ts';
import { runCases, type Case, type Row } from './harness.ts';
import { TradeReplay } from './trades.ts';

const BATCH = 1024;
const ONE = ['1m'];
const SIX = ['1s', '1m', '5m', '15m', '1h', '1d'];
/** Closed bars each BarSeries keeps (full after a while: appends then drop the oldest). */
const SERIES_CAPACITY = 1024;

/** Discards every bar: isolates the aggregator's own cost. */
class NullSink implements BarSink {
  onBar(): void {}
}

/** Measure addTrade with 1 and 6 timeframes, into a null sink and into shared-memory BarSeries. */
export function aggregatorBench(): Row[] {
  const trades = binanceLongTrades();
  const aggregators: BarAggregator[] = [];
  const addTrade = (label: string, timeframes: string[], sink: BarSink): Case => {
    const agg = new BarAggregator(timeframes, sink);
    aggregators.push(agg);
    const replay = new TradeReplay(trades);
    return { name: `aggregator addTrade, ${label}`, unit: 'trade', batch: BATCH, fn: () => replay.feed(agg, BATCH) };
  };
  const seriesSink = (n: number) => new SeriesSink(Array.from({ length: n }, () => new BarSeries(BarSeries.allocate(SERIES_CAPACITY))));
  const rows = runCases('aggregator', [
    addTrade('1 timeframe, null sink', ONE, new NullSink()),
    addTrade('6 timeframes, null sink', SIX, new NullSink()),
    addTrade('1 timeframe, SeriesSink', ONE, seriesSink(ONE.length)),
    addTrade('6 timeframes, SeriesSink', SIX, seriesSink(SIX.length)),
  ]);
  // The replay is meant to take every trade on the normal path: check it did (not a timing check).
  for (const agg of aggregators) {
    if (agg.duplicatesDropped + agg.lateAmended + agg.lateDropped !== 0) throw new Error('aggregator bench: replay produced duplicate or late trades');
  }
  return rows;
}

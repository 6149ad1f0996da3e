/**
 * BarAggregator.addTrade fed the recorded BTCUSDT trades (see trades.ts), in
 * batches of 1024 trades per timed call, default options (fillEmpty on).
 *  - null sink: the aggregator alone (bucketing, dedup, OHLCV, compensated sums).
 *  - SeriesSink: plus the write of every forming/closed bar into a shared-memory
 *    BarSeries per timeframe, what an exchange worker does.
 *  - peer: tardis-dev's trade-bar computable (`computeTradeBars`, one per
 *    timeframe) fed the same trades as the normalized `Trade` objects its
 *    mappers produce (built beforehand, not timed), every yielded bar consumed.
 */
import { computeTradeBars, type Computable, type Trade, type TradeBar } from 'tardis-dev';
import { BarAggregator, type BarSink } from '../src/bars/aggregator.ts';
import { SeriesSink } from '../src/bars/series-sink.ts';
import { BarSeries } from '../src/buffers/bar-store.ts';
import { parseTimeframe } from '../src/model/timeframes.ts';
import type { FixtureTrade } from '../test/support/fixtures.ts';
import { tape } from './frames.ts';
import { runCases, type Case, type Row } from './harness.ts';
import { TradeReplay } from './trades.ts';

const BATCH = 1024;
const ONE = ['1m'];
const SIX = ['1s', '1m', '5m', '15m', '1h', '1d'];
/** Closed bars each BarSeries keeps (full after a while: appends then drop the oldest). */
const SERIES_CAPACITY = 1024;
/** Passes over the tape the peer's Trade objects cover before it starts again with fresh computables. */
const PEER_PASSES = 4;

/** Discards every bar: isolates the aggregator's own cost. */
class NullSink implements BarSink {
  onBar(): void {}
}

/** The tape as the aggregator tests' trades. */
function tapeTrades(): FixtureTrade[] {
  const t = tape();
  return Array.from({ length: t.length }, (_, i) => ({ ts: t.ts[i]!, price: Number(t.price[i]), size: Number(t.size[i]), side: t.maker[i] === 1 ? -1 : 1, id: t.id[i]! }));
}

/**
 * The peer's input: the tape as tardis-dev `Trade` objects over PEER_PASSES
 * passes, time shifted per pass as TradeReplay does.
 */
function tardisTrades(trades: readonly FixtureTrade[]): Trade[] {
  const n = trades.length;
  const tsStep = Math.ceil((trades[n - 1]!.ts - trades[0]!.ts + 1) / 1000) * 1000;
  const out: Trade[] = [];
  const local = new Date();
  for (let p = 0; p < PEER_PASSES; p++) {
    for (const t of trades) {
      out.push({
        type: 'trade',
        symbol: 'BTCUSDT',
        exchange: 'binance',
        id: String(t.id + p * n),
        price: t.price,
        amount: t.size,
        side: t.side > 0 ? 'buy' : 'sell',
        timestamp: new Date(t.ts + p * tsStep),
        localTimestamp: local,
      });
    }
  }
  return out;
}

/** Measure addTrade with 1 and 6 timeframes, into a null sink and into shared-memory BarSeries; tardis-dev's computables alongside. */
export function aggregatorBench(): Row[] {
  const trades = tapeTrades();
  const peerTrades = tardisTrades(trades);
  const aggregators: BarAggregator[] = [];
  let peerBars = 0;
  const addTrade = (id: string, label: string, timeframes: string[], sink: BarSink, peer?: string): Case => {
    const agg = new BarAggregator(timeframes, sink);
    aggregators.push(agg);
    const replay = new TradeReplay(trades);
    return { id, peer, name: `aggregator addTrade, ${label}`, unit: 'trade', batch: BATCH, fn: () => replay.feed(agg, BATCH) };
  };
  const tardis = (id: string, timeframes: string[]): Case => {
    const factories = timeframes.map((tf) => computeTradeBars({ kind: 'time', interval: parseTimeframe(tf).ms }));
    let computables: Computable<TradeBar>[] = factories.map((f) => f());
    let i = 0;
    return {
      id,
      name: `tardis-dev computeTradeBars, ${timeframes.length} timeframe${timeframes.length > 1 ? 's' : ''}`,
      unit: 'trade',
      batch: BATCH,
      fn: () => {
        for (let k = 0; k < BATCH; k++) {
          if (i === peerTrades.length) {
            i = 0; // time would run backwards: start over with fresh bars
            computables = factories.map((f) => f());
          }
          const trade = peerTrades[i++]!;
          for (const c of computables) for (const _bar of c.compute(trade)) peerBars++;
        }
      },
    };
  };
  const seriesSink = (n: number) => new SeriesSink(Array.from({ length: n }, () => new BarSeries(BarSeries.allocate(SERIES_CAPACITY))));
  const rows = runCases('aggregator', [
    addTrade('aggregator.1tf', '1 timeframe, null sink', ONE, new NullSink(), 'aggregator.1tf_tardis'),
    addTrade('aggregator.6tf', '6 timeframes, null sink', SIX, new NullSink(), 'aggregator.6tf_tardis'),
    addTrade('aggregator.1tf_series', '1 timeframe, SeriesSink', ONE, seriesSink(ONE.length)),
    addTrade('aggregator.6tf_series', '6 timeframes, SeriesSink', SIX, seriesSink(SIX.length)),
    tardis('aggregator.1tf_tardis', ONE),
    tardis('aggregator.6tf_tardis', SIX),
  ]);
  // The replay is meant to take every trade on the normal path: check it did (not a timing check).
  for (const agg of aggregators) {
    if (agg.duplicatesDropped + agg.lateAmended + agg.lateDropped !== 0) throw new Error('aggregator bench: replay produced duplicate or late trades');
  }
  if (peerBars === 0) throw new Error('aggregator bench: the tardis-dev computables produced no bar');
  return rows;
}

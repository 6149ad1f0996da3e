/**
 * BarAggregator.addTrade fed the recorded BTCUSDT trades (see trades.ts), in
 * batches of 1024 trades per timed call, default options (fillEmpty on).
 *  - null sink: the aggregator alone (bucketing, dedup, OHLCV, compensated sums).
 *  - worker sink: plus what an exchange worker does with every bar, through
 *    its BufferWriter: forming bars into their shared-memory BarSeries (dirty
 *    flag set), closes into the series and the bar-event ring (flushed and
 *    drained after each call, outside the timed window, as the main thread would).
 *  - peer: tardis-dev's trade-bar computable (`computeTradeBars`, one per
 *    timeframe) fed the same trades as the normalized `Trade` objects its
 *    mappers produce (built beforehand, not timed), every yielded bar consumed.
 */
import { computeTradeBars, type Computable, type Trade, type TradeBar } from 'tardis-dev';
import { BarAggregator, type BarSink } from '../src/bars/aggregator.ts';
import { BarSeries } from '../src/buffers/bar-store.ts';
import { Doorbell } from '../src/buffers/doorbell.ts';
import { TickRing, type RecordVisitor } from '../src/buffers/tick-ring.ts';
import { BufferWriter } from '../src/feed/buffer-writer.ts';
import { allocateBarEventRing, openBarEventRing } from '../src/feed/protocol.ts';
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

const SKIP_RECORD: RecordVisitor = { onRecord() {} };

/**
 * The exchange worker's bar sink for one symbol of `timeframes` series, over
 * fresh shared memory; `settle` publishes and drains its bar events (run
 * between timed calls, standing in for the main thread).
 */
function workerSink(timeframes: number): { sink: BarSink; settle: () => void } {
  const series = Array.from({ length: timeframes }, () => new BarSeries(BarSeries.allocate(SERIES_CAPACITY)));
  const barEvents = openBarEventRing(allocateBarEventRing(8_192));
  const ticks = new TickRing(TickRing.allocate(2)); // unused: bars only
  const dirty = new Int32Array(new SharedArrayBuffer(4 * timeframes));
  const writer = new BufferWriter(1, ticks, series, dirty, barEvents, new Doorbell(Doorbell.allocate()));
  return {
    sink: writer.sinkFor(0, timeframes),
    settle: () => {
      writer.flush();
      while (barEvents.read(SKIP_RECORD) > 0);
    },
  };
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

/** Measure addTrade with 1 and 6 timeframes, into a null sink and into the worker's sink (shared memory); tardis-dev's computables alongside. */
export function aggregatorBench(): Row[] {
  const trades = tapeTrades();
  const peerTrades = tardisTrades(trades);
  const aggregators: BarAggregator[] = [];
  let peerBars = 0;
  const addTrade = (id: string, label: string, timeframes: string[], sink: BarSink, peer?: string, afterEach?: () => void): Case => {
    const agg = new BarAggregator(timeframes, sink);
    aggregators.push(agg);
    const replay = new TradeReplay(trades);
    const hooks = afterEach === undefined ? undefined : { afterEach };
    return { id, peer, name: `aggregator addTrade, ${label}`, unit: 'trade', batch: BATCH, fn: () => replay.feed(agg, BATCH), hooks };
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
  const one = workerSink(ONE.length);
  const six = workerSink(SIX.length);
  const rows = runCases('aggregator', [
    addTrade('aggregator.1tf', '1 timeframe, null sink', ONE, new NullSink(), 'aggregator.1tf_tardis'),
    addTrade('aggregator.6tf', '6 timeframes, null sink', SIX, new NullSink(), 'aggregator.6tf_tardis'),
    addTrade('aggregator.1tf_series', '1 timeframe, worker sink', ONE, one.sink, undefined, one.settle),
    addTrade('aggregator.6tf_series', '6 timeframes, worker sink', SIX, six.sink, undefined, six.settle),
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

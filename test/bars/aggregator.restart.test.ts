/** What a cold start over stored and backfilled bars asks of the aggregator. */
import { describe, expect, it } from 'vitest';
import { BarAggregator } from '../../src/bars/aggregator.ts';
import type { Bar } from '../../src/model/records.ts';
import { CollectingSink } from '../support/collect.ts';

const T0 = Date.UTC(2024, 0, 1);
const M = 60_000;

function backfilled(openTime: number, close: number): Bar {
  return {
    openTime, closeTime: openTime + M - 1, open: close, high: close, low: close, close, volume: 2, quoteVolume: 2 * close,
    buyVolume: 1, sellVolume: 1, trades: 5, firstTradeId: null, lastTradeId: null, vwap: close, spread: null,
    closed: true, revision: 0, source: 'backfill',
  };
}

describe('cold start', () => {
  it('blindUntil: the bar whose bucket contains the start instant is gapped, later ones are not', () => {
    const sink = new CollectingSink();
    const agg = new BarAggregator(['1m'], sink, { blindUntil: T0 + 30_000 });
    agg.addTrade(T0 + 31_000, 100, 1, 1, 1);
    agg.addTrade(T0 + M + 1, 101, 1, 1, 2);
    agg.addTrade(T0 + 2 * M + 1, 102, 1, 1, 3);
    const [first, second] = sink.closedBars(0);
    expect(first).toMatchObject({ openTime: T0, gapped: true });
    expect(second!.openTime).toBe(T0 + M);
    expect(second!.gapped).toBeUndefined();
  });

  it('blindUntil: trades stamped before the start instant gap only the first bar; the stream after it was watched', () => {
    // Delivered after the start but stamped before it (a venue right after the subscription, the simulated
    // venue catching up after a stall, a replay): nobody saw the first bucket whole, but every trade after
    // the first one arrived in order, so the next buckets are whole.
    const sink = new CollectingSink();
    const agg = new BarAggregator(['1m'], sink, { blindUntil: T0 + M + 30_000 });
    agg.addTrade(T0 + 50_000, 100, 1, 1, 1); // a bucket wholly before the start instant
    agg.addTrade(T0 + M + 40_000, 101, 1, 1, 2); // the bucket containing it
    agg.addTrade(T0 + 2 * M + 1, 102, 1, 1, 3);
    agg.addTrade(T0 + 3 * M + 1, 103, 1, 1, 4);
    expect(sink.closedBars(0).map((b) => [b.openTime - T0, b.gapped])).toEqual([[0, true], [M, undefined], [2 * M, undefined]]);
  });

  it('watchingFrom: a feed that came up after the start instant moves it, so the first bar after the connection is gapped', () => {
    const sink = new CollectingSink();
    const agg = new BarAggregator(['1m'], sink, { blindUntil: T0 + 10_000 }); // the worker started
    agg.watchingFrom(T0 + M + 20_000); // its connection was up only a minute later
    agg.addTrade(T0 + M + 25_000, 100, 1, 1, 1);
    agg.addTrade(T0 + 2 * M + 1, 101, 1, 1, 2);
    agg.addTrade(T0 + 3 * M + 1, 102, 1, 1, 3);
    expect(sink.closedBars(0).map((b) => [b.openTime - T0, b.gapped])).toEqual([[M, true], [2 * M, undefined]]);
  });

  it('a resumed timeframe: the flat bars filled over the blind time are gapped with the first bar', () => {
    const sink = new CollectingSink();
    const agg = new BarAggregator(['1m'], sink, { blindUntil: T0 + M + 10_000 });
    agg.resume(0, [backfilled(T0, 100)]);
    agg.watchingFrom(T0 + 3 * M + 5_000);
    agg.addTrade(T0 + 3 * M + 10_000, 101, 1, 1, 1);
    agg.addTrade(T0 + 4 * M + 1, 102, 1, 1, 2);
    agg.addTrade(T0 + 5 * M + 1, 103, 1, 1, 3);
    expect(sink.closedBars(0).map((b) => [b.openTime - T0, b.trades, b.gapped])).toEqual([
      [M, 0, true], [2 * M, 0, true], [3 * M, 1, true], [4 * M, 1, undefined],
    ]);
  });

  it('without blindUntil (a restart continuing its bars) watchingFrom changes nothing', () => {
    const sink = new CollectingSink();
    const agg = new BarAggregator(['1m'], sink);
    agg.watchingFrom(T0 + M);
    agg.addTrade(T0 + 30_000, 100, 1, 1, 1);
    agg.addTrade(T0 + M + 1, 101, 1, 1, 2);
    expect(sink.closedBars(0)[0]!.gapped).toBeUndefined();
  });

  it('a late trade for a backfilled bar is dropped: the kline, fetched after the bucket closed, already counts it', () => {
    const sink = new CollectingSink();
    const agg = new BarAggregator(['1m'], sink, { lateToleranceMs: 120_000 });
    agg.resume(0, [backfilled(T0, 100)]);
    agg.addTrade(T0 + M + 10, 105, 1, 1, 10);
    agg.addTrade(T0 + 50_000, 99, 1, 1, 11); // late, for the backfilled bucket
    expect(agg.lateDropped).toBe(1);
    expect(sink.closedBars(0)).toEqual([]);
    // A late trade for a live bar still amends it.
    agg.addTrade(T0 + 2 * M + 10, 106, 1, 1, 12);
    agg.addTrade(T0 + M + 20, 104, 1, 1, 13);
    expect(sink.closedBars(0).at(-1)).toMatchObject({ openTime: T0 + M, trades: 2, revision: 1 });
  });
});

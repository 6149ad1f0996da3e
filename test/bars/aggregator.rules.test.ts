/** One suite per rule of "Bar semantics" (ARCHITECTURE.md), edge cases included. */
import { describe, expect, it } from 'vitest';
import { BarAggregator, BarEvent, type AggregatorOptions } from '../../src/bars/aggregator.ts';
import { CollectingSink } from '../support/collect.ts';

/** 2024-01-01T00:00:00Z, a Monday. */
const T0 = Date.UTC(2024, 0, 1);
const S = 1_000;
const M = 60_000;

function setup(timeframes: string[], options: AggregatorOptions = {}) {
  const sink = new CollectingSink();
  const agg = new BarAggregator(timeframes, sink, options);
  let nextId = 1;
  /** Trade at exchange time `ts`; ids count up unless given. */
  const trade = (ts: number, price: number, size = 1, side = 1, id = nextId++) => agg.addTrade(ts, price, size, side, id);
  return { sink, agg, trade };
}

describe('rule 1: buckets by exchange time, aligned to UTC', () => {
  it('a trade exactly on a bucket edge opens the next bar; one ms before stays in the previous', () => {
    const { sink, trade } = setup(['1m']);
    trade(T0 + M - 1, 100);
    trade(T0 + M, 101);
    const [first] = sink.closedBars(0);
    expect(first).toMatchObject({ openTime: T0, closeTime: T0 + M - 1, open: 100, close: 100, trades: 1, closed: true });
    expect(sink.formingBars[0]).toMatchObject({ openTime: T0 + M, closeTime: T0 + 2 * M - 1, open: 101, trades: 1, closed: false });
  });

  it('keys bars by aligned open time whatever the first trade time', () => {
    const { sink, trade } = setup(['1s', '15s', '1m', '3m', '1h', '4h', '1d']);
    trade(T0 + 5 * 3600_000 + 7 * M + 31_337, 50);
    expect(sink.formingBars.map((b) => b!.openTime)).toEqual([
      T0 + 5 * 3600_000 + 7 * M + 31_000,
      T0 + 5 * 3600_000 + 7 * M + 30_000,
      T0 + 5 * 3600_000 + 7 * M,
      T0 + 5 * 3600_000 + 6 * M,
      T0 + 5 * 3600_000,
      T0 + 4 * 3600_000,
      T0,
    ]);
  });

  it('weeks start Monday 00:00 UTC', () => {
    const { sink, trade } = setup(['1w', 'W1']);
    trade(T0 + 7 * 86_400_000 - 1, 10); // Sunday 23:59:59.999
    expect(sink.formingBars[0]!.openTime).toBe(T0);
    expect(sink.formingBars[1]!.openTime).toBe(T0);
    trade(T0 + 7 * 86_400_000, 11); // Monday
    expect(sink.closedBars(0)[0]!.openTime).toBe(T0);
    expect(sink.formingBars[0]!.openTime).toBe(T0 + 7 * 86_400_000);
  });

  it('buckets by the exchange timestamp, not by arrival', () => {
    const { sink, agg, trade } = setup(['1m']);
    agg.clockOffsetMs = 0;
    trade(T0 + 10 * S, 100);
    agg.advance(T0 + 30 * S); // the local clock does not move trades between buckets
    trade(T0 + 20 * S, 101);
    expect(sink.formingBars[0]).toMatchObject({ openTime: T0, trades: 2 });
  });
});

describe('rule 2: a bar closes on the next bar\'s trade or on the clock', () => {
  it('closes when a trade at or past its end arrives, before the next bar forms', () => {
    const { sink, trade } = setup(['1m']);
    trade(T0 + 1, 100);
    trade(T0 + M, 101);
    expect(sink.events.map((e) => [e.event, e.bar.openTime])).toEqual([
      [BarEvent.FORMING, T0],
      [BarEvent.CLOSED, T0],
      [BarEvent.FORMING, T0 + M],
    ]);
  });

  it('closes on the clock at end + grace with no further trade', () => {
    const { sink, agg, trade } = setup(['1m'], { graceMs: 250, fillEmpty: false });
    trade(T0 + 30 * S, 100);
    agg.advance(T0 + M + 249);
    expect(sink.eventsOf(BarEvent.CLOSED)).toHaveLength(0);
    agg.advance(T0 + M + 250);
    expect(sink.eventsOf(BarEvent.CLOSED).map((e) => e.bar)).toEqual([
      expect.objectContaining({ openTime: T0, open: 100, close: 100, trades: 1, closed: true, revision: 0 }),
    ]);
    agg.advance(T0 + 5 * M); // nothing more to close without fillEmpty
    expect(sink.eventsOf(BarEvent.CLOSED)).toHaveLength(1);
  });

  it('uses the measured exchange clock offset: exchange time = local + offset', () => {
    const { sink, agg, trade } = setup(['1m'], { graceMs: 250 });
    agg.clockOffsetMs = -2_000; // the local clock runs 2 s ahead of the exchange
    trade(T0 + 30 * S, 100);
    agg.advance(T0 + M + 2_249);
    expect(sink.eventsOf(BarEvent.CLOSED)).toHaveLength(0);
    agg.advance(T0 + M + 2_250);
    expect(sink.eventsOf(BarEvent.CLOSED)).toHaveLength(1);
  });

  it('closes every timeframe on its own schedule', () => {
    const { sink, agg, trade } = setup(['1s', '1m'], { fillEmpty: false });
    trade(T0 + 100, 100);
    agg.advance(T0 + S + 250);
    expect(sink.eventsOf(BarEvent.CLOSED).map((e) => e.tf)).toEqual([0]);
    agg.advance(T0 + M + 250);
    expect(sink.eventsOf(BarEvent.CLOSED).map((e) => e.tf)).toEqual([0, 1]);
  });
});

describe('rule 3: silent intervals yield flat bars', () => {
  it('fills the buckets between two trades with flat bars at the previous close', () => {
    const { sink, trade } = setup(['1s']);
    trade(T0 + 1_100, 100);
    trade(T0 + 1_900, 102);
    trade(T0 + 5_500, 99);
    const bars = sink.closedBars(0);
    expect(bars.map((b) => b.openTime)).toEqual([T0 + 1_000, T0 + 2_000, T0 + 3_000, T0 + 4_000]);
    for (const flat of bars.slice(1)) {
      expect(flat).toEqual({
        openTime: flat.openTime, closeTime: flat.openTime + 999,
        open: 102, high: 102, low: 102, close: 102,
        volume: 0, quoteVolume: 0, buyVolume: 0, sellVolume: 0, trades: 0,
        firstTradeId: null, lastTradeId: null, vwap: null, spread: null, closed: true, revision: 0,
      });
    }
    expect(sink.formingBars[0]).toMatchObject({ openTime: T0 + 5_000, open: 99, trades: 1 });
  });

  it('emits no flat bars when fillEmpty is off', () => {
    const { sink, trade } = setup(['1s'], { fillEmpty: false });
    trade(T0 + 1_100, 100);
    trade(T0 + 5_500, 99);
    expect(sink.closedBars(0).map((b) => b.openTime)).toEqual([T0 + 1_000]);
  });

  it('a quiet market closes flat bars on time, one per interval', () => {
    const { sink, agg, trade } = setup(['1s'], { graceMs: 250 });
    trade(T0 + 200, 100);
    for (let t = T0; t <= T0 + 4_300; t += 100) agg.advance(t);
    expect(sink.eventsOf(BarEvent.CLOSED).map((e) => [e.bar.openTime - T0, e.bar.trades, e.bar.close])).toEqual([
      [0, 1, 100],
      [1_000, 0, 100],
      [2_000, 0, 100],
      [3_000, 0, 100],
    ]);
    expect(sink.formingBars[0]).toMatchObject({ openTime: T0 + 4_000, trades: 0, open: 100, closed: false });
  });

  it('a quiet interval before and after a burst', () => {
    const { sink, agg, trade } = setup(['1s', '5s'], { graceMs: 0 });
    trade(T0, 100); // opens the series
    agg.advance(T0 + 3_000); // quiet: flats at 1s, 2s
    for (let i = 0; i < 50; i++) trade(T0 + 3_000 + i * 20, 100 + (i % 7), 0.5, i % 2 === 0 ? 1 : -1); // burst in 3s
    agg.advance(T0 + 8_000); // quiet again
    const ones = sink.closedBars(0);
    expect(ones.map((b) => [b.openTime - T0, b.trades])).toEqual([
      [0, 1], [1_000, 0], [2_000, 0], [3_000, 50], [4_000, 0], [5_000, 0], [6_000, 0], [7_000, 0],
    ]);
    const burst = ones[3]!;
    expect(burst).toMatchObject({ open: 100, high: 106, low: 100, close: 100 + (49 % 7), volume: 25, buyVolume: 12.5, sellVolume: 12.5 });
    expect(ones[4]).toMatchObject({ open: burst.close, close: burst.close, volume: 0 });
    const fives = sink.closedBars(1);
    expect(fives.map((b) => [b.openTime - T0, b.trades, b.volume])).toEqual([[0, 51, 26]]);
    expect(sink.formingBars[1]).toMatchObject({ openTime: T0 + 5_000, trades: 0, open: burst.close });
  });

  it('caps the flat bars of one long silence at maxFillBars', () => {
    const { sink, trade } = setup(['1s'], { maxFillBars: 10 });
    trade(T0, 100);
    trade(T0 + 3_600_000, 101);
    const bars = sink.closedBars(0);
    expect(bars).toHaveLength(11); // the traded bar + the 10 newest flats
    expect(bars[1]!.openTime).toBe(T0 + 3_600_000 - 10_000);
  });
});

describe('rule 4: open/close by exchange-time order; late trades', () => {
  it('open and close follow exchange time, not arrival order', () => {
    const { sink, trade } = setup(['1m']);
    trade(T0 + 30 * S, 100);
    trade(T0 + 10 * S, 90); // arrives later, happened earlier: the new open
    trade(T0 + 50 * S, 110);
    trade(T0 + 40 * S, 105); // not the close
    expect(sink.formingBars[0]).toMatchObject({ open: 90, high: 110, low: 90, close: 110, trades: 4 });
  });

  it('equal timestamps: the trade id breaks the tie', () => {
    const { sink, trade } = setup(['1m']);
    trade(T0 + 5 * S, 101, 1, 1, 12);
    trade(T0 + 5 * S, 100, 1, 1, 11);
    trade(T0 + 5 * S, 102, 1, 1, 13);
    trade(T0 + 5 * S, 99, 1, 1, 10);
    expect(sink.formingBars[0]).toMatchObject({ open: 99, close: 102, firstTradeId: 10, lastTradeId: 13 });
  });

  it('equal timestamps without trade ids: arrival order', () => {
    const { sink, agg } = setup(['1m']);
    agg.addTrade(T0 + 5 * S, 100, 1, 1, NaN);
    agg.addTrade(T0 + 5 * S, 101, 1, 1, NaN);
    agg.addTrade(T0 + 5 * S, 102, 1, 1, NaN);
    expect(sink.formingBars[0]).toMatchObject({ open: 100, close: 102, trades: 3, firstTradeId: null });
  });

  it('a late trade within tolerance amends its closed bar with revision + 1', () => {
    const { sink, agg, trade } = setup(['1m'], { lateToleranceMs: 5_000 });
    trade(T0 + 50 * S, 100, 1, 1, 1);
    trade(T0 + M + 1 * S, 101, 1, 1, 3);
    trade(T0 + 59 * S, 95, 2, -1, 2); // 2 s older than the newest trade: late, within tolerance
    const amended = sink.eventsOf(BarEvent.AMENDED);
    expect(amended).toHaveLength(1);
    expect(amended[0]!.bar).toMatchObject({
      openTime: T0, open: 100, high: 100, low: 95, close: 95, volume: 3, sellVolume: 2, buyVolume: 1,
      trades: 2, lastTradeId: 2, closed: true, revision: 1,
    });
    expect(agg.lateAmended).toBe(1);
    expect(sink.formingBars[0]).toMatchObject({ openTime: T0 + M, trades: 1 }); // untouched
    trade(T0 + 58 * S, 96, 1, 1, 4);
    expect(sink.closedBars(0)[0]).toMatchObject({ revision: 2, trades: 3, close: 95 });
  });

  it('a late trade beyond tolerance is dropped and counted, never merged into a wrong bar', () => {
    const { sink, agg, trade } = setup(['1m'], { lateToleranceMs: 5_000 });
    trade(T0 + 50 * S, 100);
    trade(T0 + M + 10 * S, 101);
    const before = sink.events.length;
    trade(T0 + 55 * S - 1, 90); // 15.001 s older than the newest
    expect(sink.events.length).toBe(before);
    expect(agg.lateDropped).toBe(1);
    expect(sink.closedBars(0)[0]).toMatchObject({ trades: 1, low: 100, revision: 0 });
    expect(sink.formingBars[0]).toMatchObject({ trades: 1, low: 101 });
  });

  it('the tolerance edge: exactly lateToleranceMs older still amends', () => {
    const { agg, trade } = setup(['1m'], { lateToleranceMs: 5_000 });
    trade(T0 + 50 * S, 100);
    trade(T0 + M + 4 * S, 101);
    trade(T0 + 59 * S, 99); // exactly 5 s older
    expect([agg.lateAmended, agg.lateDropped]).toEqual([1, 0]);
  });

  it('a trade in the forming bar is always taken, however old relative to the newest', () => {
    const { sink, agg, trade } = setup(['1h'], { lateToleranceMs: 1_000 });
    trade(T0 + 50 * M, 100);
    trade(T0 + 1 * M, 90); // 49 minutes older, same forming hour
    expect(agg.lateDropped).toBe(0);
    expect(sink.formingBars[0]).toMatchObject({ open: 90, trades: 2 });
  });

  it('lateness is judged per timeframe: too late for a closed 1s bar, still taken by the forming 1m bar', () => {
    const { sink, agg, trade } = setup(['1s', '1m'], { lateToleranceMs: 2_000 });
    trade(T0 + 1_000, 100);
    trade(T0 + 10_000, 101);
    trade(T0 + 1_500, 99); // 8.5 s old: dropped for 1s, forming for 1m
    expect(agg.lateDropped).toBe(1);
    expect(sink.closedBars(0)[0]).toMatchObject({ openTime: T0 + 1_000, trades: 1 });
    expect(sink.formingBars[1]).toMatchObject({ openTime: T0, trades: 3, low: 99 });
  });

  it('a late trade landing in a flat bar makes it a real bar and carries its close forward', () => {
    const { sink, trade } = setup(['1s'], { lateToleranceMs: 5_000 });
    trade(T0 + 500, 100); // bar 0
    trade(T0 + 4_100, 105); // flats at 1, 2, 3; forming 4
    trade(T0 + 2_300, 90); // lands in flat bar 2
    const amended = sink.eventsOf(BarEvent.AMENDED).map((e) => e.bar);
    expect(amended.map((b) => [b.openTime - T0, b.open, b.close, b.trades, b.revision])).toEqual([
      [2_000, 90, 90, 1, 1], // the flat bar became a real one
      [3_000, 90, 90, 0, 1], // the flat after it follows the new close
    ]);
    expect(sink.closedBars(0).map((b) => b.close)).toEqual([100, 100, 90, 90]);
    expect(sink.formingBars[0]).toMatchObject({ openTime: T0 + 4_000, open: 105 }); // a real bar keeps its own open
  });

  it('a late trade that changes a close re-publishes a flat forming bar too', () => {
    const { sink, agg, trade } = setup(['1s'], { lateToleranceMs: 5_000, graceMs: 0 });
    trade(T0 + 500, 100);
    agg.advance(T0 + 1_000); // bar 0 closed by the clock, flat bar 1 forming at 100
    trade(T0 + 900, 103); // late for bar 0, and its new close
    expect(sink.closedBars(0)[0]).toMatchObject({ close: 103, revision: 1 });
    expect(sink.formingBars[0]).toMatchObject({ openTime: T0 + 1_000, open: 103, close: 103, trades: 0 });
  });

  it('a late trade before the first bar creates that bar and the flats up to the next one', () => {
    const { sink, trade } = setup(['1s'], { lateToleranceMs: 5_000 });
    trade(T0 + 3_500, 100);
    trade(T0 + 1_200, 98); // before anything was seen
    expect(sink.closedBars(0).map((b) => [b.openTime - T0, b.close, b.trades, b.revision])).toEqual([
      [1_000, 98, 1, 0],
      [2_000, 98, 0, 0],
    ]);
  });

  it('without fillEmpty, a late trade in an empty bucket creates just that bar', () => {
    const { sink, trade } = setup(['1s'], { fillEmpty: false, lateToleranceMs: 5_000 });
    trade(T0 + 500, 100);
    trade(T0 + 4_500, 104);
    trade(T0 + 2_500, 102);
    expect(sink.closedBars(0).map((b) => [b.openTime - T0, b.close, b.trades])).toEqual([
      [0, 100, 1],
      [2_000, 102, 1],
    ]);
  });
});

describe('rule 5: duplicate trades are dropped', () => {
  it('drops a re-sent trade id (reconnect overlap) and counts it', () => {
    const { sink, agg, trade } = setup(['1m']);
    trade(T0 + 1_000, 100, 1, 1, 7);
    trade(T0 + 2_000, 101, 2, 1, 8);
    trade(T0 + 1_000, 100, 1, 1, 7);
    trade(T0 + 2_000, 101, 2, 1, 8);
    expect(agg.duplicatesDropped).toBe(2);
    expect(sink.formingBars[0]).toMatchObject({ trades: 2, volume: 3 });
  });

  it('drops a duplicate of a late trade that already amended a bar', () => {
    const { sink, agg, trade } = setup(['1m']);
    trade(T0 + 59_000, 100, 1, 1, 1);
    trade(T0 + M + 1_000, 101, 1, 1, 3);
    trade(T0 + 59_500, 99, 1, 1, 2);
    trade(T0 + 59_500, 99, 1, 1, 2);
    expect(agg.duplicatesDropped).toBe(1);
    expect(sink.closedBars(0)[0]).toMatchObject({ trades: 2, revision: 1 });
  });

  it('never de-duplicates trades without an id', () => {
    const { sink, agg } = setup(['1m']);
    agg.addTrade(T0, 100, 1, 1, NaN);
    agg.addTrade(T0, 100, 1, 1, NaN);
    expect(agg.duplicatesDropped).toBe(0);
    expect(sink.formingBars[0]!.trades).toBe(2);
  });
});

describe('derived fields', () => {
  it('fills vwap, buy/sell volume and quote volume', () => {
    const { sink, trade } = setup(['1m']);
    trade(T0, 100, 1, 1);
    trade(T0 + 1, 110, 3, -1);
    trade(T0 + 2, 120, 1, 0); // unknown side counts in volume only
    expect(sink.formingBars[0]).toMatchObject({ volume: 5, quoteVolume: 550, buyVolume: 1, sellVolume: 3, vwap: 110 });
  });

  it('spread is the mean of ask − bid over the quotes in the bar, quotes before its first trade included', () => {
    const { sink, agg, trade } = setup(['1s']);
    agg.addQuote(T0 + 100, 99, 101); // before any trade in this bucket: 2
    trade(T0 + 200, 100);
    agg.addQuote(T0 + 300, 99.5, 100.5); // 1
    agg.addQuote(T0 + 400, 99, 102); // 3
    trade(T0 + 1_100, 100);
    expect(sink.closedBars(0)[0]!.spread).toBe(2);
    agg.addQuote(T0 + 1_500, 99, 100);
    trade(T0 + 3_100, 100); // bar 1 closes with one quote; bar 2 is flat with none
    expect(sink.closedBars(0).map((b) => b.spread)).toEqual([2, 1, null]);
  });
});

describe('outages that could not be filled', () => {
  it('markGap flags the amendable bars overlapping the outage (closed ones re-published) and the forming bar', () => {
    const { sink, agg, trade } = setup(['1s'], { lateToleranceMs: 5_000, graceMs: 0 });
    trade(T0 + 500, 100);
    agg.advance(T0 + 4_000); // flats 1..3 closed on the clock, 4 forming
    agg.markGap(T0 + 1_500, T0 + 4_200);
    const amended = sink.eventsOf(BarEvent.AMENDED).map((e) => e.bar);
    expect(amended.map((b) => [b.openTime - T0, b.gapped, b.revision])).toEqual([
      [1_000, true, 1],
      [2_000, true, 1],
      [3_000, true, 1],
    ]);
    expect(sink.closedBars(0)[0]!.gapped).toBeUndefined(); // bar 0 ended before the outage
    expect(sink.formingBars[0]).toMatchObject({ openTime: T0 + 4_000, gapped: true });
    trade(T0 + 4_600, 101);
    expect(sink.formingBars[0]).toMatchObject({ trades: 1, gapped: true }); // the mark stays with the bar
    agg.markGap(T0 + 1_500, T0 + 4_200);
    expect(sink.eventsOf(BarEvent.AMENDED)).toHaveLength(3); // marking twice changes nothing
  });
});

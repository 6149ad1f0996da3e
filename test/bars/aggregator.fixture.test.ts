/**
 * Replays the 9,757 real Binance BTCUSDT trades (2024-08-08 23:54:15Z –
 * 2024-08-09 00:00:01Z) and checks the bars field for field.
 */
import { describe, expect, it } from 'vitest';
import { BarAggregator, BarEvent } from '../../src/bars/aggregator.ts';
import type { Bar } from '../../src/model/records.ts';
import { binanceDerived1mBars, binanceLongTrades } from '../support/fixtures.ts';
import { CollectingSink } from '../support/collect.ts';

const trades = binanceLongTrades();
const derived = binanceDerived1mBars();

function replay(timeframes: string[]): CollectingSink {
  const sink = new CollectingSink();
  const agg = new BarAggregator(timeframes, sink);
  for (const t of trades) agg.addTrade(t.ts, t.price, t.size, t.side, t.id);
  return sink;
}

/** Merge consecutive bars of a shorter timeframe into one (all must have trades). */
function merge(bars: Bar[]): Omit<Bar, 'openTime' | 'closeTime' | 'closed' | 'revision' | 'spread' | 'vwap'> {
  return {
    open: bars[0]!.open,
    high: Math.max(...bars.map((b) => b.high)),
    low: Math.min(...bars.map((b) => b.low)),
    close: bars.at(-1)!.close,
    volume: bars.reduce((s, b) => s + b.volume, 0),
    quoteVolume: bars.reduce((s, b) => s + b.quoteVolume, 0),
    buyVolume: bars.reduce((s, b) => s + b.buyVolume, 0),
    sellVolume: bars.reduce((s, b) => s + b.sellVolume, 0),
    trades: bars.reduce((s, b) => s + b.trades, 0),
    firstTradeId: bars[0]!.firstTradeId,
    lastTradeId: bars.at(-1)!.lastTradeId,
  };
}

describe('aggregator on real Binance trades', () => {
  it('loads the whole recording', () => {
    expect(trades).toHaveLength(9757);
    expect(derived.filter((b) => b.complete)).toHaveLength(5);
  });

  it('1m bars equal the derived klines field for field, for every complete minute', () => {
    const sink = replay(['1m']);
    const closed = sink.closedBars(0);
    for (const want of derived.filter((b) => b.complete)) {
      const got = closed.find((b) => b.openTime === want.openTime);
      expect(got, `bar ${want.openTime}`).toBeDefined();
      expect(got).toEqual({
        openTime: want.openTime,
        closeTime: want.closeTime,
        open: want.open,
        high: want.high,
        low: want.low,
        close: want.close,
        volume: want.volume,
        quoteVolume: want.quoteVolume,
        buyVolume: want.buyVolume,
        sellVolume: expect.any(Number),
        trades: want.trades,
        firstTradeId: want.firstTradeId,
        lastTradeId: want.lastTradeId,
        vwap: want.quoteVolume / want.volume,
        spread: null,
        closed: true,
        revision: 0,
      });
      // Every trade has a side in this recording, so sell volume is the rest, to the exchange's 8 decimals.
      expect(got!.sellVolume.toFixed(8)).toBe((want.volume - want.buyVolume).toFixed(8));
    }
  });

  it('the partial first and last minutes match too (the last one still forming)', () => {
    const sink = replay(['1m']);
    const first = derived[0]!;
    const last = derived.at(-1)!;
    const firstBar = sink.closedBars(0)[0]!;
    expect([firstBar.openTime, firstBar.open, firstBar.close, firstBar.volume, firstBar.trades]).toEqual([
      first.openTime, first.open, first.close, first.volume, first.trades,
    ]);
    const forming = sink.formingBars[0]!;
    expect(forming.closed).toBe(false);
    expect([forming.openTime, forming.open, forming.high, forming.low, forming.close, forming.volume, forming.trades]).toEqual([
      last.openTime, last.open, last.high, last.low, last.close, last.volume, last.trades,
    ]);
  });

  it('5m bars equal the merge of their 1m bars', () => {
    const sink = replay(['1m', '5m']);
    const oneMinute = [...sink.closedBars(0), sink.formingBars[0]!];
    const fiveMinute = [...sink.closedBars(1), sink.formingBars[1]!];
    expect(fiveMinute.map((b) => b.openTime)).toEqual([1723161000000, 1723161300000, 1723161600000]);
    for (const bar of fiveMinute) {
      const parts = oneMinute.filter((b) => b.openTime >= bar.openTime && b.openTime < bar.openTime + 300_000);
      const merged = merge(parts);
      expect(bar.open).toBe(merged.open);
      expect(bar.high).toBe(merged.high);
      expect(bar.low).toBe(merged.low);
      expect(bar.close).toBe(merged.close);
      expect(bar.trades).toBe(merged.trades);
      expect(bar.firstTradeId).toBe(merged.firstTradeId);
      expect(bar.lastTradeId).toBe(merged.lastTradeId);
      // Sums of different groupings agree to the exchange's 8 decimals.
      for (const k of ['volume', 'quoteVolume', 'buyVolume', 'sellVolume'] as const) {
        expect(bar[k].toFixed(8), `${k} of ${bar.openTime}`).toBe(merged[k].toFixed(8));
      }
    }
    // The complete 5m bar 23:55–00:00 against the derived 1m bars directly.
    const full = fiveMinute[1]!;
    const parts = derived.filter((b) => b.complete);
    expect(full.trades).toBe(parts.reduce((s, b) => s + b.trades, 0));
    expect(full.volume).toBe(Number(parts.reduce((s, b) => s + b.volume, 0).toFixed(8)));
  });

  it('publishes each 1m bar closed exactly once, and never amends in an in-order stream', () => {
    const sink = replay(['1m']);
    expect(sink.eventsOf(BarEvent.CLOSED).map((e) => e.bar.openTime)).toEqual(derived.slice(0, -1).map((b) => b.openTime));
    expect(sink.eventsOf(BarEvent.AMENDED)).toHaveLength(0);
  });
});

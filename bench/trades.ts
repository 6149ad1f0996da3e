/**
 * Replays the 9,757 recorded BTCUSDT trades (long_trades.jsonl, ~346 s of
 * Binance spot) as an endless feed. Each pass shifts exchange time by the
 * recording's span rounded up to a whole second, and trade ids by the id
 * span, so the aggregator sees a continuous market: no duplicates, no late
 * trades, 1s buckets aligned as recorded, at most ~1 s of silence per wrap.
 */
import type { BarAggregator } from '../src/bars/aggregator.ts';
import type { FixtureTrade } from '../test/support/fixtures.ts';

/** An endless, time-continuous replay of the recorded trades (columns, no objects on the hot path). */
export class TradeReplay {
  readonly length: number;
  private readonly ts: Float64Array;
  private readonly price: Float64Array;
  private readonly size: Float64Array;
  private readonly side: Float64Array;
  private readonly id: Float64Array;
  private readonly tsStep: number;
  private readonly idStep: number;
  private cursor = 0;
  private tsShift = 0;
  private idShift = 0;

  /** `trades`: the recording, in order (`binanceLongTrades()`). */
  constructor(trades: readonly FixtureTrade[]) {
    const n = (this.length = trades.length);
    this.ts = Float64Array.from(trades, (t) => t.ts);
    this.price = Float64Array.from(trades, (t) => t.price);
    this.size = Float64Array.from(trades, (t) => t.size);
    this.side = Float64Array.from(trades, (t) => t.side);
    this.id = Float64Array.from(trades, (t) => t.id);
    this.tsStep = Math.ceil((this.ts[n - 1]! - this.ts[0]! + 1) / 1000) * 1000;
    this.idStep = this.id[n - 1]! - this.id[0]! + 1;
  }

  /** Hand the next `count` trades to `agg.addTrade`, wrapping around the recording. */
  feed(agg: BarAggregator, count: number): void {
    const { ts, price, size, side, id, length } = this;
    let i = this.cursor;
    let tsShift = this.tsShift;
    let idShift = this.idShift;
    for (let k = 0; k < count; k++) {
      if (i === length) {
        i = 0;
        tsShift += this.tsStep;
        idShift += this.idStep;
      }
      agg.addTrade(ts[i]! + tsShift, price[i]!, size[i]!, side[i]!, id[i]! + idShift);
      i++;
    }
    this.cursor = i;
    this.tsShift = tsShift;
    this.idShift = idShift;
  }
}

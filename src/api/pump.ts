/**
 * The pump: on every doorbell wake the main thread drains what the exchange
 * workers wrote and turns it into events — trades and quotes from the tick
 * rings, closed and amended bars from the bar-event rings, and forming bars
 * whose dirty flag is set (conflated: at most one update per series per wake,
 * always the latest). It also measures frame receipt → publish latency.
 */
import * as hdr from 'hdr-histogram-js';
import { BarEvent } from '../bars/aggregator.ts';
import type { BarSeries } from '../buffers/bar-store.ts';
import type { RecordVisitor, TickRing } from '../buffers/tick-ring.ts';
import { nowMs } from '../feed/connection.ts';
import { BarEventField } from '../feed/protocol.ts';
import { readBar, TickField, TickKind } from '../model/records.ts';
import type { TimeframeName } from '../model/timeframes.ts';
import type { BarUpdate, QuoteEvent, SideName, TradeEvent } from './types.ts';

/** Where the pump delivers; each is called only when someone listens. */
export interface PumpOutput {
  trade(event: TradeEvent): void;
  quote(event: QuoteEvent): void;
  bar(update: BarUpdate, closed: boolean): void;
}

/** The main thread's view of one exchange's buffers. */
export interface PumpSource {
  exchange: string;
  symbols: readonly string[];
  timeframes: readonly TimeframeName[];
  ticks: TickRing;
  barEvents: TickRing;
  dirty: Int32Array;
  series: readonly BarSeries[];
}

const SIDES: readonly SideName[] = ['sell', 'unknown', 'buy'];

export function newLatencyHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
}

/** Drains one exchange's buffers into events. */
export class ExchangePump {
  /** Frame receipt → publish, µs. */
  readonly receiveToPublish = newLatencyHistogram();
  private readonly src: PumpSource;
  private readonly out: PumpOutput;
  private readonly tickVisitor: RecordVisitor;
  private readonly barVisitor: RecordVisitor;

  constructor(src: PumpSource, out: PumpOutput) {
    this.src = src;
    this.out = out;
    this.tickVisitor = { onRecord: (buf, off) => this.onTick(buf, off) };
    this.barVisitor = { onRecord: (buf, off) => this.onBarEvent(buf, off) };
  }

  /** Take everything available now. */
  drain(): void {
    const { ticks, barEvents, dirty, series } = this.src;
    while (ticks.read(this.tickVisitor) > 0);
    while (barEvents.read(this.barVisitor) > 0);
    for (let i = 0; i < dirty.length; i++) {
      if (dirty[i] === 0 || Atomics.exchange(dirty, i, 0) === 0) continue;
      const bar = series[i]!.formingBar();
      if (bar !== undefined) this.out.bar(this.update(i, bar), false);
    }
  }

  private onTick(r: Float64Array, off: number): void {
    const symbol = r[off + TickField.SERIES]!;
    const recvTs = r[off + TickField.RECV_TS]!;
    const name = this.src.symbols[symbol]!;
    if (r[off + TickField.KIND] === TickKind.TRADE) {
      const id = r[off + TickField.TRADE_ID]!;
      this.out.trade({
        exchange: this.src.exchange,
        symbol: name,
        tradeId: id === id ? id : null,
        price: r[off + TickField.PRICE]!,
        size: r[off + TickField.SIZE]!,
        side: SIDES[r[off + TickField.SIDE]! + 1]!,
        ts: r[off + TickField.EXCHANGE_TS]!,
        recvTs,
      });
    } else {
      this.out.quote({
        exchange: this.src.exchange,
        symbol: name,
        bidPrice: r[off + TickField.PRICE]!,
        bidSize: r[off + TickField.SIZE]!,
        askPrice: r[off + TickField.ASK_PRICE]!,
        askSize: r[off + TickField.ASK_SIZE]!,
        ts: r[off + TickField.EXCHANGE_TS]!,
        recvTs,
      });
    }
    this.receiveToPublish.recordValue(Math.max(1, Math.round((nowMs() - recvTs) * 1000)));
  }

  private onBarEvent(r: Float64Array, off: number): void {
    const index = r[off + BarEventField.SERIES]!;
    const event = r[off + BarEventField.EVENT]!;
    this.out.bar(this.update(index, readBar(r, off + BarEventField.BAR)), event === BarEvent.CLOSED || event === BarEvent.AMENDED);
  }

  private update(index: number, bar: BarUpdate['bar']): BarUpdate {
    const nTf = this.src.timeframes.length;
    return {
      exchange: this.src.exchange,
      symbol: this.src.symbols[Math.floor(index / nTf)]!,
      timeframe: this.src.timeframes[index % nTf]!,
      bar,
    };
  }
}

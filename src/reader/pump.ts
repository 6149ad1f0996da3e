/**
 * The pump, the main thread's reader of the rings: on every doorbell wake
 * the main thread drains what the exchange workers wrote and turns it into
 * events — trades and quotes from the tick rings, closed and amended bars
 * from the bar-event rings, and forming bars whose dirty flag is set
 * (conflated: at most one update per series per wake, always the latest).
 * It also measures frame receipt → publish latency.
 *
 * Order per series: the worker writes a bar's close into its BarSeries at
 * once but publishes the close event at its next flush, so shared memory can
 * already show the next forming bar while the close is still in flight. The
 * pump holds such a forming bar back (its dirty flag stays set) until the
 * close event has been drained, so subscribers never see bar N+1 forming
 * before bar N closed. It also remembers what it published, so a snapshot can
 * be exactly "everything published so far" and the live stream continues
 * after it with no duplicate.
 */
import * as hdr from 'hdr-histogram-js';
import { BarEvent } from '../bars/aggregator.ts';
import type { BarSeries } from '../buffers/bar-store.ts';
import type { RecordVisitor, TickRing } from '../buffers/tick-ring.ts';
import { BarEventField, symbolOfSeries, timeframeOfSeries, type BarEventRing } from '../feed/protocol.ts';
import { NO_SLOT, type BarVisitor } from '../buffers/bar-store.ts';
import { BAR_FIELDS, BarField, readBar, TickField, TickKind } from '../model/records.ts';
import { nowMs } from '../model/clock.ts';
import type { TimeframeName } from '../model/timeframes.ts';
import type { BarUpdate, QuoteEvent, SideName, TradeEvent } from '../model/events.ts';

/** Where the pump delivers; each is called only when someone listens. */
export interface PumpOutput {
  trade(event: TradeEvent): void;
  quote(event: QuoteEvent): void;
  bar(update: BarUpdate, closed: boolean): void;
}

/**
 * The main thread's view of one exchange's buffers. `symbols` and `series`
 * grow with live additions (the owner appends, then calls `adopt`); `dirty`
 * is sized for every symbol slot from the start.
 */
export interface PumpSource {
  exchange: string;
  symbols: readonly string[];
  timeframes: readonly TimeframeName[];
  ticks: TickRing;
  barEvents: BarEventRing;
  dirty: Int32Array;
  series: readonly BarSeries[];
}

const SIDES: readonly SideName[] = ['sell', 'unknown', 'buy'];
const NEWEST_ONE = { limit: 1 } as const;

/** The largest value a latency histogram tracks, µs (a minute); record larger ones as this. */
export const LATENCY_MAX_US = 60_000_000;

/** A latency histogram in µs, 1 µs to LATENCY_MAX_US, 3 significant digits. */
export function newLatencyHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: LATENCY_MAX_US, numberOfSignificantValueDigits: 3 });
}

/** Drains one exchange's buffers into events. */
export class ExchangePump {
  /** Frame receipt → publish, µs. */
  readonly receiveToPublish = newLatencyHistogram();
  private readonly src: PumpSource;
  private readonly out: PumpOutput;
  private readonly tickVisitor: RecordVisitor;
  private readonly barVisitor: RecordVisitor;
  /** Per series: open time of the newest closed bar published (or present at start). */
  private readonly publishedClose: Float64Array;
  /** Per series: the forming bar as last published (BAR_FIELDS each), valid where `hasForming` is 1. */
  private readonly forming: Float64Array;
  private readonly hasForming: Uint8Array;
  /** Per series: when a forming update was first held back for a close in flight (0: not held). */
  private readonly heldSince: Float64Array;
  /** Scratch for reading a forming bar out of shared memory. */
  private readonly scratch = new Float64Array(BAR_FIELDS);
  private scratchSet = false;
  private readonly scratchVisitor: BarVisitor;

  constructor(src: PumpSource, out: PumpOutput) {
    this.src = src;
    this.out = out;
    this.tickVisitor = { onRecord: (buf, off) => this.onTick(buf, off) };
    this.barVisitor = { onRecord: (buf, off) => this.onBarEvent(buf, off) };
    this.scratchVisitor = {
      begin: () => (this.scratchSet = false),
      onBar: (buf, off) => {
        for (let f = 0; f < BAR_FIELDS; f++) this.scratch[f] = buf[off + f]!;
        this.scratchSet = true;
      },
    };
    // Sized for every symbol slot (one dirty flag per series of each): live additions need no reallocation.
    const n = src.dirty.length;
    this.publishedClose = new Float64Array(n).fill(-Infinity);
    this.forming = new Float64Array(n * BAR_FIELDS);
    this.hasForming = new Uint8Array(n);
    this.heldSince = new Float64Array(n);
    this.resync();
  }

  /** Bars were put into the series outside the event stream (restored from storage, backfilled): count them as published. */
  resync(): void {
    this.adopt(0);
  }

  /**
   * Series [from, to) were appended (a live addition, with the bars restored
   * for it) or are fed again: count their bars as published.
   */
  adopt(from: number, to = this.src.series.length): void {
    for (let i = from; i < to; i++) {
      this.publishedClose[i] = this.src.series[i]!.lastClosedOpenTime();
      this.hasForming[i] = 0;
    }
  }

  /** Take everything available now. */
  drain(): void {
    const { ticks, barEvents, dirty, series } = this.src;
    while (ticks.read(this.tickVisitor) > 0);
    while (barEvents.read(this.barVisitor) > 0);
    for (let i = 0; i < dirty.length; i++) {
      if (dirty[i] === 0 || Atomics.exchange(dirty, i, 0) === 0) continue;
      const s = series[i]!;
      // Read the forming bar first, then look for closes in flight: a close
      // written after this read concerns the bar we read, which then precedes it.
      s.visit(this.scratchVisitor, NEWEST_ONE);
      if (s.lastClosedOpenTime() > this.publishedClose[i]! && !this.holdExpired(i)) {
        Atomics.store(dirty, i, 1); // a close is in flight: publish the forming bar after it
        continue;
      }
      this.heldSince[i] = 0;
      const sc = this.scratch;
      if (!this.scratchSet || sc[BarField.CLOSED] === 1) continue;
      this.forming.set(sc, i * BAR_FIELDS);
      this.hasForming[i] = 1;
      this.out.bar(this.update(i, readBar(sc, 0)), false);
    }
  }

  /**
   * Visit series `index`'s bars exactly as published so far: closed bars up
   * to the newest close event, then the forming bar last published; at most
   * `limit` in all (the forming bar counts). For snapshots that the live
   * stream continues without a gap or a duplicate.
   */
  visitPublished(index: number, visitor: BarVisitor, limit: number): number {
    const withForming = this.hasForming[index] === 1 && limit > 0 ? 1 : 0;
    let n = this.src.series[index]!.visit(visitor, { end: this.publishedClose[index], limit: limit - withForming, forming: false });
    if (withForming === 1) {
      visitor.onBar(this.forming, index * BAR_FIELDS, NO_SLOT, 0);
      n++;
    }
    return n;
  }

  /** A forming update held back longer than a second (its close event was lost to a full ring): let it go. */
  private holdExpired(index: number): boolean {
    const now = performance.now();
    if (this.heldSince[index] === 0) this.heldSince[index] = now;
    return now - this.heldSince[index]! > 1_000;
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
    const openTime = r[off + BarEventField.BAR + BarField.OPEN_TIME]!;
    if (openTime > this.publishedClose[index]!) this.publishedClose[index] = openTime;
    // The published forming bar is that bar or older: it is no longer forming.
    if (this.hasForming[index] === 1 && this.forming[index * BAR_FIELDS + BarField.OPEN_TIME]! <= openTime) this.hasForming[index] = 0;
    this.out.bar(this.update(index, readBar(r, off + BarEventField.BAR)), event === BarEvent.CLOSED || event === BarEvent.AMENDED);
  }

  private update(index: number, bar: BarUpdate['bar']): BarUpdate {
    const nTf = this.src.timeframes.length;
    return {
      exchange: this.src.exchange,
      symbol: this.src.symbols[symbolOfSeries(index, nTf)]!,
      timeframe: this.src.timeframes[timeframeOfSeries(index, nTf)]!,
      bar,
    };
  }
}

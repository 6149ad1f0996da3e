/**
 * BufferWriter: the exchange worker's writing side of its shared buffers.
 * - Trades and quotes become tick records (`trade`, `quote`), numbered per
 *   symbol.
 * - Each symbol's aggregator gets a sink (`sinkFor`) that writes forming bars
 *   to the series (and sets its dirty flag), closes and amendments to the
 *   series and to the bar-event ring.
 * - `publish` makes what was written since the last publish visible (the
 *   feed worker: per batch of frames, with its forming bars, so the main
 *   thread never reads a trade before the bars it changed); `ring` wakes the
 *   main thread once for everything published since the last ring (per batch:
 *   once per socket read, not per frame, since a wake-up costs tens of µs on
 *   both threads here); `flush` does both at once. `halfFull` tells the owner
 *   to publish and ring early, so a long batch never fills the tick ring
 *   while the main thread sleeps.
 * Shared by the feed worker and the ingest benchmark, so the benchmark
 * measures exactly the worker's path.
 */
import type { BarEvent as BarEventType, BarSink } from '../bars/aggregator.ts';
import { BarEvent } from '../bars/aggregator.ts';
import type { BarSeries } from '../buffers/bar-store.ts';
import type { Doorbell } from '../buffers/doorbell.ts';
import type { TickRing } from '../buffers/tick-ring.ts';
import { nowMs } from '../model/clock.ts';
import { BAR_FIELDS, QuoteField, TickField, TickKind, TradeField } from '../model/records.ts';
import { BarEventField, seriesIndex, type BarEventRing } from './protocol.ts';

/** How long a full bar-event ring is waited for before an event is dropped (counted by the ring), ms. */
const BAR_EVENT_WAIT_MS = 100;

export class BufferWriter {
  /** Views of the series, by series index; a live addition appends (or replaces) its symbol's. */
  readonly series: BarSeries[];
  private readonly ticks: TickRing;
  private readonly dirty: Int32Array;
  private readonly barEvents: BarEventRing;
  private readonly doorbell: Doorbell;
  /** Per symbol: seq of its last tick record. */
  private readonly seq: Float64Array;
  private readonly pause = new Int32Array(new SharedArrayBuffer(4));
  /** Something was written since the last publish. */
  private wrote = false;
  /** Something was published since the last ring; `unrungSince`: when the oldest of it was received (`nowMs`). */
  private unrung = false;
  private unrungSince = 0;

  /** `symbols`: symbol slots (tick seqs are kept per slot). */
  constructor(symbols: number, ticks: TickRing, series: BarSeries[], dirty: Int32Array, barEvents: BarEventRing, doorbell: Doorbell) {
    this.series = series;
    this.ticks = ticks;
    this.dirty = dirty;
    this.barEvents = barEvents;
    this.doorbell = doorbell;
    this.seq = new Float64Array(symbols);
  }

  /** A tick record for trade `t` (TradeField), received at `recvTs`; dropped, and counted by the ring, when the ring is full (the bar still has it). */
  trade(symbol: number, t: Float64Array, recvTs: number, side: number): void {
    const at = this.ticks.claim();
    if (at < 0) return;
    const r = this.ticks.data;
    r[at + TickField.KIND] = TickKind.TRADE;
    r[at + TickField.SERIES] = symbol;
    r[at + TickField.EXCHANGE_TS] = t[TradeField.TS]!;
    r[at + TickField.RECV_TS] = recvTs;
    r[at + TickField.PRICE] = t[TradeField.PRICE]!;
    r[at + TickField.SIZE] = t[TradeField.SIZE]!;
    r[at + TickField.SIDE] = side;
    r[at + TickField.TRADE_ID] = t[TradeField.ID]!;
    r[at + TickField.SEQ] = ++this.seq[symbol]!;
    this.wrote = true;
  }

  /** A tick record for best bid/offer `q` (QuoteField, its time set), received at `recvTs`. */
  quote(symbol: number, q: Float64Array, recvTs: number): void {
    const at = this.ticks.claim();
    if (at < 0) return;
    const r = this.ticks.data;
    r[at + TickField.KIND] = TickKind.QUOTE;
    r[at + TickField.SERIES] = symbol;
    r[at + TickField.EXCHANGE_TS] = q[QuoteField.TS]!;
    r[at + TickField.RECV_TS] = recvTs;
    r[at + TickField.PRICE] = q[QuoteField.BID]!;
    r[at + TickField.SIZE] = q[QuoteField.BID_SIZE]!;
    r[at + TickField.ASK_PRICE] = q[QuoteField.ASK]!;
    r[at + TickField.ASK_SIZE] = q[QuoteField.ASK_SIZE]!;
    r[at + TickField.SEQ] = ++this.seq[symbol]!;
    this.wrote = true;
  }

  /** True when something is published that no ring announced yet: the owner must `ring` (e.g. at its batch end). */
  get pendingRing(): boolean {
    return this.unrung;
  }

  /** True when something was written and not published yet. */
  get unpublished(): boolean {
    return this.wrote;
  }

  /** True when the tick ring holds half its capacity, published or not: time to publish and ring, whatever the batch. */
  get halfFull(): boolean {
    return this.ticks.claimedAtLeast(this.ticks.capacity >> 1);
  }

  /**
   * Make both rings' new records visible to the main thread, without waking it
   * (`ring` does, once per batch); `receivedMs`: when the oldest frame they
   * came from was received.
   */
  publish(receivedMs: number): void {
    if (!this.wrote) return;
    this.wrote = false;
    this.ticks.publish();
    this.barEvents.publish();
    if (!this.unrung) {
      this.unrung = true;
      this.unrungSince = receivedMs;
    }
  }

  /** Wake the main thread for everything published since the last ring (nothing when nothing was). */
  ring(): void {
    if (!this.unrung) return;
    this.unrung = false;
    this.doorbell.ring(this.unrungSince);
  }

  /** Publish and ring at once (timer ticks, recovered trades, stop): what was written is read without waiting for a batch end. */
  flush(): void {
    if (this.wrote) this.publish(nowMs());
    this.ring();
  }

  /** The sink for symbol `symbol`'s aggregator (its series start at `seriesIndex(symbol, 0, timeframes)`). */
  sinkFor(symbol: number, timeframes: number): BarSink {
    return new SymbolBarSink(this, seriesIndex(symbol, 0, timeframes));
  }

  /** Write series `index`'s bar record at `bar[offset..]` for `event`. */
  write(index: number, event: BarEventType, bar: Float64Array, offset: number): void {
    if (event === BarEvent.FORMING) {
      this.series[index]!.setForming(bar, offset);
      Atomics.store(this.dirty, index, 1);
    } else {
      this.series[index]!.putClosed(bar, offset);
      const at = this.claimBarEvent();
      if (at >= 0) {
        const rec = this.barEvents.data;
        rec[at + BarEventField.SERIES] = index;
        rec[at + BarEventField.EVENT] = event;
        for (let i = 0; i < BAR_FIELDS; i++) rec[at + BarEventField.BAR + i] = bar[offset + i]!;
      }
    }
    this.wrote = true;
  }

  /**
   * A slot for a close or amendment event. Many bars can close in one clock
   * tick (every series at the top of the hour): past half full, publish and
   * wake the main thread so it drains while we write; when full, wait for it
   * up to BAR_EVENT_WAIT_MS before dropping (counted). The bar itself is
   * always safe in its series; only the event would be lost.
   */
  private claimBarEvent(): number {
    const ring = this.barEvents;
    if (ring.claimedSize() * 2 >= ring.capacity) {
      this.flush(); // both rings: no close is read ahead of the trades written before it
      const deadline = performance.now() + BAR_EVENT_WAIT_MS;
      while (!ring.hasRoom() && performance.now() < deadline) Atomics.wait(this.pause, 0, 0, 1);
    }
    return ring.claim();
  }
}

/** One symbol's view: its aggregator's timeframe index → series index. */
class SymbolBarSink implements BarSink {
  private readonly writer: BufferWriter;
  private readonly first: number;

  constructor(writer: BufferWriter, first: number) {
    this.writer = writer;
    this.first = first;
  }

  onBar(tf: number, event: BarEventType, bar: Float64Array, offset: number): void {
    this.writer.write(this.first + tf, event, bar, offset);
  }
}

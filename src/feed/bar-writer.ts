/**
 * BarWriter: the exchange worker's writing side of the bar buffers. Each
 * symbol's aggregator gets a sink (`sinkFor`) that writes forming bars to the
 * series (and sets its dirty flag), closes and amendments to the series and to
 * the bar-event ring. Shared by the feed worker and the ingest benchmark, so
 * the benchmark measures exactly the worker's path.
 */
import type { BarEvent as BarEventType, BarSink } from '../bars/aggregator.ts';
import { BarEvent } from '../bars/aggregator.ts';
import type { BarSeries } from '../buffers/bar-store.ts';
import type { Doorbell } from '../buffers/doorbell.ts';
import type { TickRing } from '../buffers/tick-ring.ts';
import { BAR_FIELDS } from '../model/records.ts';
import { BarEventField } from './protocol.ts';

/** How long a full bar-event ring is waited for before an event is dropped (counted by the ring), ms. */
const BAR_EVENT_WAIT_MS = 100;

export class BarWriter {
  /** Set by every write; the owner clears it when it publishes. */
  wrote = false;
  readonly series: readonly BarSeries[];
  private readonly dirty: Int32Array;
  private readonly barEvents: TickRing;
  private readonly doorbell: Doorbell;
  private readonly pause = new Int32Array(new SharedArrayBuffer(4));

  constructor(series: readonly BarSeries[], dirty: Int32Array, barEvents: TickRing, doorbell: Doorbell) {
    this.series = series;
    this.dirty = dirty;
    this.barEvents = barEvents;
    this.doorbell = doorbell;
  }

  /** The sink for symbol `symbol`'s aggregator (its series start at symbol × timeframes). */
  sinkFor(symbol: number, timeframes: number): BarSink {
    return new SymbolBarSink(this, symbol * timeframes);
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
      ring.publish();
      this.doorbell.ring();
      const deadline = performance.now() + BAR_EVENT_WAIT_MS;
      while (!ring.hasRoom() && performance.now() < deadline) Atomics.wait(this.pause, 0, 0, 1);
    }
    return ring.claim();
  }
}

/** One symbol's view: its aggregator's timeframe index → series index. */
class SymbolBarSink implements BarSink {
  private readonly writer: BarWriter;
  private readonly first: number;

  constructor(writer: BarWriter, first: number) {
    this.writer = writer;
    this.first = first;
  }

  onBar(tf: number, event: BarEventType, bar: Float64Array, offset: number): void {
    this.writer.write(this.first + tf, event, bar, offset);
  }
}

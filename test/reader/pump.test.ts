/**
 * The pump, driven by hand on one thread: bars are written the way the
 * exchange worker writes them (series first, events published later), so the
 * in-between states the threads can produce are reproduced exactly.
 */
import { describe, expect, it } from 'vitest';
import { BarAggregator, BarEvent, type BarSink } from '../../src/bars/aggregator.ts';
import { ExchangePump, type PumpOutput } from '../../src/reader/pump.ts';
import type { BarUpdate } from '../../src/model/events.ts';
import { BarSeries, type BarVisitor } from '../../src/buffers/bar-store.ts';
import { TickRing } from '../../src/buffers/tick-ring.ts';
import { BAR_EVENT_FIELDS, BarEventField } from '../../src/feed/protocol.ts';
import { BAR_FIELDS, readBar, TICK_FIELDS, type Bar } from '../../src/model/records.ts';

const T0 = Date.UTC(2024, 0, 1);

function setup() {
  const series = new BarSeries(BarSeries.allocate(100));
  const barEvents = new TickRing(TickRing.allocate(64, BAR_EVENT_FIELDS));
  const dirty = new Int32Array(new SharedArrayBuffer(4));
  /** What the worker's sink does: the series at once, the event into the ring (published on flush). */
  const workerSink: BarSink = {
    onBar(_tf, event, bar, off) {
      if (event === BarEvent.FORMING) {
        series.setForming(bar, off);
        Atomics.store(dirty, 0, 1);
        return;
      }
      series.putClosed(bar, off);
      const at = barEvents.claim();
      barEvents.data[at + BarEventField.SERIES] = 0;
      barEvents.data[at + BarEventField.EVENT] = event;
      for (let i = 0; i < BAR_FIELDS; i++) barEvents.data[at + BarEventField.BAR + i] = bar[off + i]!;
    },
  };
  const agg = new BarAggregator(['1m'], workerSink);
  const events: BarUpdate[] = [];
  const out: PumpOutput = { trade: () => {}, quote: () => {}, bar: (u) => events.push(u) };
  const pump = new ExchangePump(
    { exchange: 'x', symbols: ['BTCUSDT'], timeframes: ['1m'], ticks: new TickRing(TickRing.allocate(64, TICK_FIELDS)), barEvents, dirty, series: [series] },
    out,
  );
  let id = 1;
  const trade = (ts: number, price: number) => agg.addTrade(ts, price, 1, 1, id++);
  const published = (limit = 100): Bar[] => {
    const bars: Bar[] = [];
    const v: BarVisitor = { begin: () => (bars.length = 0), onBar: (b, o) => bars.push(readBar(b, o)) };
    pump.visitPublished(0, v, limit);
    return bars;
  };
  return { series, barEvents, pump, events, trade, published, flush: () => barEvents.publish() };
}

describe('ExchangePump', () => {
  it('holds a forming bar back until the close before it has been drained', () => {
    const { pump, events, trade, flush } = setup();
    trade(T0 + 1_000, 100);
    flush();
    pump.drain();
    expect(events.map((e) => [e.bar.openTime, e.bar.closed])).toEqual([[T0, false]]);
    trade(T0 + 61_000, 101); // closes bar 0 and forms bar 1: written, the close event not yet published
    pump.drain();
    expect(events).toHaveLength(1); // bar 1 forming is held back
    flush();
    pump.drain();
    expect(events.map((e) => [e.bar.openTime, e.bar.closed])).toEqual([
      [T0, false],
      [T0, true],
      [T0 + 60_000, false],
    ]);
  });

  it('a snapshot is what was published, not what shared memory already holds', () => {
    const { series, pump, trade, flush, published } = setup();
    for (let m = 0; m < 5; m++) trade(T0 + m * 60_000 + 1, 100 + m);
    flush();
    pump.drain();
    expect(published().map((b) => [b.openTime, b.closed])).toEqual([
      [T0, true], [T0 + 60_000, true], [T0 + 120_000, true], [T0 + 180_000, true], [T0 + 240_000, false],
    ]);
    trade(T0 + 300_001, 200); // closes bar 4 in shared memory; its event is not drained yet
    trade(T0 + 300_002, 201);
    expect(series.bars().at(-1)).toMatchObject({ openTime: T0 + 300_000, trades: 2 });
    const snapshot = published(3);
    expect(snapshot.map((b) => [b.openTime, b.closed])).toEqual([[T0 + 120_000, true], [T0 + 180_000, true], [T0 + 240_000, false]]);
    expect(snapshot.at(-1)!.trades).toBe(1); // the forming bar as published, not its newer state
    flush();
    pump.drain();
    expect(published(3).map((b) => [b.openTime, b.closed, b.trades])).toEqual([
      [T0 + 180_000, true, 1], [T0 + 240_000, true, 1], [T0 + 300_000, false, 2],
    ]);
  });
});

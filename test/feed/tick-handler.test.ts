/**
 * TickHandler's batches (src/feed/tick-handler.ts): a batch's tick records
 * and forming bars are published together at its end (the scheduled task),
 * and the doorbell is rung once per batch, not per frame, parked main
 * thread or not (earlier past half a tick ring; later with a wake window);
 * `flush` publishes changes made outside trades.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BarAggregator } from '../../src/bars/aggregator.ts';
import { BarSeries } from '../../src/buffers/bar-store.ts';
import { Doorbell, type DoorbellListener } from '../../src/buffers/doorbell.ts';
import { TickRing } from '../../src/buffers/tick-ring.ts';
import { FrameKind, handTrade } from '../../src/exchanges/adapter.ts';
import { BufferWriter } from '../../src/feed/buffer-writer.ts';
import { ClockOffset } from '../../src/feed/clock-offset.ts';
import { allocateBarEventRing, openBarEventRing } from '../../src/feed/protocol.ts';
import { TickHandler } from '../../src/feed/tick-handler.ts';
import { nowMs } from '../../src/model/clock.ts';
import { TICK_FIELDS } from '../../src/model/records.ts';
import { until } from '../support/until.ts';

const T0 = Date.UTC(2024, 0, 1);
let listener: DoorbellListener | undefined;

afterEach(async () => {
  await listener?.stop();
  listener = undefined;
});

function setup(wakeWindowMs = 0) {
  const series = new BarSeries(BarSeries.allocate(10));
  const ticksSab = TickRing.allocate(64, TICK_FIELDS);
  const doorbellSab = Doorbell.allocate();
  const dirty = new Int32Array(new SharedArrayBuffer(4));
  const writer = new BufferWriter(1, new TickRing(ticksSab), [series], dirty, openBarEventRing(allocateBarEventRing(64)), new Doorbell(doorbellSab));
  const agg = new BarAggregator(['1m'], writer.sinkFor(0, 1), { batchForming: true });
  const tasks: (() => void)[] = [];
  const handler = new TickHandler([agg], writer, new ClockOffset(), 1, (task) => tasks.push(task), wakeWindowMs);
  const ticks = new TickRing(ticksSab);
  let id = 1;
  /** One frame carrying one trade at exchange time `ts`. */
  const frame = (ts: number, price: number) => {
    handler.beginFrame(ts + 5);
    handTrade(handler, 0, ts, price, 1, 1, id++);
    handler.endFrame(FrameKind.DATA);
  };
  return { series, dirty, agg, handler, tasks, ticks, frame, doorbellSab };
}

describe('TickHandler', () => {
  it('publishes a batch’s ticks and forming bar together at its end, scheduled once per batch', () => {
    const { series, dirty, tasks, ticks, frame } = setup();
    frame(T0 + 1_000, 100);
    frame(T0 + 2_000, 101);
    expect(ticks.size()).toBe(0); // written, not yet visible: the trade and its bar become visible together
    expect(series.formingBar()).toBeUndefined();
    expect(dirty[0]).toBe(0);
    expect(tasks).toHaveLength(1);
    tasks.shift()!();
    expect(ticks.size()).toBe(2);
    expect(series.formingBar()).toMatchObject({ openTime: T0, open: 100, close: 101, trades: 2, volume: 2, vwap: 100.5 });
    expect(dirty[0]).toBe(1);
    frame(T0 + 3_000, 102);
    expect(tasks).toHaveLength(1); // the next batch schedules its own end
    tasks.shift()!();
    expect(series.formingBar()).toMatchObject({ trades: 3, close: 102 });
  });

  it('wakes a parked main thread once per batch, at its end, with the batch’s ticks and forming bars in place', async () => {
    const { series, tasks, ticks, frame, doorbellSab } = setup();
    const seen: { ticks: number; trades: number | undefined }[] = [];
    listener = new Doorbell(doorbellSab).listen(() => {
      seen.push({ ticks: ticks.size(), trades: series.formingBar()?.trades });
      while (ticks.read({ onRecord() {} }) > 0);
    });
    await until(() => seen.length === 1, 5_000, 'the first drain');
    for (let i = 0; i < 10; i++) frame(T0 + 1_000 + i, 100 + i);
    await new Promise((resolve) => setTimeout(resolve, 50)); // a ring per frame would have woken it by now
    expect(listener.wakeups).toBe(0);
    expect(tasks).toHaveLength(1);
    tasks.shift()!(); // the batch ends: one ring
    await until(() => listener!.wakeups === 1, 5_000, 'the batch’s wake-up');
    expect(seen.at(-1)).toEqual({ ticks: 10, trades: 10 });
    frame(T0 + 2_000, 110);
    tasks.shift()!();
    await until(() => listener!.wakeups === 2, 5_000, 'the next batch’s wake-up');
    expect(seen.at(-1)).toEqual({ ticks: 1, trades: 11 });
  });

  it('publishes and rings at once when a batch fills half the tick ring, before its end', async () => {
    const { series, tasks, ticks, frame, doorbellSab } = setup(); // a ring of 64 records
    let read = 0;
    let formingTrades: number | undefined;
    listener = new Doorbell(doorbellSab).listen(() => {
      formingTrades = series.formingBar()?.trades;
      while (ticks.read({ onRecord: () => read++ }) > 0);
    });
    await until(() => listener!.drains === 1, 5_000, 'the first drain');
    for (let i = 0; i < 31; i++) frame(T0 + 1_000 + i, 100);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(read).toBe(0); // under half: waits for the batch end
    frame(T0 + 1_031, 100); // the 32nd record: half the ring
    await until(() => read === 32, 5_000, 'the half-full ring read before the batch end');
    expect(formingTrades).toBe(32); // the bar with its trades, as at a batch end
    expect(tasks).toHaveLength(1); // the batch has not ended
    frame(T0 + 1_032, 100);
    tasks.shift()!(); // its end publishes and rings for the rest
    await until(() => read === 33, 5_000, 'the rest at the batch end');
    expect(formingTrades).toBe(33);
    expect(ticks.overflow()).toBe(0);
  });

  it('with a wake window, rings at once after a quiet window, then once at the window’s end for every batch in it', async () => {
    const windowMs = 3_000; // long, so a loaded machine’s delays stay well inside it
    const { series, tasks, ticks, handler, doorbellSab } = setup(windowMs);
    const seen: { ticks: number; trades: number | undefined }[] = [];
    listener = new Doorbell(doorbellSab).listen(() => {
      seen.push({ ticks: ticks.size(), trades: series.formingBar()?.trades });
      while (ticks.read({ onRecord() {} }) > 0);
    });
    await until(() => seen.length === 1, 5_000, 'the first drain');
    let id = 1;
    /** A batch of one frame received now (the worker's receive stamps are `nowMs`). */
    const batch = () => {
      const now = nowMs();
      handler.beginFrame(now);
      handTrade(handler, 0, now - 1, 100, 1, 1, id++);
      handler.endFrame(FrameKind.DATA);
      tasks.shift()!();
    };
    batch(); // nothing rang before: at once
    await until(() => listener!.wakeups === 1, 5_000, 'the first batch’s wake-up');
    const armedAt = nowMs();
    batch(); // within the window: held
    batch();
    expect(listener.wakeups).toBe(1);
    await until(() => listener!.wakeups === 2, 10_000, 'the window’s end');
    expect(nowMs() - armedAt).toBeGreaterThanOrEqual(windowMs * 0.9); // (timers may fire a little early on the ms grid)
    expect(seen.at(-1)).toEqual({ ticks: 2, trades: 3 }); // one wake-up for both held batches, their bars in place
    batch(); // the window after that ring has not passed: held again...
    handler.flush(); // ...unless a flush (the bar clock's tick, stop) rings at once
    await until(() => listener!.wakeups === 3, windowMs / 2, 'the flush’s wake-up, before the window’s end');
  });

  it('a trade whose tick record the full ring dropped still ends its batch: its forming bar is published and rung', () => {
    const { series, tasks, ticks, frame } = setup(); // a ring of 64 records, never read here
    for (let i = 0; i < 64; i++) frame(T0 + 1_000 + i, 100);
    tasks.shift()!();
    expect(ticks.size()).toBe(64);
    expect(series.formingBar()).toMatchObject({ trades: 64 });
    frame(T0 + 2_000, 105); // no room for its tick record; the bar takes it
    expect(ticks.overflow()).toBe(1);
    expect(tasks).toHaveLength(1); // the batch's end is scheduled, though no tick record was written
    tasks.shift()!();
    expect(series.formingBar()).toMatchObject({ trades: 65, close: 105 });
  });

  it('flush publishes what changed outside trades: a bar opened by the clock', () => {
    const { series, agg, handler, tasks, frame } = setup();
    frame(T0 + 1_000, 100);
    tasks.shift()!();
    agg.advance(T0 + 60_000 + 300); // past the bar's end + grace: it closes and a flat bar opens
    expect(series.closedCount()).toBe(1);
    expect(series.formingBar()).toBeUndefined(); // the close retired the old forming bar; the new one waits
    handler.flush();
    expect(series.formingBar()).toMatchObject({ openTime: T0 + 60_000, trades: 0, close: 100 });
  });
  it('publishes the batch’s tick records with its bar events when closes fill half the bar-event ring mid-batch: no close overtakes the trades before it', () => {
    const series = new BarSeries(BarSeries.allocate(10));
    const ticksSab = TickRing.allocate(64, TICK_FIELDS);
    const barEventsSab = allocateBarEventRing(16);
    const dirty = new Int32Array(new SharedArrayBuffer(4));
    const writer = new BufferWriter(1, new TickRing(ticksSab), [series], dirty, openBarEventRing(barEventsSab), new Doorbell(Doorbell.allocate()));
    const agg = new BarAggregator(['1m'], writer.sinkFor(0, 1), { batchForming: true });
    const tasks: (() => void)[] = [];
    const handler = new TickHandler([agg], writer, new ClockOffset(), 1, (task) => tasks.push(task), 0);
    const ticks = new TickRing(ticksSab);
    const barEvents = openBarEventRing(barEventsSab);
    // One batch (no task run): each trade opens a new minute and closes the one before, so the 9th trade's close is the 8th event, half of 16.
    for (let i = 0; i < 10; i++) {
      handler.beginFrame(T0 + i * 60_000 + 5);
      handTrade(handler, 0, T0 + i * 60_000, 100 + i, 1, 1, i + 1);
      handler.endFrame(FrameKind.DATA);
    }
    expect(barEvents.size()).toBeGreaterThan(0); // published mid-batch to make room
    // Every close visible was caused by a later trade: the trades before it must be visible too.
    expect(ticks.size()).toBeGreaterThanOrEqual(barEvents.size());
    expect(tasks).toHaveLength(1);
  });
});

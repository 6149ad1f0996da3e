import { describe, expect, it } from 'vitest';
import { BarSeries, BarStore, type BarVisitor } from '../../src/buffers/bar-store.ts';
import { BAR_FIELDS, BarField as F } from '../../src/model/records.ts';
import { invariantHolds, writeInvariantBar } from '../support/bar-invariant.ts';
import { firstMessage, startWorker } from '../support/worker.ts';

const WRITER = new URL('../workers/bar-writer.ts', import.meta.url);

function bar(openTime: number, version: number, closed = true, revision = 0): Float64Array {
  const b = new Float64Array(BAR_FIELDS);
  writeInvariantBar(b, openTime, version, closed, revision);
  return b;
}

const times = (s: BarSeries, range = {}) => s.bars(range).map((b) => [b.openTime, b.closed]);

describe('BarSeries', () => {
  it('reserves fixed memory at allocation and reports it', () => {
    const sab = BarSeries.allocate(1000);
    expect(sab.byteLength).toBe(BarSeries.byteLength(1000));
    expect(sab.byteLength).toBe(128 + 1001 * BAR_FIELDS * 8 + 1000 * 4);
    const store = new BarStore();
    store.create('binance:BTCUSDT:1m', 1000);
    store.create('binance:BTCUSDT:5m', 10);
    expect(store.bytesReserved()).toBe(BarSeries.byteLength(1000) + BarSeries.byteLength(10));
    expect(() => store.create('binance:BTCUSDT:5m', 10)).toThrow();
  });

  it('keeps the newest `capacity` closed bars in order, with the forming bar last', () => {
    const s = new BarSeries(BarSeries.allocate(3));
    for (let t = 1; t <= 5; t++) s.putClosed(bar(t * 1000, t), 0);
    s.setForming(bar(6000, 6, false), 0);
    expect(times(s)).toEqual([[3000, true], [4000, true], [5000, true], [6000, false]]);
    expect(s.closedCount()).toBe(3);
    expect(s.formingBar()?.openTime).toBe(6000);
  });

  it('retires the forming bar when the same bar closes', () => {
    const s = new BarSeries(BarSeries.allocate(4));
    s.setForming(bar(1000, 1, false), 0);
    s.putClosed(bar(1000, 2), 0);
    expect(times(s)).toEqual([[1000, true]]);
    expect(s.formingBar()).toBeUndefined();
  });

  it('replaces an amended bar in place and inserts a late new one in order', () => {
    const s = new BarSeries(BarSeries.allocate(4));
    for (const t of [1000, 2000, 4000]) s.putClosed(bar(t, t), 0);
    s.putClosed(bar(2000, 7, true, 1), 0);
    s.putClosed(bar(3000, 9), 0);
    expect(s.bars().map((b) => [b.openTime, b.open, b.revision])).toEqual([
      [1000, 1000, 0], [2000, 7, 1], [3000, 9, 0], [4000, 4000, 0],
    ]);
    s.putClosed(bar(2500, 1), 0); // full: the oldest gives way
    expect(s.bars().map((b) => b.openTime)).toEqual([2000, 2500, 3000, 4000]);
    s.putClosed(bar(500, 1), 0); // older than everything a full ring holds: ignored
    expect(s.bars().map((b) => b.openTime)).toEqual([2000, 2500, 3000, 4000]);
  });

  it('stamps each closed slot it writes; a visit tells slot and stamp, the forming bar none', () => {
    const s = new BarSeries(BarSeries.allocate(4));
    const stamps = (): Map<number, [number, number]> => {
      const out = new Map<number, [number, number]>();
      s.visit({ begin: () => out.clear(), onBar: (buf, off, slot, stamp) => void out.set(buf[off + F.OPEN_TIME]!, [slot, stamp]) });
      return out;
    };
    for (const t of [1000, 2000, 4000]) s.putClosed(bar(t, t), 0);
    s.setForming(bar(5000, 5, false), 0);
    const first = stamps();
    expect(first.get(5000)).toEqual([-1, 0]);
    expect(new Set([1000, 2000, 4000].map((t) => first.get(t)![1])).size).toBe(3); // one write each, one stamp each
    for (const t of [1000, 2000, 4000]) expect(first.get(t)![1] % 2).toBe(1);

    s.putClosed(bar(2000, 7, true, 1), 0); // amended in place: only its stamp moves
    const amended = stamps();
    expect(amended.get(2000)![0]).toBe(first.get(2000)![0]);
    expect(amended.get(2000)![1]).not.toBe(first.get(2000)![1]);
    expect(amended.get(1000)).toEqual(first.get(1000));
    expect(amended.get(4000)).toEqual(first.get(4000));

    s.putClosed(bar(3000, 9), 0); // inserted in order: the bar after it shifts to another slot, stamped anew
    const inserted = stamps();
    expect(inserted.get(1000)).toEqual(first.get(1000));
    expect(inserted.get(2000)).toEqual(amended.get(2000));
    expect(inserted.get(3000)![1]).toBe(inserted.get(4000)![1]);
    expect(inserted.get(4000)![1]).not.toBe(first.get(4000)![1]);
  });

  it('answers start, end and limit; the limit counts the forming bar', () => {
    const s = new BarSeries(BarSeries.allocate(10));
    for (let t = 1; t <= 6; t++) s.putClosed(bar(t * 1000, t), 0);
    s.setForming(bar(7000, 7, false), 0);
    expect(times(s, { start: 2000, end: 4000 }).map(([t]) => t)).toEqual([2000, 3000, 4000]);
    expect(times(s, { start: 2500, end: 4500 }).map(([t]) => t)).toEqual([3000, 4000]);
    expect(times(s, { limit: 3 }).map(([t]) => t)).toEqual([5000, 6000, 7000]);
    expect(times(s, { limit: 3, forming: false }).map(([t]) => t)).toEqual([4000, 5000, 6000]);
    expect(times(s, { limit: 1 }).map(([t]) => t)).toEqual([7000]);
    expect(times(s, { limit: 0 })).toEqual([]);
    expect(times(s, { start: 6500 }).map(([t]) => t)).toEqual([7000]);
    expect(times(s, { end: 1000 }).map(([t]) => t)).toEqual([1000]);
  });

  it('a new view over the same buffer (the main thread, a restarted worker) sees the same bars', () => {
    const sab = BarSeries.allocate(8);
    const writer = new BarSeries(sab);
    writer.putClosed(bar(1000, 1), 0);
    writer.setForming(bar(2000, 2, false), 0);
    expect(new BarSeries(sab).bars()).toEqual(writer.bars());
  });
});

describe('BarSeries after its writer died mid-write', () => {
  it('repairAfterWriterDeath makes readers and the next writer proceed', () => {
    const sab = BarSeries.allocate(4);
    const s = new BarSeries(sab);
    s.putClosed(bar(1000, 1), 0);
    s.setForming(bar(2000, 2, false), 0);
    // A writer terminated between its two sequence bumps (layout: ring sequence at byte 0, forming at 64).
    const header = new Int32Array(sab, 0, 32);
    Atomics.add(header, 0, 1);
    Atomics.add(header, 16, 1);
    s.repairAfterWriterDeath();
    // Checked before reading: an odd sequence would make the read below spin forever.
    expect([Atomics.load(header, 0) & 1, Atomics.load(header, 16) & 1]).toEqual([0, 0]);
    expect(s.bars().map((b) => b.openTime)).toEqual([1000, 2000]);
    s.repairAfterWriterDeath(); // harmless when nothing is odd
    s.putClosed(bar(2000, 3), 0);
    expect(s.bars().map((b) => [b.openTime, b.closed])).toEqual([[1000, true], [2000, true]]);
  });
});

describe('BarSeries across threads', () => {
  it('a reader hammering a series during a million updates never sees a torn bar', async () => {
    const capacity = 64;
    const sab = BarSeries.allocate(capacity);
    const control = new SharedArrayBuffer(8);
    const ctl = new Int32Array(control);
    const minUpdates = 1_000_000;
    const minReads = 1_000;
    const worker = startWorker(WRITER, { series: sab, updates: minUpdates, minReads, control });
    const finished = firstMessage<{ updates: number; closes: number; amends: number }>(worker);
    const series = new BarSeries(sab);

    // Copy what a validated read saw, then check it: bars seen during a failed attempt do not count.
    const seen = new Float64Array((capacity + 1) * BAR_FIELDS);
    let n = 0;
    const visitor: BarVisitor = {
      begin: () => (n = 0),
      onBar: (buf, off) => {
        seen.set(buf.subarray(off, off + BAR_FIELDS), n * BAR_FIELDS);
        n++;
      },
    };
    let reads = 0;
    let barsChecked = 0;
    let bad = 0;
    let sawForming = 0;
    // Wait for the writer to start, then read until it is done.
    while (series.closedCount() === 0 && Atomics.load(ctl, 0) === 0);
    while (Atomics.load(ctl, 0) === 0) {
      series.visit(visitor);
      Atomics.store(ctl, 1, ++reads);
      let prev = -Infinity;
      for (let i = 0; i < n; i++) {
        const off = i * BAR_FIELDS;
        const t = seen[off + F.OPEN_TIME]!;
        const forming = seen[off + F.CLOSED] === 0;
        if (!invariantHolds(seen, off) || !(t > prev) || (forming && i !== n - 1)) bad++;
        if (forming) sawForming++;
        prev = t;
        barsChecked++;
      }
    }
    const { updates, closes, amends } = await finished;
    await worker.terminate();
    expect(bad).toBe(0);
    expect(updates).toBeGreaterThanOrEqual(minUpdates);
    expect(reads).toBeGreaterThanOrEqual(minReads);
    expect(sawForming).toBeGreaterThan(0);
    expect(barsChecked).toBeGreaterThan(reads);
    expect(closes).toBe(Math.floor(updates / 10));
    expect(amends).toBeGreaterThan(10_000);
    // The final state is exactly the writer's last bars.
    const last = series.bars();
    const lastOpen = 1_000 + closes * 1_000; // the bar forming after the last close
    expect(last.filter((b) => b.closed)).toHaveLength(capacity);
    expect(last.at(-1)!.openTime).toBe(updates % 10 === 0 ? lastOpen - 1_000 : lastOpen);
  });
});

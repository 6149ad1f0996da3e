/**
 * Candle answers from ready bytes (src/wire/ready-candles.ts): byte-identical
 * to encoding every bar afresh, over random bars and random changes to the
 * series (closes, amendments, late inserts, the ring moving on); an amended
 * bar re-encoded; a rejected read attempt never kept; memory within budget;
 * whole answers kept per shape and given again only while their bars hold.
 */
import { describe, expect, it } from 'vitest';
import { BarSeries, NO_SLOT, type BarRange, type BarVisitor } from '../../src/buffers/bar-store.ts';
import { BAR_FIELDS, BarField as F, BarSource } from '../../src/model/records.ts';
import { FbsEncoder } from '../../src/wire/encoder.ts';
import { BarTextVisitor, barJson } from '../../src/wire/json.ts';
import { MAX_KEPT_ANSWERS, ReadyCandles, type CandleShape, type CandlesOf } from '../../src/wire/ready-candles.ts';
import { Prng } from '../support/prng.ts';

const OF: CandlesOf = { key: 'bars:binance:BTCUSDT:1m', exchange: 'binance', symbol: 'BTCUSDT', timeframe: '1m' };
const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 5);

/** The JSON answer built the way the route built it before ready bytes: every bar encoded now. */
function freshJson(of: CandlesOf, visit: (v: BarVisitor) => number): string {
  const v = new BarTextVisitor(barJson);
  const count = visit(v);
  return '{"exchange":' + JSON.stringify(of.exchange) + ',"symbol":' + JSON.stringify(of.symbol) +
    ',"timeframe":"' + of.timeframe + '","count":' + count + ',"candles":[' + v.text + ']}';
}

/** A random bar record at `openTime`: nulls, gapped, backfilled, amended revisions, long and short numbers. */
function randomBar(rng: Prng, openTime: number, closed: boolean): Float64Array {
  const b = new Float64Array(BAR_FIELDS);
  const open = rng.int(1, 100_000) / rng.pick([1, 100, 1e8]);
  b[F.OPEN_TIME] = openTime;
  b[F.CLOSE_TIME] = openTime + MINUTE - 1;
  b[F.OPEN] = open;
  b[F.HIGH] = open * (1 + rng.float() / 10);
  b[F.LOW] = open * (1 - rng.float() / 10);
  b[F.CLOSE] = open * (1 + (rng.float() - 0.5) / 10);
  b[F.VOLUME] = rng.chance(0.1) ? 0 : rng.float() * 1e3;
  b[F.QUOTE_VOLUME] = b[F.VOLUME]! * open;
  b[F.BUY_VOLUME] = b[F.VOLUME]! * rng.float();
  b[F.SELL_VOLUME] = b[F.VOLUME]! - b[F.BUY_VOLUME]!;
  b[F.TRADES] = rng.int(0, 50_000);
  b[F.FIRST_TRADE_ID] = rng.int(1, 2 ** 40);
  b[F.LAST_TRADE_ID] = b[F.FIRST_TRADE_ID]! + b[F.TRADES]!;
  b[F.VWAP] = rng.chance(0.2) ? NaN : open * (1 + rng.float() / 100);
  b[F.SPREAD] = rng.chance(0.5) ? NaN : rng.float() / 10;
  b[F.CLOSED] = closed ? 1 : 0;
  b[F.REVISION] = rng.chance(0.2) ? rng.int(1, 9) : 0;
  b[F.GAPPED] = rng.chance(0.1) ? 1 : 0;
  b[F.SOURCE] = rng.chance(0.1) ? BarSource.BACKFILL : BarSource.LIVE;
  return b;
}

/**
 * One random change to `series` whose newest bar opens at `newest` (returned, moved on): a close, an
 * amendment or late insert, a new forming bar, a gap in time, or (the rest of the odds) nothing.
 * `calm` ≥ 1 divides the odds of a change.
 */
function randomChange(rng: Prng, series: BarSeries, newest: number, calm: number): number {
  const roll = rng.float() * calm;
  if (roll < 0.45) {
    series.putClosed(randomBar(rng, newest, true), 0); // the forming bar closes
    return newest + MINUTE;
  }
  if (roll < 0.65) {
    // An amendment (or a late bar inserted in order) somewhere in the past.
    const back = rng.int(0, Math.max(0, (newest - T0) / MINUTE - 1));
    series.putClosed(randomBar(rng, newest - MINUTE * (back + 1), true), 0);
  } else if (roll < 0.8) {
    series.setForming(randomBar(rng, newest, false), 0);
  } else if (roll < 0.85) {
    return newest + MINUTE * rng.int(2, 5); // a gap in time: bars skipped
  }
  return newest;
}

/** A random query over the series' time span. */
function randomRange(rng: Prng, newest: number): BarRange {
  const range: BarRange = { limit: rng.pick([1, 2, 7, 50, 500]), forming: rng.chance(0.7) };
  if (rng.chance(0.3)) range.start = T0 + rng.int(0, (newest - T0) / MINUTE) * MINUTE;
  if (rng.chance(0.3)) range.end = T0 + rng.int(0, (newest - T0) / MINUTE + 1) * MINUTE;
  if (range.start !== undefined && range.end !== undefined && range.start > range.end) delete range.end;
  return range;
}

describe('ReadyCandles', () => {
  it('answers byte-identical JSON and FlatBuffers to fresh encoding, over random bars and random changes', () => {
    for (const seed of [1, 2, 3]) {
      const rng = new Prng(seed);
      const series = new BarSeries(BarSeries.allocate(rng.pick([8, 64, 100])));
      const ready = new ReadyCandles(64 * 1024 * 1024, new FbsEncoder());
      const fresh = new FbsEncoder();
      let newest = T0;
      for (let step = 0; step < 400; step++) {
        newest = randomChange(rng, series, newest, 1);
        const range = randomRange(rng, newest);
        const visit = (v: BarVisitor): number => series.visit(v, range);
        const json = Buffer.from(ready.json(OF, visit)).toString('utf8');
        expect(json, `seed ${seed} step ${step}`).toBe(freshJson(OF, visit));
        const fbs = Buffer.from(ready.fbs(OF, visit));
        expect(fbs.equals(Buffer.from(fresh.candles(OF.exchange, OF.symbol, OF.timeframe, visit))), `seed ${seed} step ${step}`).toBe(true);
      }
      expect(ready.bytesHeld).toBeGreaterThan(0);
    }
  });

  it('re-encodes an amended bar and keeps the others', () => {
    const rng = new Prng(7);
    const series = new BarSeries(BarSeries.allocate(16));
    for (let i = 0; i < 10; i++) series.putClosed(randomBar(rng, T0 + i * MINUTE, true), 0);
    const ready = new ReadyCandles(1 << 20, new FbsEncoder());
    const visit = (v: BarVisitor): number => series.visit(v, { limit: 10 });
    const before = JSON.parse(Buffer.from(ready.json(OF, visit)).toString()) as { candles: { close: number; revision: number }[] };

    const amended = randomBar(rng, T0 + 4 * MINUTE, true);
    amended[F.CLOSE] = 12345.5;
    amended[F.REVISION] = before.candles[4]!.revision + 1;
    series.putClosed(amended, 0);

    const after = JSON.parse(Buffer.from(ready.json(OF, visit)).toString()) as typeof before;
    expect(after.candles[4]).toMatchObject({ close: 12345.5, revision: before.candles[4]!.revision + 1 });
    expect(after.candles.filter((_, i) => i !== 4)).toEqual(before.candles.filter((_, i) => i !== 4));
    expect(Buffer.from(ready.json(OF, visit)).toString()).toBe(freshJson(OF, visit));
  });

  it('keeps a bar’s bytes while its slot’s stamp holds, and re-encodes when the stamp changes', () => {
    const bar = new Float64Array(BAR_FIELDS);
    bar[F.OPEN_TIME] = T0;
    bar[F.CLOSE] = 1;
    bar[F.CLOSED] = 1;
    let stamp = 3;
    const visit = (v: BarVisitor): number => {
      v.begin();
      v.onBar(bar, 0, 5, stamp);
      return 1;
    };
    const ready = new ReadyCandles(1 << 20, new FbsEncoder());
    const close = (): number => (JSON.parse(Buffer.from(ready.json(OF, visit)).toString()) as { candles: { close: number }[] }).candles[0]!.close;
    expect(close()).toBe(1);
    bar[F.CLOSE] = 2; // written without a new stamp: not a write the bar store can make, so the kept bytes answer
    expect(close()).toBe(1);
    stamp = 5; // the slot was written again
    expect(close()).toBe(2);
  });

  it('discards what a rejected read attempt encoded', () => {
    const torn = new Float64Array(BAR_FIELDS);
    torn[F.CLOSE] = 666;
    const good = new Float64Array(BAR_FIELDS);
    good[F.CLOSE] = 7;
    good[F.CLOSED] = 1;
    let first = true;
    const visit = (v: BarVisitor): number => {
      if (first) {
        v.begin();
        v.onBar(torn, 0, 0, 9); // an attempt the seqlock rejects
      }
      first = false;
      v.begin();
      v.onBar(good, 0, 0, 9);
      return 1;
    };
    const ready = new ReadyCandles(1 << 20, new FbsEncoder());
    const close = (): number => (JSON.parse(Buffer.from(ready.json(OF, visit)).toString()) as { candles: { close: number }[] }).candles[0]!.close;
    expect(close()).toBe(7);
    expect(close()).toBe(7); // and what was kept is the good attempt's
  });

  it('re-encodes everything when another ring answers under the same key', () => {
    const a = new BarSeries(BarSeries.allocate(4));
    const b = new BarSeries(BarSeries.allocate(4));
    const rng = new Prng(11);
    a.putClosed(randomBar(rng, T0, true), 0);
    b.putClosed(randomBar(rng, T0, true), 0); // same slot, same stamp, other bytes
    const ready = new ReadyCandles(1 << 20, new FbsEncoder());
    for (const s of [a, b, a]) {
      const visit = (v: BarVisitor): number => s.visit(v);
      expect(Buffer.from(ready.json(OF, visit)).toString()).toBe(freshJson(OF, visit));
    }
  });

  it('encodes bars without a slot (the forming bar, copies) on every answer', () => {
    const bar = new Float64Array(BAR_FIELDS);
    bar[F.OPEN_TIME] = T0;
    const visit = (v: BarVisitor): number => {
      v.begin();
      v.onBar(bar, 0, NO_SLOT, 0);
      v.onBar(bar, 0, NO_SLOT, 0);
      v.onBar(bar, 0, NO_SLOT, 0);
      return 3;
    };
    const ready = new ReadyCandles(1 << 20, new FbsEncoder());
    const fresh = new FbsEncoder();
    for (const close of [1, 2]) {
      bar[F.CLOSE] = close;
      expect(Buffer.from(ready.json(OF, visit)).toString()).toBe(freshJson(OF, visit));
      expect(Buffer.from(ready.fbs(OF, visit)).equals(Buffer.from(fresh.candles(OF.exchange, OF.symbol, OF.timeframe, visit)))).toBe(true);
    }
    expect(ready.bytesHeld).toBe(0);
  });

  it('holds at most its budget, dropping the least recently asked series, and still answers right', () => {
    const rng = new Prng(5);
    const series = Array.from({ length: 4 }, () => new BarSeries(BarSeries.allocate(200)));
    for (const s of series) for (let i = 0; i < 200; i++) s.putClosed(randomBar(rng, T0 + i * MINUTE, true), 0);
    for (const budget of [0, 60_000, 150_000, 1 << 24]) {
      const ready = new ReadyCandles(budget, new FbsEncoder());
      for (let round = 0; round < 3; round++) {
        series.forEach((s, i) => {
          const of = { ...OF, key: `series ${i}` };
          const visit = (v: BarVisitor): number => s.visit(v, { limit: 200 });
          expect(Buffer.from(ready.json(of, visit)).toString()).toBe(freshJson(of, visit));
          expect(ready.bytesHeld).toBeLessThanOrEqual(budget);
          expect(ready.bytesHeld).toBeGreaterThanOrEqual(0);
        });
      }
      if (budget === 1 << 24) expect(ready.bytesHeld).toBeGreaterThan(4 * 200 * 300); // everything kept
    }
  });

  it('answers kept whole per shape equal fresh encoding, over random bars and random changes', () => {
    for (const seed of [21, 22]) {
      const rng = new Prng(seed);
      const series = new BarSeries(BarSeries.allocate(rng.pick([8, 64])));
      const ready = new ReadyCandles(64 * 1024 * 1024, new FbsEncoder());
      const fresh = new FbsEncoder();
      let newest = T0;
      let kept = 0;
      for (let step = 0; step < 300; step++) {
        newest = randomChange(rng, series, newest, 2); // half the steps change nothing: kept answers are given again
        // A handful of shapes asked again and again (as a dashboard does), the same shape twice in a row.
        const shapes: CandleShape[] = [
          { limit: 50, start: undefined, end: undefined, closed: false },
          { limit: 50, start: undefined, end: undefined, closed: true },
          { limit: 5, start: T0 + MINUTE, end: undefined, closed: false },
          { limit: 500, start: undefined, end: newest - MINUTE, closed: false },
        ];
        for (const shape of [...shapes, rng.pick(shapes)]) {
          const visit = (v: BarVisitor): number => series.visit(v, { limit: shape.limit, start: shape.start, end: shape.end, forming: !shape.closed });
          const json = ready.json(OF, visit, shape);
          const again = ready.json(OF, visit, shape);
          if (again === json) kept++;
          expect(Buffer.from(again).toString('utf8'), `seed ${seed} step ${step}`).toBe(freshJson(OF, visit));
          const fbs = Buffer.from(ready.fbs(OF, visit, shape));
          expect(fbs.equals(Buffer.from(fresh.candles(OF.exchange, OF.symbol, OF.timeframe, visit))), `seed ${seed} step ${step}`).toBe(true);
        }
      }
      expect(kept).toBeGreaterThan(1000); // the second ask of an unchanged shape is the kept answer itself
    }
  });

  it('gives a kept answer again while its bars hold, and builds it again when the forming bar or a closed one changes', () => {
    const rng = new Prng(31);
    const series = new BarSeries(BarSeries.allocate(16));
    for (let i = 0; i < 10; i++) series.putClosed(randomBar(rng, T0 + i * MINUTE, true), 0);
    series.setForming(randomBar(rng, T0 + 10 * MINUTE, false), 0);
    const shape: CandleShape = { limit: 5, start: undefined, end: undefined, closed: false };
    const visit = (v: BarVisitor): number => series.visit(v, { limit: 5 });
    const ready = new ReadyCandles(1 << 20, new FbsEncoder());
    const first = ready.json(OF, visit, shape);
    expect(ready.json(OF, visit, shape)).toBe(first); // the same bytes, not a copy
    expect(ready.json(OF, visit, { ...shape })).toBe(first); // a shape is compared by value

    const forming = randomBar(rng, T0 + 10 * MINUTE, false);
    series.setForming(forming, 0);
    const formingChanged = Buffer.from(ready.json(OF, visit, shape)).toString();
    expect(formingChanged).toBe(freshJson(OF, visit));
    series.setForming(forming, 0); // written again with the same values: the answer still holds
    const same = ready.json(OF, visit, shape);
    expect(ready.json(OF, visit, shape)).toBe(same);
    expect(Buffer.from(same).toString()).toBe(formingChanged);

    const amended = randomBar(rng, T0 + 8 * MINUTE, true);
    amended[F.REVISION] = 1;
    series.putClosed(amended, 0);
    expect(Buffer.from(ready.json(OF, visit, shape)).toString()).toBe(freshJson(OF, visit));
    expect((JSON.parse(Buffer.from(ready.json(OF, visit, shape)).toString()) as { candles: { revision: number }[] }).candles[2]!.revision).toBe(1); // limit 5: bars 6 to 9 and the forming one
  });

  it('compares only the read attempt that succeeded', () => {
    const bar = new Float64Array(BAR_FIELDS);
    bar[F.OPEN_TIME] = T0;
    bar[F.CLOSED] = 1;
    let rejected = false;
    const visit = (v: BarVisitor): number => {
      if (rejected) {
        v.begin();
        v.onBar(bar, 0, 3, 99); // an attempt the seqlock rejects: another stamp
      }
      v.begin();
      v.onBar(bar, 0, 3, 7);
      return 1;
    };
    const shape: CandleShape = { limit: 1, start: undefined, end: undefined, closed: true };
    const ready = new ReadyCandles(1 << 20, new FbsEncoder());
    const first = ready.json(OF, visit, shape);
    rejected = true;
    expect(ready.json(OF, visit, shape)).toBe(first);
  });

  it('keeps at most MAX_KEPT_ANSWERS answers a series and stays within its budget', () => {
    const rng = new Prng(41);
    const series = new BarSeries(BarSeries.allocate(300));
    for (let i = 0; i < 300; i++) series.putClosed(randomBar(rng, T0 + i * MINUTE, true), 0);
    const shapeOf = (limit: number): CandleShape => ({ limit, start: undefined, end: undefined, closed: true });
    const ask = (ready: ReadyCandles, limit: number): Uint8Array =>
      ready.json(OF, (v) => series.visit(v, { limit, forming: false }), shapeOf(limit));

    const roomy = new ReadyCandles(1 << 24, new FbsEncoder());
    const first = ask(roomy, 1);
    for (let limit = 2; limit <= MAX_KEPT_ANSWERS; limit++) ask(roomy, limit);
    expect(ask(roomy, 1)).toBe(first); // still kept: MAX_KEPT_ANSWERS shapes
    const heldAtMax = roomy.bytesHeld;
    for (let limit = 100; limit < 100 + 4 * MAX_KEPT_ANSWERS; limit++) ask(roomy, limit);
    expect(ask(roomy, 1)).not.toBe(first); // dropped: the least recently used went first
    expect(roomy.bytesHeld).toBeGreaterThan(heldAtMax);
    expect(roomy.bytesHeld).toBeLessThan(heldAtMax + (MAX_KEPT_ANSWERS + 1) * 140 * 330);

    for (const budget of [0, 50_000, 200_000]) {
      const tight = new ReadyCandles(budget, new FbsEncoder());
      for (const limit of [300, 200, 300, 50, 300]) {
        const visit = (v: BarVisitor): number => series.visit(v, { limit, forming: false });
        expect(Buffer.from(ask(tight, limit)).toString()).toBe(freshJson(OF, visit));
        expect(tight.bytesHeld).toBeLessThanOrEqual(budget);
        expect(tight.bytesHeld).toBeGreaterThanOrEqual(0);
      }
    }
  });
});

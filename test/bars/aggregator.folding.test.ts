/**
 * Folding (src/bars/aggregator.ts, "Folding" in its header) against the
 * per-timeframe aggregator it replaces on the worker's path: two aggregators
 * fed the same seeded calls, one with `foldTimeframes` (the default with
 * `batchForming`), one without, must hand their sinks the same events, bar
 * for bar, per timeframe, and show the same forming bars after every
 * `publishForming`.
 *
 * The calls: trades in bursts and quiet stretches (up to minutes), delivered
 * out of order (some later than the tolerance, so dropped somewhere and taken
 * elsewhere), re-sent ids, equal timestamps with and without ids, quotes, the
 * clock (`advance`), reconnect gaps (`markGap`), and publishes at random
 * points. Timeframe sets: chains of multiples in any order, sets with members
 * that are not multiples of the shortest (those keep folding per trade), and
 * weeks against days (another alignment origin); with and without flat
 * fills, a session filter and blindUntil. Midway both are replaced by new
 * aggregators resumed from the same bars (a worker restart: `resume`). A
 * failure names the seed and the first differing event; rerun one with
 * `-t 'seed 0x…'`.
 */
import { describe, expect, it } from 'vitest';
import { BarAggregator, BarEvent, type AggregatorOptions } from '../../src/bars/aggregator.ts';
import { readBar, type Bar } from '../../src/model/records.ts';
import type { SessionFilter } from '../../src/model/sessions.ts';
import { CollectingSink } from '../support/collect.ts';
import { Prng } from '../support/prng.ts';

const SETS: readonly (readonly string[])[] = [
  ['1s', '1m', '5m', '15m', '1h', '1d'], // the benchmark's set
  ['5m', '1s', '1m'], // the shortest not first
  ['5s', '15s', '1m', '3m'], // a chain whose members are not multiples of each other (1m of 15s yes, 3m of 1m yes)
  ['3m', '5m', '15m', '1h'], // 5m is not a multiple of 3m: it folds every trade itself
  ['1d', '1w', '1h'], // weeks aligned on Monday, days on the epoch: both on 1h's alignment
  ['1m'], // one timeframe: nothing to fold
];
/** Where the aggregators are replaced by new ones resumed from the bars the old ones left (a worker restart). */
const RESTART_STEP = 1500;
const SEEDS = Array.from({ length: 24 }, (_, i) => (0xf01d_0000 + i * 0x9e37) >>> 0);
const T0 = Date.UTC(2024, 7, 11, 23, 58, 30); // a Sunday: the stream crosses an hour, a day and a week

/** Trading stops for minutes 20–29 of every hour (tests flat bars skipped outside a session). */
const session: SessionFilter = (start, ms) => {
  const end = start + ms;
  for (let h = Math.floor(start / 3_600_000) * 3_600_000; h < end; h += 3_600_000) {
    if (start < h + 20 * 60_000 || end > h + 30 * 60_000) return true;
  }
  return false;
};

interface Case {
  timeframes: readonly string[];
  options: AggregatorOptions;
}

function caseOf(rng: Prng): Case {
  const timeframes = rng.pick(SETS);
  const options: AggregatorOptions = {
    batchForming: true,
    fillEmpty: rng.chance(0.7),
    lateToleranceMs: rng.pick([500, 2000, 5000]),
    graceMs: rng.pick([0, 250, 1000]),
    tradeIdOrder: rng.pick(['increasing', 'any'] as const),
    maxFillBars: rng.pick([3, 1000]),
  };
  if (rng.chance(0.3)) options.session = session;
  if (rng.chance(0.3)) options.blindUntil = T0 + rng.int(0, 5000);
  return { timeframes, options };
}

/**
 * Drive `aggs` (same options but folding) through the same seeded calls;
 * `check` after each publish; at step RESTART_STEP, `restart` hands back
 * new aggregators (a restarted worker) to drive from there.
 */
function drive(seed: number, start: readonly BarAggregator[], check: (step: number) => void, restart: () => readonly BarAggregator[]): void {
  let aggs = start;
  const rng = new Prng(seed);
  let ts = T0;
  let id = 1;
  const sent: { ts: number; price: number; size: number; side: number; id: number }[] = [];
  let price = 100;
  for (let step = 0; step < 2500; step++) {
    if (step === RESTART_STEP) aggs = restart();
    const roll = rng.float();
    if (roll < 0.7) {
      // A new trade, or a late / duplicate / tied one.
      ts += rng.chance(0.02) ? rng.int(1000, 180_000) : rng.chance(0.3) ? 0 : rng.int(1, 900);
      price = Math.max(1, price + rng.int(-5, 5) / 4);
      let trade = { ts, price, size: rng.int(1, 10_000_000) / 1e8, side: rng.pick([1, -1, 0]), id: rng.chance(0.05) ? NaN : id++ };
      const kind = rng.float();
      if (kind < 0.12 && sent.length > 0) {
        const back = rng.int(1, Math.min(sent.length, 400));
        trade = { ...sent[sent.length - back]!, price: price + 1 }; // the same id again, or an id-less one re-stamped
        if (!(trade.id === trade.id)) trade.id = NaN;
      } else if (kind < 0.3) {
        trade = { ...trade, ts: ts - rng.int(1, rng.chance(0.5) ? 3000 : 20_000) }; // late by up to 20 s (past tolerance at times)
      }
      sent.push(trade);
      for (const agg of aggs) agg.addTrade(trade.ts, trade.price, trade.size, trade.side, trade.id);
    } else if (roll < 0.8) {
      const q = ts - rng.int(-500, 3000);
      const ask = price + rng.int(1, 4) / 4;
      for (const agg of aggs) agg.addQuote(q, price - 0.25, ask);
    } else if (roll < 0.9) {
      const local = ts + rng.int(-2000, 90_000); // the clock, sometimes well ahead of the trades
      for (const agg of aggs) agg.advance(local);
    } else if (roll < 0.91) {
      const from = ts - rng.int(0, 60_000);
      const to = from + rng.int(0, 30_000);
      for (const agg of aggs) agg.markGap(from, to);
    } else if (roll < 0.915) {
      for (const agg of aggs) agg.watchingFrom(ts + rng.int(-3000, 3000)); // the feed came up (no effect without blindUntil)
    }
    if (rng.chance(0.25)) {
      for (const agg of aggs) agg.publishForming();
      check(step);
    }
  }
  for (const agg of aggs) agg.publishForming();
  check(-1);
}

const KEYS = ['openTime', 'closeTime', 'open', 'high', 'low', 'close', 'volume', 'quoteVolume', 'buyVolume', 'sellVolume', 'trades', 'firstTradeId', 'lastTradeId', 'vwap', 'spread', 'closed', 'revision', 'gapped', 'source'] as const;

function sameBar(a: Bar | undefined, b: Bar | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return KEYS.every((k) => Object.is(a[k], b[k]));
}

function show(e: { event: BarEvent; bar: Bar } | undefined): string {
  return e === undefined ? 'nothing' : `${['FORMING', 'CLOSED', 'AMENDED'][e.event]} ${JSON.stringify(e.bar)}`;
}

/** Totals over the seeds (the tests of one file run in order): the last test checks the paths were taken. */
const covered = { amended: 0, dropped: 0, duplicates: 0 };

describe('BarAggregator folding: the same bars as folding every timeframe', () => {
  for (const seed of SEEDS) {
    it(`seed 0x${seed.toString(16)}`, () => {
      const { timeframes, options } = caseOf(new Prng(seed ^ 0x51ce));
      const foldedSink = new CollectingSink();
      const plainSink = new CollectingSink();
      let folded = new BarAggregator(timeframes, foldedSink, options);
      let plain = new BarAggregator(timeframes, plainSink, { ...options, foldTimeframes: false });
      const counts = { amended: 0, dropped: 0, duplicates: 0 };
      /** A restart: both resumed from the bars the per-timeframe one left (the last closed ones, then the forming one). */
      const restart = () => {
        counts.amended += plain.lateAmended;
        counts.dropped += plain.lateDropped;
        counts.duplicates += plain.duplicatesDropped;
        const next = [new BarAggregator(timeframes, foldedSink, options), new BarAggregator(timeframes, plainSink, { ...options, foldTimeframes: false })] as const;
        for (let tf = 0; tf < timeframes.length; tf++) {
          const bars = plainSink.closedBars(tf).slice(-4);
          plain.forming(tf, (buf, off) => bars.push(readBar(buf, off)));
          for (const agg of next) agg.resume(tf, bars);
        }
        [folded, plain] = next;
        return next;
      };
      const where = `timeframes ${timeframes.join(' ')}, options ${JSON.stringify({ ...options, session: options.session !== undefined })}`;
      drive(seed, [folded, plain], (step) => {
        for (let tf = 0; tf < timeframes.length; tf++) {
          const a: (Bar | undefined)[] = [];
          const b: (Bar | undefined)[] = [];
          folded.forming(tf, (buf, off) => a.push(readBar(buf, off)));
          plain.forming(tf, (buf, off) => b.push(readBar(buf, off)));
          if (!sameBar(a[0], b[0])) expect.fail(`${where}: step ${step}, ${timeframes[tf]} forming: folded ${JSON.stringify(a[0])}, per timeframe ${JSON.stringify(b[0])}`);
        }
      }, restart);
      for (let tf = 0; tf < timeframes.length; tf++) {
        const mine = foldedSink.events.filter((e) => e.tf === tf);
        const theirs = plainSink.events.filter((e) => e.tf === tf);
        const n = Math.max(mine.length, theirs.length);
        for (let i = 0; i < n; i++) {
          const x = mine[i];
          const y = theirs[i];
          if (x === undefined || y === undefined || x.event !== y.event || !sameBar(x.bar, y.bar)) {
            expect.fail(`${where}: ${timeframes[tf]} event ${i} of ${n}: folded ${show(x)}, per timeframe ${show(y)}`);
          }
        }
      }
      expect(folded.lateAmended).toBe(plain.lateAmended);
      expect(folded.lateDropped).toBe(plain.lateDropped);
      expect(folded.duplicatesDropped).toBe(plain.duplicatesDropped);
      covered.amended += counts.amended + plain.lateAmended;
      covered.dropped += counts.dropped + plain.lateDropped;
      covered.duplicates += counts.duplicates + plain.duplicatesDropped;
    });
  }

  it('the seeds exercised late trades amending and dropped, and duplicates', () => {
    expect(covered.amended).toBeGreaterThan(100);
    expect(covered.dropped).toBeGreaterThan(100);
    expect(covered.duplicates).toBeGreaterThan(100);
  });
});

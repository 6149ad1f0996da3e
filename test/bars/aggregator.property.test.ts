/**
 * Property tests of BarAggregator over seeded random trade streams.
 *
 * Each seed generates a realistic stream (bursts and quiet gaps up to minutes,
 * random-walk prices, 8-decimal sizes, unique ids in time order), delivers it
 * out of order within `lateToleranceMs` (every trade gets a network latency in
 * [0, tolerance] and trades are delivered in arrival order, so when a trade is
 * delivered no trade already delivered is more than the tolerance newer) and
 * re-sends some trades (immediately, a little later, and reconnect-style
 * replays of the last few trades). The final bars of every timeframe (closed
 * bars as the sink last saw them, plus the forming bar) are then checked
 * against the unique trades and against each other.
 *
 * Failures list the seed, variant, timeframe and bar; rerun one seed with
 * `-t 'seed 0x…'`.
 */
import { describe, expect, it } from 'vitest';
import { BarAggregator, BarEvent } from '../../src/bars/aggregator.ts';
import type { TradeIdOrder } from '../../src/bars/recent-ids.ts';
import { BarField, readBar, type Bar } from '../../src/model/records.ts';
import { bucketStart, parseTimeframe } from '../../src/model/timeframes.ts';
import { CollectingSink } from '../support/collect.ts';
import { Prng } from '../support/prng.ts';

const TIMEFRAMES = ['1s', '5s', '15s', '1m', '3m', '5m'] as const;
const TF_MS = TIMEFRAMES.map((t) => parseTimeframe(t).ms);
const TOLERANCE_MS = 2000;
const GRACE_MS = 250;
const SEED_COUNT = 30;
const TRADES_PER_SEED = 3000;
const SEEDS = Array.from({ length: SEED_COUNT }, (_, i) => (0x7e57_0000 + i * 0x9e37) >>> 0);
/** Sizes are integers of this many units (8 decimals). */
const GRID = 1e8;
const REL = 1e-9;

interface GenTrade {
  ts: number;
  price: number;
  size: number;
  /** size × 1e8, exactly. */
  units: number;
  side: number;
  id: number;
}

interface Delivery {
  trade: GenTrade;
  /** Exchange-clock time the trade reaches us, ms (non-decreasing along the deliveries). */
  arrival: number;
  duplicate: boolean;
}

interface Stream {
  /** The unique trades in (exchange time, id) order. */
  trades: GenTrade[];
  deliveries: Delivery[];
  duplicates: number;
}

// ---------------------------------------------------------------------------
// Stream generation

function generateStream(seed: number, count: number): Stream {
  const rng = new Prng(seed);
  const trades: GenTrade[] = [];

  // Start somewhere in late 2023, sometimes exactly on a 5-minute boundary.
  let ts = 1_700_000_000_000 - (1_700_000_000_000 % 300_000) + rng.int(0, 10_000) * 300_000;
  if (rng.chance(0.5)) ts += rng.int(0, 299_999);
  let id = rng.int(1, 6_000_000_000);
  const decimals = rng.pick([1, 2, 2, 4]);
  const divisor = 10 ** decimals;
  let ticks = rng.int(5, 70_000) * divisor;
  let burst = false;
  // Pairs x -> y with ts_y = ts_x + TOLERANCE_MS exactly; x is delivered right after y,
  // late by exactly the tolerance (which must still amend).
  const boundPairs = new Map<number, number>();
  let anchor: { from: number; at: number } | undefined;

  for (let i = 0; i < count; i++) {
    if (i > 0) {
      // Regimes: bursts of trades in the same or adjacent milliseconds, quiet stretches between.
      if (rng.chance(burst ? 0.05 : 0.1)) burst = !burst;
      let step: number;
      const r = rng.float();
      if (burst) step = r < 0.5 ? 0 : r < 0.95 ? rng.int(1, 5) : rng.int(5, 60);
      else if (r < 0.55) step = rng.int(0, 400);
      else if (r < 0.85) step = rng.int(400, 2500);
      else if (r < 0.96) step = rng.int(2_500, 20_000); // several 1s/5s buckets
      else if (r < 0.993) step = rng.int(20_000, 130_000); // whole 15s/1m buckets
      else step = rng.int(130_000, 420_000); // whole 3m/5m buckets
      ts += step;
      // Land exactly on a bucket boundary now and then.
      if (step > 0 && rng.chance(0.03)) ts = Math.ceil(ts / 1000) * 1000;
      if (step > 0 && rng.chance(0.01)) ts = Math.ceil(ts / 60_000) * 60_000;
      if (anchor !== undefined && ts >= anchor.at) {
        ts = anchor.at;
        boundPairs.set(anchor.from, i);
        anchor = undefined;
      } else if (anchor === undefined && rng.chance(0.03)) {
        anchor = { from: i, at: ts + TOLERANCE_MS };
      }
      const move = rng.float();
      if (move < 0.45) ticks += 0;
      else if (move < 0.97) ticks += (rng.chance(0.5) ? 1 : -1) * rng.int(1, burst ? 8 : 3);
      else ticks += (rng.chance(0.5) ? 1 : -1) * rng.int(10, 200);
      if (ticks < 1) ticks = 1;
    }
    // Sizes with up to 8 decimals: dust, fractions, whole-ish lots.
    const k = rng.float();
    let units: number;
    if (k < 0.25) units = rng.int(1, 100_000);
    else if (k < 0.75) units = rng.int(1, GRID);
    else if (k < 0.95) units = rng.int(1, 5000) * 100_000; // 3 decimals
    else units = rng.int(1, 20) * GRID; // whole units
    const sideDraw = rng.float();
    const side = sideDraw < 0.06 ? 0 : sideDraw < 0.53 ? 1 : -1;
    id += rng.chance(0.9) ? 1 : rng.int(2, 50); // ids increase, with holes (other symbols' trades)
    trades.push({ ts, price: ticks / divisor, size: units / GRID, units, side, id });
  }

  // Arrival order: each trade gets a latency in [0, TOLERANCE_MS]. Delivered in arrival
  // order, a trade X delivered after Y has ts_Y + lat_Y <= ts_X + lat_X, hence
  // ts_Y - ts_X <= lat_X - lat_Y <= TOLERANCE_MS: never later than the tolerance.
  const timed = trades.map((trade) => {
    const r = rng.float();
    let lat: number;
    if (r < 0.7) lat = rng.int(0, 30);
    else if (r < 0.9) lat = rng.int(30, 500);
    else if (r < 0.98) lat = rng.int(500, TOLERANCE_MS);
    else lat = TOLERANCE_MS; // exactly at the bound
    return { trade, arrival: trade.ts + lat, tie: rng.float() };
  });
  for (const [x, y] of boundPairs) {
    // Same arrival; the tie-breakers put y first, so x arrives exactly TOLERANCE_MS late.
    timed[x] = { trade: trades[x]!, arrival: trades[y]!.ts, tie: 2 };
    timed[y] = { trade: trades[y]!, arrival: trades[y]!.ts, tie: -1 };
  }
  timed.sort((a, b) => a.arrival - b.arrival || a.tie - b.tie);

  // Duplicates: immediate re-sends, re-sends a few deliveries later, and
  // reconnect overlaps that replay the last few trades.
  const deliveries: Delivery[] = [];
  const pending: { due: number; trade: GenTrade }[] = [];
  let duplicates = 0;
  const flush = (i: number, arrival: number) => {
    for (let p = 0; p < pending.length; ) {
      if (pending[p]!.due <= i) {
        deliveries.push({ trade: pending[p]!.trade, arrival, duplicate: true });
        duplicates++;
        pending.splice(p, 1);
      } else {
        p++;
      }
    }
  };
  for (let i = 0; i < timed.length; i++) {
    const { trade, arrival } = timed[i]!;
    deliveries.push({ trade, arrival, duplicate: false });
    if (rng.chance(0.02)) pending.push({ due: i, trade });
    if (rng.chance(0.02)) pending.push({ due: i + rng.int(1, 60), trade });
    if (rng.chance(0.004)) {
      const m = rng.int(2, 20);
      for (let j = Math.max(0, i - m + 1); j <= i; j++) pending.push({ due: i, trade: timed[j]!.trade });
    }
    flush(i, arrival);
  }
  flush(Infinity, timed[timed.length - 1]!.arrival);
  return { trades, deliveries, duplicates };
}

// ---------------------------------------------------------------------------
// Running the aggregator

interface Variant {
  name: string;
  fillEmpty: boolean;
  /** Drive `advance()` from a local clock that lags exchange time. */
  advance: boolean;
  dedupCapacity?: number;
  tradeIdOrder?: TradeIdOrder;
}

const VARIANTS: Variant[] = [
  { name: 'fillEmpty, trades only', fillEmpty: true, advance: false },
  { name: 'no fill, trades only', fillEmpty: false, advance: false },
  { name: 'fillEmpty, lagging clock', fillEmpty: true, advance: true },
  { name: 'no fill, lagging clock', fillEmpty: false, advance: true },
  // Duplicates arrive at most ~80 unique trades after the original: a small
  // arrival-order de-dup set still catches them all while evicting constantly.
  { name: 'fillEmpty, small dedup set, any id order', fillEmpty: true, advance: false, dedupCapacity: 128, tradeIdOrder: 'any' },
  // Ids with holes span up to a few thousand between a trade and its re-send: a window of 4096 ids.
  { name: 'no fill, 4096-id dedup window', fillEmpty: false, advance: true, dedupCapacity: 4096, tradeIdOrder: 'increasing' },
];

/**
 * Also checks rule 2 as events happen: a bar is published CLOSED only once a trade
 * at or past its end was taken or the clock (local + offset) passed its end + grace.
 */
class TimingSink extends CollectingSink {
  agg: BarAggregator | undefined;
  /** The aggregator's exchange-time clock at the latest advance(), ms. */
  clock = -Infinity;
  readonly early: string[] = [];

  override onBar(tf: number, event: BarEvent, buf: Float64Array, offset: number): void {
    if (event === BarEvent.CLOSED) {
      const end = buf[offset + BarField.CLOSE_TIME]! + 1;
      if (!(this.agg!.newestTradeTs >= end || this.clock >= end + GRACE_MS)) {
        this.early.push(`${TIMEFRAMES[tf]} closed early (newest trade ${this.agg!.newestTradeTs}, clock ${this.clock}): ${fmt(readBar(buf, offset))}`);
      }
    }
    super.onBar(tf, event, buf, offset);
  }
}

interface Run {
  agg: BarAggregator;
  sink: TimingSink;
  /** advance() left a forming bar whose end + grace the clock had passed. */
  overdue: string[];
  /** Final bars per timeframe: the closed bars, then the forming bar. */
  series: Bar[][];
  forming: (Bar | undefined)[];
}

/**
 * `batched`: run with `batchForming`, calling `publishForming` after a
 * random quarter of the aggregator's calls (and at the end); records what
 * breaks its contract there (a FORMING event outside `publishForming`, or a
 * forming bar it handed over that differs from the aggregator's own).
 */
function runVariant(seed: number, stream: Stream, variant: Variant, batched?: { broken: string[] }): Run {
  const sink = new TimingSink();
  const overdue: string[] = [];
  const publishRng = new Prng(seed ^ 0x0b47_c4ed);
  /** After a call on the aggregator: FORMING only from publishForming, and what it handed over is current. */
  const afterCall = (before: number) => {
    if (batched === undefined) return;
    for (let i = before; i < sink.events.length; i++) {
      if (sink.events[i]!.event === BarEvent.FORMING && batched.broken.length < 10) batched.broken.push(`FORMING outside publishForming: ${fmt(sink.events[i]!.bar)}`);
    }
    if (publishRng.int(0, 3) !== 0) return;
    agg.publishForming();
    for (let tf = 0; tf < TIMEFRAMES.length; tf++) {
      agg.forming(tf, (buf, off) => {
        const mine = readBar(buf, off);
        const handed = sink.formingBars[tf];
        if ((handed === undefined || !sameBar(handed, mine)) && batched.broken.length < 10) batched.broken.push(`${TIMEFRAMES[tf]} forming handed over ${handed && fmt(handed)}, aggregator has ${fmt(mine)}`);
      });
    }
  };
  const agg = new BarAggregator(TIMEFRAMES, sink, {
    batchForming: batched !== undefined,
    fillEmpty: variant.fillEmpty,
    lateToleranceMs: TOLERANCE_MS,
    graceMs: GRACE_MS,
    ...(variant.dedupCapacity !== undefined ? { dedupCapacity: variant.dedupCapacity } : {}),
    ...(variant.tradeIdOrder !== undefined ? { tradeIdOrder: variant.tradeIdOrder } : {}),
  });
  sink.agg = agg;
  if (!variant.advance) {
    for (const { trade: t } of stream.deliveries) {
      const before = sink.events.length;
      agg.addTrade(t.ts, t.price, t.size, t.side, t.id);
      afterCall(before);
    }
  } else {
    // local = exchange - offset - lag; the aggregator adds the offset back, so its
    // notion of exchange time trails the arrivals by `lag` ms. A timer ticks every
    // `tick` ms of local time, also through quiet stretches.
    const rng = new Prng(seed ^ 0x5a5a_5a5a);
    const offset = rng.int(-3000, 3000);
    const lag = rng.int(0, 400);
    const tick = rng.int(50, 500);
    agg.clockOffsetMs = offset;
    const local = (exchangeMs: number) => exchangeMs - offset - lag;
    const advance = (localNow: number) => {
      sink.clock = localNow + offset;
      const before = sink.events.length;
      agg.advance(localNow);
      afterCall(before);
      // Quiet markets close bars on time: nothing forming may be past its end + grace.
      for (let tf = 0; tf < TIMEFRAMES.length; tf++) {
        agg.forming(tf, (buf, off) => {
          if (sink.clock >= buf[off + BarField.OPEN_TIME]! + TF_MS[tf]! + GRACE_MS && overdue.length < 10) {
            overdue.push(`${TIMEFRAMES[tf]} still forming at clock ${sink.clock}: ${fmt(readBar(buf, off))}`);
          }
        });
      }
    };
    let nextTick = local(stream.deliveries[0]!.arrival);
    for (const { trade: t, arrival } of stream.deliveries) {
      const now = local(arrival);
      for (; nextTick <= now; nextTick += tick) advance(nextTick);
      const before = sink.events.length;
      agg.addTrade(t.ts, t.price, t.size, t.side, t.id);
      afterCall(before);
    }
    advance(nextTick);
  }
  agg.publishForming();
  const series: Bar[][] = [];
  const forming: (Bar | undefined)[] = [];
  for (let tf = 0; tf < TIMEFRAMES.length; tf++) {
    const got: Bar[] = [];
    agg.forming(tf, (buf, off) => got.push(readBar(buf, off)));
    forming[tf] = got[0];
    series[tf] = [...sink.closedBars(tf), ...got];
  }
  return { agg, sink, overdue, series, forming };
}

// ---------------------------------------------------------------------------
// Checking

function relClose(a: number, b: number): boolean {
  return a === b || Math.abs(a - b) <= REL * Math.max(Math.abs(a), Math.abs(b));
}

function fmt(b: Bar): string {
  const time = Math.abs(b.openTime) <= 8.64e15 ? new Date(b.openTime).toISOString() : String(b.openTime);
  return `${time} O=${b.open} H=${b.high} L=${b.low} C=${b.close} V=${b.volume} n=${b.trades} ids=${b.firstTradeId}..${b.lastTradeId} rev=${b.revision}`;
}

const BAR_KEYS = [
  'openTime', 'closeTime', 'open', 'high', 'low', 'close', 'volume', 'quoteVolume', 'buyVolume',
  'sellVolume', 'trades', 'firstTradeId', 'lastTradeId', 'vwap', 'spread', 'closed', 'revision',
] as const satisfies readonly (keyof Bar)[];

function sameBar(a: Bar, b: Bar): boolean {
  return BAR_KEYS.every((k) => Object.is(a[k], b[k]));
}

/** What a bar must hold, computed directly from the unique trades in its bucket. */
interface Expected {
  open: GenTrade;
  close: GenTrade;
  high: number;
  low: number;
  trades: number;
  units: number;
  buyUnits: number;
  sellUnits: number;
  quoteVolume: number;
}

function expectedBuckets(trades: readonly GenTrade[], ms: number): Map<number, Expected> {
  const map = new Map<number, Expected>();
  // `trades` are in (ts, id) order: the first seen in a bucket opens it, the last closes it.
  for (const t of trades) {
    const start = bucketStart(t.ts, ms, 0);
    const e = map.get(start);
    if (e === undefined) {
      map.set(start, {
        open: t, close: t, high: t.price, low: t.price, trades: 1, units: t.units,
        buyUnits: t.side > 0 ? t.units : 0, sellUnits: t.side < 0 ? t.units : 0, quoteVolume: t.price * t.size,
      });
    } else {
      e.close = t;
      if (t.price > e.high) e.high = t.price;
      if (t.price < e.low) e.low = t.price;
      e.trades++;
      e.units += t.units;
      if (t.side > 0) e.buyUnits += t.units;
      else if (t.side < 0) e.sellUnits += t.units;
      e.quoteVolume += t.price * t.size;
    }
  }
  return map;
}

/** The properties, reported separately so one failing property does not hide another. */
const PROPERTIES = [
  'counters', // duplicatesDropped, lateDropped, tradesSeen, newestTradeTs
  'structure', // aligned, ordered, contiguous with fillEmpty, first/last bucket, forming bar
  'totals', // (1) volume and trade count over all bars
  'ohlc', // (2) high/low bound open/close; buy+sell <= volume; flat bars at the previous close
  'vwap', // (2) vwap within [low, high]
  'direct', // (4) each bar equals its bucket computed from the unique trades
  'merge', // (3) each timeframe equals its 1s bars merged up
  'revisions', // closed bars re-published with revision 0, 1, 2, …
  'timing', // bars close when a trade reaches their end or the clock passes end + grace, not before or after
] as const;
type Property = (typeof PROPERTIES)[number];

interface Violations {
  shown: Record<Property, string[]>;
  total: Record<Property, number>;
}

function verify(stream: Stream, variant: Variant, run: Run): Violations {
  const shown = Object.fromEntries(PROPERTIES.map((p) => [p, [] as string[]])) as Record<Property, string[]>;
  const total = Object.fromEntries(PROPERTIES.map((p) => [p, 0])) as Record<Property, number>;
  let property: Property = 'counters';
  const fail = (msg: string) => {
    total[property]++;
    if (shown[property].length < 10) shown[property].push(msg);
  };
  const { agg, sink, overdue, series, forming } = run;
  const trades = stream.trades;
  const minTs = trades[0]!.ts;
  const maxTs = trades[trades.length - 1]!.ts;
  let totalUnits = 0;
  for (const t of trades) totalUnits += t.units;

  // Counters.
  if (agg.tradesSeen !== stream.deliveries.length) fail(`tradesSeen ${agg.tradesSeen} != ${stream.deliveries.length}`);
  if (agg.duplicatesDropped !== stream.duplicates) fail(`duplicatesDropped ${agg.duplicatesDropped} != ${stream.duplicates} injected`);
  if (agg.lateDropped !== 0) fail(`lateDropped ${agg.lateDropped} != 0`);
  if (agg.newestTradeTs !== maxTs) fail(`newestTradeTs ${agg.newestTradeTs} != ${maxTs}`);

  for (let tf = 0; tf < TIMEFRAMES.length; tf++) {
    const name = TIMEFRAMES[tf]!;
    const ms = TF_MS[tf]!;
    const bars = series[tf]!;
    property = 'structure';
    const at = (b: Bar) => `${name} ${fmt(b)}`;

    // Structure: aligned, ordered, closed bars then the forming bar, sink agrees on the forming bar.
    const f = forming[tf];
    if (f !== undefined) {
      if (f.closed) fail(`${name} forming bar marked closed: ${fmt(f)}`);
      const seen = sink.formingBars[tf];
      if (seen === undefined || !sameBar(seen, f)) fail(`${name} sink's forming bar differs from the aggregator's: ${fmt(f)}`);
    } else if (!variant.advance || variant.fillEmpty) {
      fail(`${name} has no forming bar`);
    }
    for (let i = 0; i < bars.length; i++) {
      const b = bars[i]!;
      if (b.openTime % ms !== 0 || b.closeTime !== b.openTime + ms - 1) fail(`misaligned ${at(b)}`);
      if (b !== f && !b.closed) fail(`closed bar not marked closed: ${at(b)}`);
      if (i > 0) {
        const step = b.openTime - bars[i - 1]!.openTime;
        if (step <= 0) fail(`bars out of order at ${at(b)}`);
        else if (variant.fillEmpty && step !== ms) fail(`gap of ${step} ms before ${at(b)} with fillEmpty`);
      }
    }
    if (bars.length === 0) {
      fail(`${name}: no bars at all`);
      continue;
    }
    if (bars[0]!.openTime !== bucketStart(minTs, ms, 0)) fail(`${name}: first bar ${fmt(bars[0]!)} is not the bucket of the first trade`);
    const last = bars[bars.length - 1]!.openTime;
    const lastTradeBucket = bucketStart(maxTs, ms, 0);
    if (variant.advance && variant.fillEmpty ? last < lastTradeBucket : last !== lastTradeBucket) {
      fail(`${name}: last bar ${fmt(bars[bars.length - 1]!)} vs bucket of the last trade ${lastTradeBucket}`);
    }

    // (1) Totals over all bars equal the unique trades.
    property = 'totals';
    let count = 0;
    let volume = 0;
    for (const b of bars) {
      count += b.trades;
      volume += b.volume;
    }
    if (count !== trades.length) fail(`${name}: ${count} trades in bars != ${trades.length} unique trades`);
    if (!relClose(volume, totalUnits / GRID)) fail(`${name}: volume ${volume} in bars != ${totalUnits / GRID}`);

    // (2) Per-bar invariants; flat bars carry the previous close.
    for (let i = 0; i < bars.length; i++) {
      const b = bars[i]!;
      property = 'ohlc';
      if (!(b.high >= Math.max(b.open, b.close))) fail(`high < max(open, close): ${at(b)}`);
      if (!(b.low <= Math.min(b.open, b.close))) fail(`low > min(open, close): ${at(b)}`);
      if (b.trades > 0) {
        if (!(b.volume > 0)) fail(`bar with trades has volume ${b.volume}: ${at(b)}`);
        if (!(b.buyVolume + b.sellVolume <= b.volume * (1 + REL))) fail(`buy ${b.buyVolume} + sell ${b.sellVolume} > volume: ${at(b)}`);
        property = 'vwap';
        if (b.vwap === null || !(b.vwap >= b.low && b.vwap <= b.high)) fail(`vwap ${b.vwap} outside [low, high]: ${at(b)}`);
        property = 'ohlc';
      } else {
        if (!variant.fillEmpty) fail(`flat bar with fillEmpty off: ${at(b)}`);
        const prev = bars[i - 1];
        if (prev === undefined || prev.openTime !== b.openTime - ms) {
          fail(`flat bar without a previous bar: ${at(b)}`);
        } else if (!(b.open === prev.close && b.high === prev.close && b.low === prev.close && b.close === prev.close)) {
          fail(`flat bar not at previous close ${prev.close}: ${at(b)}`);
        }
        if (b.volume !== 0 || b.quoteVolume !== 0 || b.buyVolume !== 0 || b.sellVolume !== 0 || b.vwap !== null) {
          fail(`flat bar with volume: ${at(b)}`);
        }
        if (b.firstTradeId !== null || b.lastTradeId !== null) fail(`flat bar with trade ids: ${at(b)}`);
      }
    }

    // (4) Each bar equals its bucket computed directly from the unique trades; every
    // bar closes at the last trade at or before its end (flat bars included).
    property = 'direct';
    const expected = expectedBuckets(trades, ms);
    let withTrades = 0;
    let cursor = -1; // index of the last trade with ts <= the current bar's closeTime
    for (const b of bars) {
      while (cursor + 1 < trades.length && trades[cursor + 1]!.ts <= b.closeTime) cursor++;
      if (cursor >= 0 && b.close !== trades[cursor]!.price) {
        fail(`close ${b.close} is not the last trade up to the bar's end (id ${trades[cursor]!.id} @ ${trades[cursor]!.price}): ${at(b)}`);
      }
      const e = expected.get(b.openTime);
      if (e === undefined) {
        if (b.trades !== 0) fail(`bar with trades in a bucket without trades: ${at(b)}`);
        continue;
      }
      withTrades++;
      if (b.trades !== e.trades) fail(`trades ${b.trades} != ${e.trades}: ${at(b)}`);
      if (b.open !== e.open.price || b.firstTradeId !== e.open.id) {
        fail(`open is not trade ${e.open.id} @ ${e.open.price} (first by (ts, id)): ${at(b)}`);
      }
      if (b.close !== e.close.price || b.lastTradeId !== e.close.id) {
        fail(`close is not trade ${e.close.id} @ ${e.close.price} (last by (ts, id)): ${at(b)}`);
      }
      if (b.high !== e.high || b.low !== e.low) fail(`high/low != ${e.high}/${e.low}: ${at(b)}`);
      // Documented: volumes are the float of the exact 8-decimal sum.
      if (b.volume !== e.units / GRID) fail(`volume ${b.volume} != exact ${e.units / GRID}: ${at(b)}`);
      if (b.buyVolume !== e.buyUnits / GRID) fail(`buyVolume ${b.buyVolume} != exact ${e.buyUnits / GRID}: ${at(b)}`);
      if (b.sellVolume !== e.sellUnits / GRID) fail(`sellVolume ${b.sellVolume} != exact ${e.sellUnits / GRID}: ${at(b)}`);
      if (!relClose(b.quoteVolume, e.quoteVolume)) fail(`quoteVolume ${b.quoteVolume} != ${e.quoteVolume}: ${at(b)}`);
    }
    if (withTrades !== expected.size) fail(`${name}: ${expected.size} buckets hold trades but ${withTrades} bars were found for them`);
  }

  // (3) Every timeframe equals its 1s bars merged up.
  property = 'merge';
  const ones = series[0]!;
  for (let tf = 1; tf < TIMEFRAMES.length; tf++) {
    const name = TIMEFRAMES[tf]!;
    const ms = TF_MS[tf]!;
    let j = 0;
    for (const b of series[tf]!) {
      const end = b.openTime + ms;
      while (j < ones.length && ones[j]!.openTime < b.openTime) j++;
      let first: Bar | undefined;
      let lastNonEmpty: Bar | undefined;
      let high = -Infinity;
      let low = Infinity;
      let volume = 0;
      let quoteVolume = 0;
      let buy = 0;
      let sell = 0;
      let n = 0;
      for (; j < ones.length && ones[j]!.openTime < end; j++) {
        const o = ones[j]!;
        if (o.trades === 0) continue;
        first ??= o;
        lastNonEmpty = o;
        high = Math.max(high, o.high);
        low = Math.min(low, o.low);
        volume += o.volume;
        quoteVolume += o.quoteVolume;
        buy += o.buyVolume;
        sell += o.sellVolume;
        n += o.trades;
      }
      const at = `${name} ${fmt(b)}`;
      if (b.trades !== n) {
        fail(`trades ${b.trades} != ${n} in its 1s bars: ${at}`);
        continue;
      }
      if (first === undefined || lastNonEmpty === undefined) continue; // flat: checked against the previous bar above
      if (b.open !== first.open || b.firstTradeId !== first.firstTradeId) fail(`open != first 1s bar's ${fmt(first)}: ${at}`);
      if (b.close !== lastNonEmpty.close || b.lastTradeId !== lastNonEmpty.lastTradeId) fail(`close != last 1s bar's ${fmt(lastNonEmpty)}: ${at}`);
      if (b.high !== high || b.low !== low) fail(`high/low != ${high}/${low} of its 1s bars: ${at}`);
      if (!relClose(b.volume, volume)) fail(`volume != ${volume} of its 1s bars: ${at}`);
      if (!relClose(b.quoteVolume, quoteVolume)) fail(`quoteVolume ${b.quoteVolume} != ${quoteVolume} of its 1s bars: ${at}`);
      if (!relClose(b.buyVolume, buy) || !relClose(b.sellVolume, sell)) fail(`buy/sell volume != ${buy}/${sell} of its 1s bars: ${at}`);
    }
  }

  // Re-publication: a bar's closed revisions go 0, 1, 2, … in the order the sink sees them.
  property = 'revisions';
  const lastRevision = new Map<string, number>();
  for (const { tf, event, bar } of sink.events) {
    if (event === BarEvent.FORMING) continue;
    const key = `${TIMEFRAMES[tf]} ${bar.openTime}`;
    const prev = lastRevision.get(key);
    const want = prev === undefined ? 0 : prev + 1;
    if (bar.revision !== want) fail(`${TIMEFRAMES[tf]} event ${event} revision ${bar.revision}, expected ${want}: ${fmt(bar)}`);
    lastRevision.set(key, bar.revision);
  }

  property = 'timing';
  for (const msg of sink.early) fail(msg);
  for (const msg of overdue) fail(msg);

  return { shown, total };
}

// ---------------------------------------------------------------------------

const streams = new Map<number, Stream>();
function streamFor(seed: number): Stream {
  let s = streams.get(seed);
  if (s === undefined) streams.set(seed, (s = generateStream(seed, TRADES_PER_SEED)));
  return s;
}

describe('generated streams', () => {
  it.each(SEEDS.map((s) => `0x${s.toString(16)}`))('seed %s respects the late bound and has duplicates', (hex) => {
    const stream = streamFor(Number(hex));
    let newest = -Infinity;
    let worst = 0;
    let outOfOrder = 0;
    const seen = new Set<number>();
    let dups = 0;
    let mislabelled = 0;
    for (const { trade, duplicate } of stream.deliveries) {
      if (seen.has(trade.id)) {
        dups++;
        if (!duplicate) mislabelled++;
        continue;
      }
      if (duplicate) mislabelled++;
      seen.add(trade.id);
      if (trade.ts < newest) outOfOrder++;
      newest = Math.max(newest, trade.ts);
      worst = Math.max(worst, newest - trade.ts);
    }
    expect(mislabelled).toBe(0);
    expect(seen.size).toBe(stream.trades.length);
    expect(dups).toBe(stream.duplicates);
    expect(dups).toBeGreaterThan(0);
    expect(worst).toBe(TOLERANCE_MS); // the bound is reached, never exceeded
    expect(outOfOrder).toBeGreaterThan(0);
  });
});

describe.each(VARIANTS)('BarAggregator properties ($name)', (variant) => {
  it.each(SEEDS.map((s) => `0x${s.toString(16)}`))('seed %s', (hex) => {
    const seed = Number(hex);
    const stream = streamFor(seed);
    const run = runVariant(seed, stream, variant);
    const { shown, total } = verify(stream, variant, run);
    for (const p of PROPERTIES) {
      expect.soft(shown[p], `property '${p}': ${total[p]} violations (first ${shown[p].length} shown)`).toEqual([]);
    }
    // The stream must actually exercise the late path.
    expect(run.agg.lateAmended).toBeGreaterThan(0);
  });
});

/**
 * `batchForming` (the exchange worker's mode) changes only when forming bars
 * reach the sink: the closes and amendments, in order, and the final bars are
 * those of the default mode, and each `publishForming` hands over the current
 * forming bars.
 */
describe.each(VARIANTS)('BarAggregator with batchForming ($name)', (variant) => {
  it.each(SEEDS.slice(0, 4).map((s) => `0x${s.toString(16)}`))('seed %s', (hex) => {
    const seed = Number(hex);
    const stream = streamFor(seed);
    const each = runVariant(seed, stream, variant);
    const broken: string[] = [];
    const batched = runVariant(seed, stream, variant, { broken });
    expect(broken).toEqual([]);
    const settled = (run: Run) => run.sink.events.filter((e) => e.event !== BarEvent.FORMING).map((e) => [e.tf, e.event, e.bar]);
    expect(settled(batched)).toEqual(settled(each));
    expect(batched.series).toEqual(each.series);
    expect(batched.sink.eventsOf(BarEvent.FORMING).length).toBeGreaterThan(0);
    expect(batched.sink.eventsOf(BarEvent.FORMING).length).toBeLessThan(each.sink.eventsOf(BarEvent.FORMING).length);
  });
});

/**
 * BarAggregator: trades, quotes and a clock in; OHLCV bars of every configured
 * timeframe out. One instance per (exchange, symbol). Pure: no I/O, no timers;
 * the owner calls `advance(localNowMs)` on its own timer.
 *
 * The rules it implements (docs/bars.md):
 *  1. Buckets by exchange trade time, aligned to UTC multiples of the
 *     timeframe (weeks from Monday). A bar's key is its open time.
 *  2. A bar closes when a trade at or past its end arrives, or when the local
 *     clock plus the measured exchange clock offset passes its end + graceMs.
 *  3. With fillEmpty, a silent interval yields a flat bar (O=H=L=C=previous
 *     close, zero volume, zero trades).
 *  4. Open/close are the first/last trades in (exchange time, trade id) order.
 *     A trade whose bar has closed is late: within lateToleranceMs of the
 *     newest trade seen it amends that bar (revision + 1), else it is dropped
 *     and counted. A trade in the forming bar is always taken.
 *  5. Duplicate trade ids are dropped.
 *
 * Decisions where the rules are silent:
 *  - Lateness is judged per timeframe: a trade too late for its closed 1s bar
 *    is still taken by a 1m bar that is forming, so longer timeframes are
 *    never less complete than shorter ones.
 *  - When a late trade changes a bar's close, the flat bars after it (and a
 *    flat forming bar) follow the new close, each re-published.
 *  - A late trade that lands in a bucket with no bar (before the first bar,
 *    or in a gap when fillEmpty is off) creates that bar (revision 0), plus the
 *    flat bars after it when fillEmpty is on.
 *  - Amendable history is a bucket-indexed ring of ceil((tolerance + grace) /
 *    timeframe) + 2 closed bars per timeframe: in a market silent for longer
 *    than that, a trade arriving later than the ring reaches is dropped even
 *    if within tolerance of the newest trade.
 *  - Volumes are summed with Neumaier compensation, then put back on the
 *    1e-8 decimal grid exchanges print when the sum lies within a few ulps of
 *    it: a bar's volume is the float of the exact decimal sum, not an
 *    accumulation of rounding (see `toGrid`).
 *  - The spread is the mean of (ask − bid) over the quotes whose time falls in
 *    the bar; quotes never open or close bars, and late quotes are ignored.
 *
 * Hot path: all state lives in one Float64Array (one "slot" per bar) and a
 * few per-timeframe typed arrays; nothing is allocated per trade or quote.
 *
 * Folding (with `batchForming`, the exchange worker's mode): a trade that
 * lands in the forming bar of the shortest timeframe ("fine") is folded into
 * that bar only; every longer timeframe whose buckets are whole multiples of
 * fine's, on the same alignment, is "folded": its forming slot accumulates
 * fine's bars as they close (`merge`), and its published forming bar is that
 * accumulation merged with fine's forming bar (`publishForming`, once per
 * batch). Why: a fold per timeframe per trade was most of the aggregation's
 * cost with 6 timeframes. Every other path stays per timeframe, so the rules
 * hold unchanged: a trade late for fine's bar is judged by each timeframe on
 * its own (a forming longer bar folds it into its accumulation; a closed one
 * amends or drops it), and bucket opens, closes, flat fills, sessions, gaps
 * and blindUntil run per timeframe as before. Merging is order-safe: the
 * bars merged into an accumulation hold disjoint, earlier-stamped trades, so
 * open and close fall on the same trades as folding them one by one (ties at
 * equal time and id resolved by arrival, as `fold` does). A timeframe that is
 * not such a multiple keeps folding every trade itself; so does each
 * timeframe after `resume` until its next bucket opens (the resumed forming
 * bar already holds what fine's resumed forming bar holds). Sums merge their
 * compensated pairs, so volumes stay on the exchange's decimal grid.
 */
import { BAR_FIELDS, BarField as F, BarSource, TradeField as T, writeBar, type Bar } from '../model/records.ts';
import type { SessionFilter } from '../model/sessions.ts';
import { bucketStart, parseTimeframe, type Timeframe } from '../model/timeframes.ts';
import { DEFAULT_DEDUP_CAPACITY, tradeIdSet, type TradeIdOrder, type TradeIdSet } from './recent-ids.ts';

/** What happened to the bar handed to a `BarSink`. */
export const BarEvent = {
  /** The forming bar changed (or a new one opened). */
  FORMING: 0,
  /** A bar closed; it is the newest closed bar of its series. */
  CLOSED: 1,
  /** An older closed bar was amended or inserted by a late trade; upsert by openTime. */
  AMENDED: 2,
} as const;
export type BarEvent = (typeof BarEvent)[keyof typeof BarEvent];

/** Receives bars as they change. The record (BAR_FIELDS values at `offset`) is valid only during the call. */
export interface BarSink {
  onBar(tf: number, event: BarEvent, bar: Float64Array, offset: number): void;
}

export interface AggregatorOptions {
  /** Grace after a bar's end before the clock closes it, ms (default 250). */
  graceMs?: number;
  /** Emit flat zero-volume bars for silent intervals (default true). */
  fillEmpty?: boolean;
  /** How much older than the newest trade a late trade may be and still amend, ms (default 5000). */
  lateToleranceMs?: number;
  /**
   * How the venue orders trade ids (default 'increasing'): picks the
   * de-duplication strategy (see recent-ids.ts). Use 'any' for unordered ids.
   */
  tradeIdOrder?: TradeIdOrder;
  /**
   * Trade ids remembered for de-duplication (default 16384, 128 KiB per
   * symbol): with 'increasing' ids, duplicates are caught while the ids in
   * flight span fewer than this; with 'any', among the last this many ids.
   */
  dedupCapacity?: number;
  /** Most flat bars emitted for one silent stretch; older empty buckets are skipped (default 1000). */
  maxFillBars?: number;
  /**
   * Hand forming-bar changes to the sink only on `publishForming()` (default
   * false: at the end of every call that changed one). Closes and amendments
   * go to the sink at once either way. For the exchange worker, which
   * publishes forming bars once per batch of frames rather than per trade
   * and timeframe: a trade in the shortest timeframe's forming bar then costs
   * one fold (see "Folding" in the header), and the derived fields (volumes
   * on the grid, vwap, spread) are computed once per publish.
   */
  batchForming?: boolean;
  /**
   * With `batchForming`: fold trades into the shortest timeframe only and
   * merge its bars into the longer ones that are whole multiples of it
   * (default true; false folds every trade into every timeframe: the
   * reference the folding is tested against).
   */
  foldTimeframes?: boolean;
  /** When the market trades (stocks): no flat bars for buckets outside it. Default: always (crypto). */
  session?: SessionFilter;
  /**
   * An instant (exchange ms) before which trades were not seen, e.g. a cold
   * start (see `watchingFrom`). The bars a timeframe opens first after it
   * (with the flat bars filled before them) miss the trades before the first
   * one seen when their bucket begins at or before this instant: they are
   * marked gapped. Later bars follow a stream already watched and are not,
   * whatever their trades' times (a venue, or the simulated one after a
   * stall, can deliver trades stamped before the subscription; a replay
   * delivers old ones). Default: none.
   */
  blindUntil?: number;
}

// Slot layout: the BAR_FIELDS of the bar, then the aggregator's own fields.
const OPEN_TS = BAR_FIELDS; // exchange time of the open trade
const CLOSE_TS = BAR_FIELDS + 1; // exchange time of the close trade
const VOL_S = BAR_FIELDS + 2; // Neumaier sum / compensation pairs
const QVOL_S = BAR_FIELDS + 4;
const BUY_S = BAR_FIELDS + 6;
const SELL_S = BAR_FIELDS + 8;
const SPREAD_SUM = BAR_FIELDS + 10;
const SPREAD_N = BAR_FIELDS + 11;
const SLOT = BAR_FIELDS + 12;

const AMENDED = 1;
const DROPPED = 2;
/** `place`: the trade was folded into a forming bar. */
const FOLDED_IN = 4;

/** Builds bars of several timeframes for one symbol. */
export class BarAggregator {
  /** The timeframes, in the order of the `tf` index handed to the sink. */
  readonly timeframes: readonly Timeframe[];
  /** Exchange clock minus local clock, ms; set from the feed's measurement. */
  clockOffsetMs = 0;
  /** Trades handed in, duplicates included. */
  tradesSeen = 0;
  duplicatesDropped = 0;
  /** Late trades that amended at least one closed bar. */
  lateAmended = 0;
  /** Late trades dropped from at least one timeframe. */
  lateDropped = 0;
  /** Exchange time of the newest trade taken, ms (-Infinity before the first). */
  newestTradeTs = -Infinity;

  private readonly sink: BarSink;
  private readonly graceMs: number;
  private readonly fillEmpty: boolean;
  private readonly toleranceMs: number;
  private readonly maxFill: number;
  private blindUntil: number;
  private readonly ids: TradeIdSet;
  private readonly n: number;
  private readonly ms: Float64Array;
  private readonly origin: Float64Array;
  /** Slot index of each timeframe's forming bar; its ring follows it. */
  private readonly base: Int32Array;
  private readonly ringSize: Int32Array;
  private readonly hasForming: Uint8Array;
  /** Per timeframe: buckets from here on were watched whole (NaN: none opened since the blind start). */
  private readonly seenFrom: Float64Array;
  /** Per timeframe: 1 when the forming bar changed since it was last handed to the sink. */
  private readonly formingChanged: Uint8Array;
  /** Some `formingChanged` is 1. */
  private changed = false;
  private readonly batchForming: boolean;
  /**
   * The closed frontier: every bucket before it is closed (the forming bar's
   * open time while one forms). The ring holds the buckets just before it.
   * NaN before the first trade.
   */
  private readonly frontier: Float64Array;
  /** Close of the newest closed bar (carried across a closed market), NaN before any. */
  private readonly lastClose: Float64Array;
  private readonly session: SessionFilter | undefined;
  private readonly pendStart: Float64Array;
  private readonly pendSum: Float64Array;
  private readonly pendN: Float64Array;
  private readonly s: Float64Array;
  /** The shortest timeframe (its index), and each timeframe's part in folding (see the header). */
  private readonly fine: number;
  /** Per timeframe: 1 when its buckets are whole multiples of fine's on the same alignment (and folding is on). */
  private readonly chained: Uint8Array;
  /** Per timeframe: 1 while its forming slot is an accumulation of fine's closed bars (fine's forming bar is merged in when published). */
  private readonly folded: Uint8Array;
  /** `fine` when some timeframe is chained (takeTrade places a trade in it first), else -1 (every timeframe in order). */
  private readonly foldFirst: number;
  /** Offset of the slot a folded timeframe's published forming bar is assembled in. */
  private readonly scratch: number;
  /** `addTrade`'s numbers, laid out as TradeField for `takeTrade`. */
  private readonly trade = new Float64Array(4);

  constructor(timeframes: readonly (string | Timeframe)[], sink: BarSink, options: AggregatorOptions = {}) {
    this.timeframes = timeframes.map((t) => (typeof t === 'string' ? parseTimeframe(t) : t));
    this.sink = sink;
    this.graceMs = options.graceMs ?? 250;
    this.fillEmpty = options.fillEmpty ?? true;
    this.toleranceMs = options.lateToleranceMs ?? 5000;
    this.maxFill = Math.max(1, options.maxFillBars ?? 1000);
    this.blindUntil = options.blindUntil ?? NaN;
    this.ids = tradeIdSet(options.tradeIdOrder ?? 'increasing', options.dedupCapacity ?? DEFAULT_DEDUP_CAPACITY);
    const n = (this.n = this.timeframes.length);
    this.ms = new Float64Array(n);
    this.origin = new Float64Array(n);
    this.base = new Int32Array(n);
    this.ringSize = new Int32Array(n);
    this.hasForming = new Uint8Array(n);
    this.seenFrom = new Float64Array(n).fill(NaN);
    this.formingChanged = new Uint8Array(n);
    this.batchForming = options.batchForming ?? false;
    this.frontier = new Float64Array(n).fill(NaN);
    this.pendStart = new Float64Array(n).fill(NaN);
    this.lastClose = new Float64Array(n).fill(NaN);
    this.session = options.session;
    this.pendSum = new Float64Array(n);
    this.pendN = new Float64Array(n);
    let slots = 0;
    for (let tf = 0; tf < n; tf++) {
      const { ms, origin } = this.timeframes[tf]!;
      this.ms[tf] = ms;
      this.origin[tf] = origin;
      this.base[tf] = slots;
      this.ringSize[tf] = Math.ceil((this.toleranceMs + this.graceMs) / ms) + 2;
      slots += 1 + this.ringSize[tf]!;
    }
    this.scratch = slots * SLOT;
    this.s = new Float64Array((slots + 1) * SLOT);
    let fine = 0;
    for (let tf = 1; tf < n; tf++) if (this.ms[tf]! < this.ms[fine]!) fine = tf;
    this.fine = fine;
    this.chained = new Uint8Array(n);
    if (this.batchForming && (options.foldTimeframes ?? true)) {
      const fineMs = this.ms[fine]!;
      for (let tf = 0; tf < n; tf++) {
        const ms = this.ms[tf]!;
        if (tf !== fine && ms > fineMs && ms % fineMs === 0 && (this.origin[tf]! - this.origin[fine]!) % fineMs === 0) this.chained[tf] = 1;
      }
    }
    this.folded = this.chained.slice();
    this.foldFirst = this.chained.includes(1) ? fine : -1;
  }

  /**
   * Take one trade. `side` is +1 aggressor buy, -1 aggressor sell, 0 unknown;
   * `tradeId` NaN when the venue has none. Returns false when it was dropped
   * as a duplicate (so the caller does not publish it either).
   */
  addTrade(ts: number, price: number, size: number, side: number, tradeId: number): boolean {
    const t = this.trade;
    t[T.TS] = ts;
    t[T.PRICE] = price;
    t[T.SIZE] = size;
    t[T.ID] = tradeId;
    return this.takeTrade(t, side);
  }

  /**
   * `addTrade` with the trade's numbers in typed memory (laid out as
   * TradeField): the exchange worker's path, where no double crosses a call
   * (a call V8 does not inline boxes each double argument on the heap).
   */
  takeTrade(t: Float64Array, side: number): boolean {
    this.tradesSeen++;
    const ts = t[T.TS]!;
    const tradeId = t[T.ID]!;
    if (tradeId === tradeId && this.ids.checkAndAdd(tradeId)) {
      this.duplicatesDropped++;
      return false;
    }
    if (ts > this.newestTradeTs) this.newestTradeTs = ts;
    let outcome = 0;
    // Folding: fine first (its closing bar must reach the accumulations before they close), then the rest in order.
    const first = this.foldFirst;
    if (first >= 0) outcome = this.intoForming(first, t) ? this.foldForming(first, t, side) : this.place(first, t, side, 0);
    // FOLDED_IN: the trade went into fine's forming bar; folded timeframes whose bucket holds it leave it there.
    const inFine = outcome & FOLDED_IN;
    for (let tf = 0; tf < this.n; tf++) {
      if (tf === first) continue;
      // The common case, without the modulo of bucketStart: the trade is in the forming bar. A folded
      // timeframe's bucket then holds fine's forming bar too (aligned buckets nest), which has the trade.
      if (this.intoForming(tf, t)) {
        if (inFine !== 0 && this.folded[tf] === 1) this.formingChanged[tf] = 1;
        else this.foldForming(tf, t, side);
        continue;
      }
      outcome |= this.place(tf, t, side, inFine);
    }
    this.changed = true;
    if ((outcome & AMENDED) !== 0) this.lateAmended++;
    if ((outcome & DROPPED) !== 0) this.lateDropped++;
    if (!this.batchForming) this.publishForming();
    return true;
  }

  /**
   * Trade `t` for timeframe `tf`, outside its forming bar (`intoForming`
   * false): the bucket opened (closing the forming bar first when the trade
   * is past it) and the trade folded in, or late. `inFine`: FOLDED_IN
   * when fine's forming bar took it (a folded timeframe whose bucket holds
   * that bar then only notes the change). Returns FOLDED_IN, AMENDED or DROPPED.
   */
  private place(tf: number, t: Float64Array, side: number, inFine: number): number {
    const s = this.s;
    const ts = t[T.TS]!;
    const off = this.base[tf]! * SLOT;
    const ms = this.ms[tf]!;
    const start = bucketStart(ts, ms, this.origin[tf]!);
    if (this.hasForming[tf] === 1) {
      const formingOpen = s[off + F.OPEN_TIME]!;
      if (start > formingOpen) {
        this.closeForming(tf);
        this.openBucket(tf, start);
      } else if (start < formingOpen) {
        return this.late(tf, start, t, side);
      }
    } else if (start < this.frontier[tf]!) {
      return this.late(tf, start, t, side);
    } else {
      this.openBucket(tf, start);
    }
    if (inFine !== 0 && this.folded[tf] === 1 && this.holdsFineForming(tf)) {
      this.formingChanged[tf] = 1; // fine's forming bar holds the trade
      return 0;
    }
    return this.foldForming(tf, t, side);
  }

  /** True when trade `t` falls in the forming bar of `tf`. */
  private intoForming(tf: number, t: Float64Array): boolean {
    if (this.hasForming[tf] === 0) return false;
    const ts = t[T.TS]!;
    const open = this.s[this.base[tf]! * SLOT + F.OPEN_TIME]!;
    return ts >= open && ts < open + this.ms[tf]!;
  }

  /** Fold trade `t` into the forming bar of `tf`. Returns FOLDED_IN. */
  private foldForming(tf: number, t: Float64Array, side: number): number {
    this.fold(this.base[tf]! * SLOT, t, side);
    this.formingChanged[tf] = 1;
    return FOLDED_IN;
  }

  /** Fine has a forming bar and it lies in `tf`'s forming bucket (what a folded `tf` merges in). */
  private holdsFineForming(tf: number): boolean {
    if (this.hasForming[this.fine] === 0 || this.hasForming[tf] === 0) return false;
    const s = this.s;
    const fineOpen = s[this.base[this.fine]! * SLOT + F.OPEN_TIME]!;
    const open = s[this.base[tf]! * SLOT + F.OPEN_TIME]!;
    return fineOpen >= open && fineOpen < open + this.ms[tf]!;
  }

  /**
   * Hand every forming bar that changed since the last call to the sink
   * (FORMING), its derived fields brought up to date. Called by the
   * aggregator itself unless `batchForming` is set; cheap when nothing changed.
   */
  publishForming(): void {
    if (!this.changed) return;
    this.changed = false;
    const s = this.s;
    for (let tf = 0; tf < this.n; tf++) {
      if (this.formingChanged[tf] === 0) continue;
      this.formingChanged[tf] = 0;
      if (this.hasForming[tf] === 0) continue;
      const off = this.formingView(tf);
      finish(s, off);
      this.sink.onBar(tf, BarEvent.FORMING, s, off);
    }
  }

  /** Offset of `tf`'s forming bar as published: its slot, or for a folded timeframe its accumulation merged with fine's forming bar (in the scratch slot). */
  private formingView(tf: number): number {
    const off = this.base[tf]! * SLOT;
    if (this.folded[tf] === 0 || !this.holdsFineForming(tf)) return off;
    const s = this.s;
    const at = this.scratch;
    s.copyWithin(at, off, off + SLOT);
    merge(s, at, this.base[this.fine]! * SLOT);
    return at;
  }

  /** True when a forming bar changed and `publishForming` has not handed it over yet. */
  get formingPending(): boolean {
    return this.changed;
  }

  /** Note that timeframe `tf`'s forming bar changed (handed over by `publishForming`). */
  private formingTouched(tf: number): void {
    this.formingChanged[tf] = 1;
    this.changed = true;
  }

  /** Take one best bid/offer; it contributes to the mean spread of its bar. */
  addQuote(ts: number, bidPrice: number, askPrice: number): void {
    const spread = askPrice - bidPrice;
    const s = this.s;
    for (let tf = 0; tf < this.n; tf++) {
      const start = bucketStart(ts, this.ms[tf]!, this.origin[tf]!);
      const off = this.base[tf]! * SLOT;
      const formingOpen = this.hasForming[tf] === 1 ? s[off + F.OPEN_TIME]! : -Infinity;
      if (start === formingOpen) {
        s[off + SPREAD_SUM] += spread;
        s[off + SPREAD_N]++;
      } else if (start > formingOpen && !(start < this.frontier[tf]!)) {
        if (this.pendStart[tf] !== start) {
          this.pendStart[tf] = start;
          this.pendSum[tf] = 0;
          this.pendN[tf] = 0;
        }
        this.pendSum[tf] += spread;
        this.pendN[tf]++;
      }
    }
  }

  /**
   * The feed came up only at `ts` (exchange ms): after a cold start, trades
   * before it were not seen either, so bars beginning at or before it open
   * gapped. No effect without `blindUntil` (a restart continues its bars).
   */
  watchingFrom(ts: number): void {
    if (!(ts > this.blindUntil)) return;
    this.blindUntil = ts;
    const s = this.s;
    for (let tf = 0; tf < this.n; tf++) {
      this.seenFrom[tf] = NaN; // bars opened while blind (a session's timer) did not watch
      const off = this.base[tf]! * SLOT;
      if (this.hasForming[tf] === 1 && s[off + F.OPEN_TIME]! <= ts && s[off + F.GAPPED] !== 1) {
        s[off + F.GAPPED] = 1;
        this.formingTouched(tf);
      }
    }
  }

  /** Close every bar whose end + grace the exchange clock (local + offset) has passed. */
  advance(localNowMs: number): void {
    const now = localNowMs + this.clockOffsetMs;
    const s = this.s;
    const session = this.session;
    for (let tf = 0; tf < this.n; tf++) {
      const off = this.base[tf]! * SLOT;
      const ms = this.ms[tf]!;
      if (this.hasForming[tf] === 1) {
        if (now < s[off + F.OPEN_TIME]! + ms + this.graceMs) continue;
        this.closeForming(tf);
      } else if (session === undefined || !(this.frontier[tf]! === this.frontier[tf]!)) {
        continue; // no forming bar: only a session-aware series resumes flat bars on its own (the market reopened)
      }
      if (!this.fillEmpty) continue;
      const target = bucketStart(now - this.graceMs, ms, this.origin[tf]!);
      if (target < this.frontier[tf]!) continue;
      this.openBucket(tf, target, session === undefined || session(target, ms));
      if (this.hasForming[tf] === 1) this.formingTouched(tf);
    }
    if (!this.batchForming) this.publishForming();
  }

  /**
   * Pick up where a previous instance stopped (a restarted worker), from the
   * bars it left in shared memory for timeframe `tf`: recent closed bars
   * oldest first, then the forming bar if any. Call before the first trade.
   * What the bars do not record is approximated: the forming bar keeps its
   * open and takes any newer trade as its close; its spread restarts from the
   * stored mean; trade ids seen before the restart are forgotten.
   */
  resume(tf: number, bars: readonly Bar[]): void {
    this.folded.fill(0); // resumed forming bars each hold their own trades: fold again from each one's next bucket
    const s = this.s;
    const ms = this.ms[tf]!;
    for (const bar of bars) {
      const forming = !bar.closed;
      const off = forming ? this.base[tf]! * SLOT : this.ringOffset(tf, bar.openTime);
      s.fill(0, off, off + SLOT);
      writeBar(bar, s, off);
      s[off + OPEN_TS] = bar.openTime;
      s[off + CLOSE_TS] = bar.openTime;
      s[off + VOL_S] = bar.volume;
      s[off + QVOL_S] = bar.quoteVolume;
      s[off + BUY_S] = bar.buyVolume;
      s[off + SELL_S] = bar.sellVolume;
      if (bar.spread !== null) {
        s[off + SPREAD_SUM] = bar.spread;
        s[off + SPREAD_N] = 1;
      }
      this.frontier[tf] = forming ? bar.openTime : Math.max(this.frontier[tf]! || -Infinity, bar.openTime + ms);
      if (forming) this.hasForming[tf] = 1;
      if (bar.trades > 0 && bar.openTime > this.newestTradeTs) this.newestTradeTs = bar.openTime;
    }
  }

  /**
   * The feed was down from `fromTs` to `toTs` (exchange ms) and the trades of
   * that time could not be recovered: mark every bar overlapping it that is
   * still amendable (the forming bar and the ring) as gapped, re-publishing
   * the closed ones with revision + 1. Older bars are beyond reach and stay
   * unmarked.
   */
  markGap(fromTs: number, toTs: number): void {
    const s = this.s;
    for (let tf = 0; tf < this.n; tf++) {
      const ms = this.ms[tf]!;
      const frontier = this.frontier[tf]!;
      if (frontier !== frontier) continue;
      const oldest = frontier - this.ringSize[tf]! * ms;
      for (let b = Math.max(oldest, bucketStart(fromTs, ms, this.origin[tf]!)); b < frontier && b <= toTs; b += ms) {
        const off = this.ringOffset(tf, b);
        if (s[off + F.OPEN_TIME] !== b || s[off + F.GAPPED] === 1) continue;
        s[off + F.GAPPED] = 1;
        s[off + F.REVISION]++;
        this.sink.onBar(tf, BarEvent.AMENDED, s, off);
      }
      const off = this.base[tf]! * SLOT;
      if (this.hasForming[tf] === 1 && s[off + F.GAPPED] !== 1 && s[off + F.OPEN_TIME]! <= toTs && s[off + F.OPEN_TIME]! + ms > fromTs) {
        s[off + F.GAPPED] = 1;
        this.formingTouched(tf);
      }
    }
    if (!this.batchForming) this.publishForming();
  }

  /** Visit the forming bar of timeframe `tf`, if any (for snapshots and tests). */
  forming(tf: number, visit: (bar: Float64Array, offset: number) => void): void {
    if (this.hasForming[tf] === 0) return;
    const off = this.formingView(tf);
    finish(this.s, off); // a batched forming bar's derived fields may wait for publishForming
    visit(this.s, off);
  }

  /** Fold trade `t` (TradeField) into the bar at `off` and refresh its derived fields. */
  private apply(off: number, t: Float64Array, side: number): void {
    this.fold(off, t, side);
    finish(this.s, off);
  }

  /** Fold trade `t` (TradeField) into the bar at `off`; its derived fields wait for `finish` (forming bars: `publishForming`). */
  private fold(off: number, t: Float64Array, side: number): void {
    const s = this.s;
    const ts = t[T.TS]!;
    const price = t[T.PRICE]!;
    const size = t[T.SIZE]!;
    const id = t[T.ID]!;
    if (s[off + F.TRADES] === 0) {
      s[off + F.OPEN] = price;
      s[off + F.HIGH] = price;
      s[off + F.LOW] = price;
      s[off + F.CLOSE] = price;
      s[off + OPEN_TS] = ts;
      s[off + CLOSE_TS] = ts;
      s[off + F.FIRST_TRADE_ID] = id;
      s[off + F.LAST_TRADE_ID] = id;
    } else {
      if (price > s[off + F.HIGH]!) s[off + F.HIGH] = price;
      if (price < s[off + F.LOW]!) s[off + F.LOW] = price;
      const openTs = s[off + OPEN_TS]!;
      if (ts < openTs || (ts === openTs && id < s[off + F.FIRST_TRADE_ID]!)) {
        s[off + F.OPEN] = price;
        s[off + OPEN_TS] = ts;
        s[off + F.FIRST_TRADE_ID] = id;
      }
      const closeTs = s[off + CLOSE_TS]!;
      // Equal time and no usable id: the later arrival is the later trade.
      if (ts > closeTs || (ts === closeTs && !(id < s[off + F.LAST_TRADE_ID]!))) {
        s[off + F.CLOSE] = price;
        s[off + CLOSE_TS] = ts;
        s[off + F.LAST_TRADE_ID] = id;
      }
    }
    s[off + F.TRADES]++;
    addCompensated(s, off + VOL_S, size);
    addCompensated(s, off + QVOL_S, price * size);
    if (side > 0) addCompensated(s, off + BUY_S, size);
    else if (side < 0) addCompensated(s, off + SELL_S, size);
  }

  /**
   * Move the forming bar into the ring as closed and tell the sink. Fine's
   * bar is first merged into the accumulation of each folded timeframe whose
   * bucket holds it; a folded timeframe closing while fine's forming bar is
   * still in its bucket takes that bar in first (its later trades are then
   * late for it, as they would be per timeframe).
   */
  private closeForming(tf: number): void {
    const s = this.s;
    const off = this.base[tf]! * SLOT;
    if (tf === this.fine) {
      for (let k = 0; k < this.n; k++) if (this.folded[k] === 1 && this.holdsFineForming(k)) merge(s, this.base[k]! * SLOT, off);
    } else if (this.folded[tf] === 1 && this.holdsFineForming(tf)) {
      merge(s, off, this.base[this.fine]! * SLOT); // (the next bucket no longer holds fine's bar: it is not merged twice)
    }
    const openTime = s[off + F.OPEN_TIME]!;
    s[off + F.CLOSED] = 1;
    finish(s, off);
    const dst = this.ringOffset(tf, openTime);
    s.copyWithin(dst, off, off + SLOT);
    this.hasForming[tf] = 0;
    this.frontier[tf] = openTime + this.ms[tf]!;
    if (s[off + F.CLOSE]! === s[off + F.CLOSE]!) this.lastClose[tf] = s[off + F.CLOSE]!;
    this.sink.onBar(tf, BarEvent.CLOSED, s, dst);
  }

  /**
   * Make `start` the forming bucket of `tf` (no forming bar may exist), first
   * closing flat bars for the silent buckets since the last close when
   * fillEmpty is on. The new forming bar is flat at the previous close.
   */
  private openBucket(tf: number, start: number, withForming = true): void {
    const s = this.s;
    const off = this.base[tf]! * SLOT;
    const ms = this.ms[tf]!;
    let next = this.frontier[tf]!;
    let prevClose = NaN;
    const prev = next === next ? this.ringOffset(tf, next - ms) : -1;
    if (prev >= 0 && s[prev + F.OPEN_TIME] === next - ms) prevClose = s[prev + F.CLOSE]!;
    else if (next === next) prevClose = this.lastClose[tf]!; // across a closed market: the last close before it
    if (prevClose === prevClose && this.fillEmpty && next < start) {
      if (start - next > this.maxFill * ms) next = start - this.maxFill * ms;
      const session = this.session;
      for (; next < start; next += ms) {
        if (session !== undefined && !session(next, ms)) continue; // the market was shut: no bar
        this.initSlot(tf, off, next, prevClose);
        this.closeForming(tf);
      }
    }
    this.frontier[tf] = start;
    // The first bucket opened after a blind start ends the blindness of this timeframe.
    if (this.seenFrom[tf] !== this.seenFrom[tf] && this.blindUntil === this.blindUntil) this.seenFrom[tf] = start + ms;
    if (!withForming) return;
    this.initSlot(tf, off, start, prevClose);
    this.hasForming[tf] = 1;
    // A new bucket holds no trade of fine's forming bar yet (fine opens first): folding may resume.
    this.folded[tf] = this.chained[tf]!;
  }

  /** Reset the slot at `off` to an empty bar for bucket `start`, taking pending quotes for it. */
  private initSlot(tf: number, off: number, start: number, prevClose: number): void {
    const s = this.s;
    s.fill(0, off, off + SLOT);
    s[off + F.OPEN_TIME] = start;
    s[off + F.CLOSE_TIME] = start + this.ms[tf]! - 1;
    s[off + F.OPEN] = prevClose;
    s[off + F.HIGH] = prevClose;
    s[off + F.LOW] = prevClose;
    s[off + F.CLOSE] = prevClose;
    s[off + F.FIRST_TRADE_ID] = NaN;
    s[off + F.LAST_TRADE_ID] = NaN;
    if (start <= this.blindUntil && !(start >= this.seenFrom[tf]!)) s[off + F.GAPPED] = 1; // see blindUntil
    if (this.pendStart[tf] === start) {
      s[off + SPREAD_SUM] = this.pendSum[tf]!;
      s[off + SPREAD_N] = this.pendN[tf]!;
      this.pendStart[tf] = NaN;
    }
    finish(s, off);
  }

  /** Trade `t` (TradeField) for a closed bucket: amend, insert or drop. Returns AMENDED or DROPPED. */
  private late(tf: number, start: number, t: Float64Array, side: number): number {
    if (this.newestTradeTs - t[T.TS]! > this.toleranceMs) return DROPPED;
    const ms = this.ms[tf]!;
    if (!(start >= this.frontier[tf]! - this.ringSize[tf]! * ms)) return DROPPED; // older than the ring reaches
    const s = this.s;
    const off = this.ringOffset(tf, start);
    // A backfilled bar came from the venue's klines, fetched after its bucket closed: it already counts this trade.
    if (s[off + F.OPEN_TIME] === start && s[off + F.SOURCE] === BarSource.BACKFILL) return DROPPED;
    if (s[off + F.OPEN_TIME] === start) {
      this.apply(off, t, side);
      s[off + F.REVISION]++;
      this.sink.onBar(tf, BarEvent.AMENDED, s, off);
    } else {
      this.initSlot(tf, off, start, NaN);
      s[off + F.CLOSED] = 1;
      this.apply(off, t, side);
      this.sink.onBar(tf, BarEvent.AMENDED, s, off);
    }
    if (this.fillEmpty) this.followClose(tf, start + ms, s[off + F.CLOSE]!);
    return AMENDED;
  }

  /** After a late close change, carry `close` into the flat (or missing) bars from `from` on. */
  private followClose(tf: number, from: number, close: number): void {
    const s = this.s;
    const ms = this.ms[tf]!;
    const frontier = this.frontier[tf]!;
    let b = from;
    for (; b < frontier; b += ms) {
      const off = this.ringOffset(tf, b);
      if (s[off + F.OPEN_TIME] !== b) {
        this.initSlot(tf, off, b, close);
        s[off + F.CLOSED] = 1;
      } else if (s[off + F.TRADES] === 0 && s[off + F.CLOSE] !== close) {
        setFlat(s, off, close);
        s[off + F.REVISION]++;
      } else {
        return;
      }
      this.sink.onBar(tf, BarEvent.AMENDED, s, off);
    }
    const off = this.base[tf]! * SLOT;
    if (this.hasForming[tf] === 1 && s[off + F.TRADES] === 0 && s[off + F.CLOSE] !== close) {
      setFlat(s, off, close);
      this.formingTouched(tf);
    }
  }

  /** Offset of the ring slot that holds bucket `start` of `tf`. */
  private ringOffset(tf: number, start: number): number {
    const size = this.ringSize[tf]!;
    let i = Math.round((start - this.origin[tf]!) / this.ms[tf]!) % size;
    if (i < 0) i += size;
    return (this.base[tf]! + 1 + i) * SLOT;
  }
}

/**
 * Merge the trades of the bar at `src` into the bar at `dst` (same bucket or
 * `src`'s inside `dst`'s): open and close by (exchange time, trade id),
 * `src`'s trades counting as the later arrivals on a tie, as `fold` orders
 * them; sums merged with their compensations. Spread, gaps and revision
 * stay `dst`'s (each timeframe keeps its own).
 */
function merge(s: Float64Array, dst: number, src: number): void {
  const n = s[src + F.TRADES]!;
  if (n === 0) return;
  if (s[dst + F.TRADES] === 0) {
    s[dst + F.OPEN] = s[src + F.OPEN]!;
    s[dst + F.HIGH] = s[src + F.HIGH]!;
    s[dst + F.LOW] = s[src + F.LOW]!;
    s[dst + F.CLOSE] = s[src + F.CLOSE]!;
    s[dst + OPEN_TS] = s[src + OPEN_TS]!;
    s[dst + CLOSE_TS] = s[src + CLOSE_TS]!;
    s[dst + F.FIRST_TRADE_ID] = s[src + F.FIRST_TRADE_ID]!;
    s[dst + F.LAST_TRADE_ID] = s[src + F.LAST_TRADE_ID]!;
  } else {
    if (s[src + F.HIGH]! > s[dst + F.HIGH]!) s[dst + F.HIGH] = s[src + F.HIGH]!;
    if (s[src + F.LOW]! < s[dst + F.LOW]!) s[dst + F.LOW] = s[src + F.LOW]!;
    const openTs = s[src + OPEN_TS]!;
    if (openTs < s[dst + OPEN_TS]! || (openTs === s[dst + OPEN_TS]! && s[src + F.FIRST_TRADE_ID]! < s[dst + F.FIRST_TRADE_ID]!)) {
      s[dst + F.OPEN] = s[src + F.OPEN]!;
      s[dst + OPEN_TS] = openTs;
      s[dst + F.FIRST_TRADE_ID] = s[src + F.FIRST_TRADE_ID]!;
    }
    const closeTs = s[src + CLOSE_TS]!;
    if (closeTs > s[dst + CLOSE_TS]! || (closeTs === s[dst + CLOSE_TS]! && !(s[src + F.LAST_TRADE_ID]! < s[dst + F.LAST_TRADE_ID]!))) {
      s[dst + F.CLOSE] = s[src + F.CLOSE]!;
      s[dst + CLOSE_TS] = closeTs;
      s[dst + F.LAST_TRADE_ID] = s[src + F.LAST_TRADE_ID]!;
    }
  }
  s[dst + F.TRADES] += n;
  for (const sum of SUMS) {
    addCompensated(s, dst + sum, s[src + sum]!);
    s[dst + sum + 1] += s[src + sum + 1]!;
  }
}

/** The compensated sums of a slot (each a sum and its compensation). */
const SUMS = [VOL_S, QVOL_S, BUY_S, SELL_S] as const;

/** Neumaier-compensated `sum += x` on the (sum, compensation) pair at `i`. */
function addCompensated(s: Float64Array, i: number, x: number): void {
  const sum = s[i]!;
  const t = sum + x;
  if (Math.abs(sum) >= Math.abs(x)) s[i + 1] += sum - t + x;
  else s[i + 1] += x - t + sum;
  s[i] = t;
}

/** Refresh the derived public fields of the bar at `off`. */
function finish(s: Float64Array, off: number): void {
  const volume = toGrid(s[off + VOL_S]! + s[off + VOL_S + 1]!);
  const quoteVolume = toGrid(s[off + QVOL_S]! + s[off + QVOL_S + 1]!);
  s[off + F.VOLUME] = volume;
  s[off + F.QUOTE_VOLUME] = quoteVolume;
  s[off + F.BUY_VOLUME] = toGrid(s[off + BUY_S]! + s[off + BUY_S + 1]!);
  s[off + F.SELL_VOLUME] = toGrid(s[off + SELL_S]! + s[off + SELL_S + 1]!);
  // The division can round one ulp outside the traded range (0.3 / 3 < 0.1): clamp it back.
  s[off + F.VWAP] = volume > 0 ? Math.min(Math.max(quoteVolume / volume, s[off + F.LOW]!), s[off + F.HIGH]!) : NaN;
  const n = s[off + SPREAD_N]!;
  s[off + F.SPREAD] = n > 0 ? s[off + SPREAD_SUM]! / n : NaN;
}

const GRID = 1e8;
const GRID_LIMIT = 2 ** 52;
const GRID_ULPS = 8 * Number.EPSILON;

/**
 * Exchanges print sizes and volumes with at most 8 decimals. When a sum lies
 * within 8 ulps of a multiple of 1e-8, return the float nearest that decimal
 * (what the exchange's own kline shows); otherwise return it unchanged.
 */
function toGrid(v: number): number {
  const x = v * GRID;
  if (!(Math.abs(x) < GRID_LIMIT)) return v;
  const n = Math.round(x);
  return Math.abs(x - n) <= Math.abs(x) * GRID_ULPS ? n / GRID : v;
}

function setFlat(s: Float64Array, off: number, close: number): void {
  s[off + F.OPEN] = close;
  s[off + F.HIGH] = close;
  s[off + F.LOW] = close;
  s[off + F.CLOSE] = close;
}

/**
 * TickHandler: what an exchange worker does with each frame's trades and
 * quotes. Shared by the feed worker and the ingest benchmark, so the
 * benchmark measures exactly the worker's path.
 *
 * Per frame: `beginFrame` stamps the local receive time (every record of the
 * frame carries it), the adapter's `parse` calls `trade` and `quote`, then
 * `endFrame` leaves its records for the batch's end (see batches below)
 * and, for one data frame in PARSE_SAMPLE_EVERY, records its parse time
 * (receipt → end of parse) with that weight: a clock read costs ~55 ns and
 * allocates a number on Node 20 (3 M reads, 23 scavenges, measured), a tenth
 * of the whole per-trade budget, while a uniform sample keeps the quantiles
 * and the count.
 *
 * Batches: a batch is the frames parsed in one event-loop turn of the worker
 * (everything one socket read delivered); it ends at the owner's `schedule`
 * (setImmediate in the worker: after the turn's I/O callbacks), scheduled by
 * the first frame that wrote something, or when the owner calls `endBatch`.
 * At its end the batch's tick records, bar events and changed forming bars
 * are published together (the main thread never reads a trade before the
 * bars it changed) and the doorbell is rung once for the whole batch. Why: a
 * wake-up of a parked main thread costs tens of µs on both threads here
 * (docs/performance.md), and the profile of ingest over a socket had
 * `Doorbell.ring` at 32% of the worker's time when it rang per frame.
 *  - The bound: a record waits for the end of its worker's turn (the rest of
 *    that read's frames, ~3 µs each), then one wake-up; a batch that fills
 *    half the tick ring is published and rung at once, so it never overflows
 *    the ring while the main thread sleeps. `ring_wait`
 *    counts from the batch's first receipt, so the wait for the batch end
 *    shows there.
 *  - A wake window (`wakeWindowMs` > 0, off by default) spaces the rings
 *    out: a batch ending less than the window after the last ring arms one
 *    timer that rings for every batch until then, so the main thread wakes
 *    at most once per window while frames keep coming, at the price of up to
 *    the window's delay for them; the first batch after a quiet window rings
 *    at once. Measured on ingest-wire: 1 ms took wake-ups from ~0.05–0.1 to
 *    0.026 per trade, 4 ms to 0.006–0.016 (docs/benchmarks.md).
 *  - Forming bars are published per batch, not per trade: the aggregators
 *    run with `batchForming`, and the symbols whose forming bars changed are
 *    listed until the batch end (one copy into shared memory per series and
 *    batch instead of one per trade and timeframe: ~0.5 µs per trade with 6
 *    timeframes, docs/benchmarks.md). Closes and amendments are written at
 *    once, tick records per frame.
 *  - A trade of a symbol whose reconnect gap is being recovered is held back
 *    (delivered in order after the gap); one stamped implausibly far ahead is
 *    refused; otherwise it samples the clock offset, goes to its aggregator
 *    (duplicates stop here) and becomes a tick record.
 *  - A trade or quote of a symbol removed live (`live` 0) is dropped: its
 *    frames may still be in flight after the unsubscribe.
 *  - A quote without the venue's time takes the local time shifted by the
 *    measured clock offset; it feeds the aggregator's spread and becomes a
 *    tick record.
 */
import * as hdr from 'hdr-histogram-js';
import type { BarAggregator } from '../bars/aggregator.ts';
import { FEED_FIELDS, FrameKind, QuoteField, TradeField, type FeedHandler } from '../exchanges/adapter.ts';
import { nowMs } from '../model/clock.ts';
import type { BufferWriter } from './buffer-writer.ts';
import type { ClockOffset } from './clock-offset.ts';
import type { GapRecovery } from './gap-recovery.ts';

/**
 * A trade stamped this far ahead of its receipt is refused and counted as a
 * parse error: no venue's clock is that far off, and accepting it would make
 * every later trade of the symbol "late" and dropped.
 */
const FUTURE_LIMIT_MS = 10 * 60_000;

/** One data frame in this many has its parse time recorded (weighted by it): see the header. */
const PARSE_SAMPLE_EVERY = 8;

export class TickHandler implements FeedHandler {
  /** Where the adapter leaves each trade's or quote's numbers (FeedHandler: laid out as TradeField / QuoteField). */
  readonly fields = new Float64Array(FEED_FIELDS);
  /** Local receive time of the frame being parsed, ms (set by `beginFrame`, or before a recovered trade). */
  recvTs = 0;
  /** Trades taken (duplicates and refused ones excluded) and quotes taken since start. */
  trades = 0;
  quotes = 0;
  /** Trades refused for a timestamp beyond FUTURE_LIMIT_MS (reported as parse errors). */
  futureTrades = 0;
  /** Gap recovery after reconnects, where the venue serves trades by id over REST (set once, before the feed starts). */
  recovery: GapRecovery | undefined = undefined;
  /** Parse-and-aggregate time per frame, µs (the status report sends and resets it). */
  readonly parseHistogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });

  /** Per symbol slot: 1 while it is fed, 0 once removed (or not added yet). */
  readonly live: Uint8Array;
  private readonly aggregators: readonly BarAggregator[];
  private readonly writer: BufferWriter;
  private readonly clock: ClockOffset;
  /** Data frames until the next one whose parse time is recorded. */
  private untilParseSample = 1;
  /** When the sampled frame's parse began (`nowMs`; read in `beginFrame` for that frame only). */
  private parseStart = 0;
  /** Per symbol slot: 1 while listed in `pending` (its forming bars changed since the last batch end). */
  private readonly listed: Uint8Array;
  /** Symbols whose forming bars wait for the batch end, `pendingCount` of them. */
  private readonly pending: Int32Array;
  private pendingCount = 0;
  private readonly schedule: ((task: () => void) => void) | undefined;
  private scheduled = false;
  private readonly batchEndTask = (): void => {
    this.scheduled = false;
    this.endBatch();
  };
  /** The wake window, ms (0: ring at every batch end); when the last ring was (`nowMs`); the armed window-end ring. */
  private readonly wakeWindowMs: number;
  private lastRingMs = -Infinity;
  /** Records were written since the last publish; `batchSince`: the receipt of the batch's first frame (`nowMs`). */
  private inBatch = false;
  private batchSince = 0;
  private windowTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  private readonly windowEndTask = (): void => {
    this.windowTimer = undefined;
    this.ringNow(nowMs());
  };

  /**
   * `slots`: symbol slots reserved (default: one per aggregator); the
   * aggregators' symbols start live. `schedule(task)` runs `task` once the
   * current event-loop turn is over (the worker: setImmediate); without it
   * the owner calls `endBatch` itself. `wakeWindowMs`: see the header (0: off).
   */
  constructor(
    aggregators: readonly BarAggregator[],
    writer: BufferWriter,
    clock: ClockOffset,
    slots = aggregators.length,
    schedule?: (task: () => void) => void,
    wakeWindowMs = 0,
  ) {
    this.wakeWindowMs = wakeWindowMs;
    this.aggregators = aggregators;
    this.writer = writer;
    this.clock = clock;
    this.live = new Uint8Array(slots);
    this.live.fill(1, 0, aggregators.length);
    this.listed = new Uint8Array(slots);
    this.pending = new Int32Array(slots);
    this.schedule = schedule;
  }

  /**
   * A frame arrived at local time `recvTs` (`nowMs`; the feed passes its
   * socket read's time, ReadClock): stamped before its parse, so the records
   * it yields carry it. The frame whose parse is sampled next also gets a
   * clock read of its own here, so the parse stage times its own parse, not
   * the frames of its read before it.
   */
  beginFrame(recvTs: number): void {
    this.recvTs = recvTs;
    if (this.untilParseSample === 1) this.parseStart = nowMs();
  }

  /** The frame is parsed: its records wait for the batch end (or half a tick ring); a sampled parse time (see the header). */
  endFrame(kind: FrameKind): void {
    if (kind === FrameKind.DATA && --this.untilParseSample === 0) {
      this.untilParseSample = PARSE_SAMPLE_EVERY;
      this.parseHistogram.recordValueWithCount(Math.max(1, Math.round((nowMs() - this.parseStart) * 1000)), PARSE_SAMPLE_EVERY);
    }
    const writer = this.writer;
    // A forming bar can change with nothing written: its trade's tick record dropped by a full ring.
    if (!writer.unpublished && this.pendingCount === 0) return;
    if (!this.inBatch) {
      this.inBatch = true;
      this.batchSince = this.recvTs;
    }
    if (writer.halfFull) this.ringNow(this.recvTs); // whatever the window: the ring must not overflow
    if (!this.scheduled && this.schedule !== undefined) {
      this.scheduled = true;
      this.schedule(this.batchEndTask);
    }
  }

  /** End of a batch of frames: publish its records and changed forming bars together, then ring the doorbell once for it (or at the wake window's end). */
  endBatch(): void {
    const sinceRing = this.recvTs - this.lastRingMs; // recvTs: a clock reading of this turn
    if (this.windowTimer !== undefined || (this.wakeWindowMs > 0 && sinceRing < this.wakeWindowMs)) {
      this.publishBatch();
      // One timer per window: it announces every batch published until it fires.
      if (this.windowTimer === undefined && this.writer.pendingRing) this.windowTimer = setTimeout(this.windowEndTask, this.wakeWindowMs - sinceRing);
      return;
    }
    this.ringNow(this.recvTs);
  }

  /** Publish every aggregator's changed forming bars (also those changed outside trades: the clock, gap marks) and ring, at once. */
  flush(): void {
    for (let i = 0; i < this.aggregators.length; i++) this.aggregators[i]?.publishForming();
    if (this.windowTimer !== undefined) {
      clearTimeout(this.windowTimer);
      this.windowTimer = undefined;
    }
    this.publishBatch();
    this.writer.ring();
  }

  /** Publish the batch, then ring for everything published; `now`: the time of this ring (`nowMs`). */
  private ringNow(now: number): void {
    this.publishBatch();
    if (!this.writer.pendingRing) return;
    this.lastRingMs = now;
    this.writer.ring();
  }

  /** Make the batch's records and changed forming bars visible together, stamped with its first receipt (not announced yet). */
  private publishBatch(): void {
    this.publishListed();
    this.writer.publish(this.inBatch ? this.batchSince : nowMs());
    this.inBatch = false;
  }

  /** Hand the listed symbols' changed forming bars to the writer. */
  private publishListed(): void {
    const pending = this.pending;
    for (let i = 0; i < this.pendingCount; i++) {
      const symbol = pending[i]!;
      this.listed[symbol] = 0;
      this.aggregators[symbol]?.publishForming();
    }
    this.pendingCount = 0;
  }

  /** One parsed trade (its numbers in `fields`), symbol in this worker's numbering (see the header for what happens to it). */
  trade(symbol: number, side: number): void {
    if (this.live[symbol] === 0) return;
    const f = this.fields;
    const ts = f[TradeField.TS]!;
    const recovery = this.recovery;
    if (recovery !== undefined && recovery.holding[symbol] === 1) {
      recovery.hold(symbol, ts, f[TradeField.PRICE]!, f[TradeField.SIZE]!, side, f[TradeField.ID]!); // delivered after the gap is filled
      return;
    }
    const recvTs = this.recvTs;
    if (ts - recvTs > FUTURE_LIMIT_MS) {
      this.futureTrades++; // a bad timestamp: it would make every later trade of the symbol look late
      return;
    }
    this.clock.sample(ts, recvTs);
    const agg = this.aggregators[symbol]!;
    if (!agg.takeTrade(f, side)) return; // a duplicate
    if (this.listed[symbol] === 0 && agg.formingPending) {
      this.listed[symbol] = 1;
      this.pending[this.pendingCount++] = symbol;
    }
    if (recovery !== undefined && !(ts < recovery.lastTs[symbol]!)) {
      recovery.lastTs[symbol] = ts;
      recovery.lastId[symbol] = f[TradeField.ID]!;
    }
    this.trades++;
    this.writer.trade(symbol, f, recvTs, side);
  }

  /** One parsed best bid/offer (its numbers in `fields`); its time NaN when the venue sends none. */
  quote(symbol: number): void {
    if (this.live[symbol] === 0) return;
    const f = this.fields;
    const recvTs = this.recvTs;
    const ts = f[QuoteField.TS]!;
    if (ts !== ts) f[QuoteField.TS] = recvTs + this.clock.offsetMs;
    this.aggregators[symbol]!.addQuote(f[QuoteField.TS]!, f[QuoteField.BID]!, f[QuoteField.ASK]!);
    this.quotes++;
    this.writer.quote(symbol, f, recvTs);
  }
}

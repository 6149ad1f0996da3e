/**
 * BarSeries: the bars of one (exchange, symbol, timeframe) series in shared
 * memory: a ring of closed bars ordered by open time, plus the forming bar.
 * BarStore: the set of series, keyed, with the memory they reserve.
 *
 * Contract
 *  - One writer thread (the exchange worker), any number of reader threads.
 *  - Two seqlocks: one guards the closed ring (changes once per bar close or
 *    amendment), one the forming bar (changes on every trade). A writer makes
 *    the sequence odd, writes, makes it even. A reader reads the sequence,
 *    reads in place, reads the sequence again and retries when it was odd or
 *    changed. So a long range read does not starve behind trade updates, and
 *    a result is never torn.
 *  - Readers visit bars where they lie (no copy first). A visitor's `begin()`
 *    is called before every attempt: whatever it built from a failed attempt
 *    must be discarded there.
 *  - Every write of a closed-ring slot stamps it with the ring sequence of
 *    that write (odd, never 0). A visitor is told each closed bar's slot and
 *    stamp: within one successful attempt, the same (slot, stamp) always
 *    holds the same bytes, so a reader may keep work derived from a bar (its
 *    encoded answer) until the stamp changes; an amendment, a replacement or
 *    a shift by an insertion re-stamps the slots it touches.
 *  - Memory is fixed when the series is allocated: `BarSeries.byteLength`.
 *
 * Memory layout (bytes)
 *   0   ring sequence     (Int32)
 *   4   closed bars held  (Int32, ≤ capacity)
 *   8   ring head         (Int32, physical index of the oldest bar)
 *   12  capacity          (Int32, fixed at allocation)
 *   64  forming sequence  (Int32; own cache line)
 *   68  forming present   (Int32, 0 or 1)
 *   128 forming bar       (BAR_FIELDS float64)
 *   128 + 8·BAR_FIELDS    closed ring: capacity × BAR_FIELDS float64
 *   then                  slot stamps: capacity × Int32 (ring sequence of each slot's last write)
 */
import { BAR_FIELDS, BarField as F, readBar, type Bar } from '../model/records.ts';

const RING_SEQ = 0;
const COUNT = 1;
const HEAD = 2;
const CAPACITY = 3;
const FORMING_SEQ = 16;
const HAS_FORMING = 17;
const HEADER_BYTES = 128;
const RING_OFFSET = BAR_FIELDS; // in float64 values, after the forming bar

/** Reads bars in place. `begin` starts (or restarts) an attempt; see the contract above. */
export interface BarVisitor {
  begin(): void;
  /**
   * One bar at `buf[offset..]`. For a closed bar of the ring, `slot` is its
   * physical index and `stamp` its write stamp (see the contract); for the
   * forming bar or a bar from elsewhere, `slot` is -1 and `stamp` 0.
   */
  onBar(buf: Float64Array, offset: number, slot: number, stamp: number): void;
}

/** `slot` and `stamp` of a bar that is not a closed-ring slot (the forming bar, a copy). */
export const NO_SLOT = -1;

/** Which bars a read returns. */
export interface BarRange {
  /** Earliest open time, ms (inclusive). */
  start?: number;
  /** Latest open time, ms (inclusive). */
  end?: number;
  /** At most this many bars, the newest ones (the forming bar counts). */
  limit?: number;
  /** Include the forming bar last, when there is one in range (default true). */
  forming?: boolean;
}

/** One series' bars over shared memory; one view per thread. */
export class BarSeries {
  readonly buffer: SharedArrayBuffer;
  /** Closed bars the ring holds at most. */
  readonly capacity: number;
  private readonly header: Int32Array;
  private readonly f64: Float64Array;
  private readonly stamps: Int32Array;

  /** Shared memory for a series keeping `capacity` closed bars. */
  static allocate(capacity: number): SharedArrayBuffer {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`BarSeries capacity must be a positive integer, got ${capacity}`);
    const sab = new SharedArrayBuffer(BarSeries.byteLength(capacity));
    new Int32Array(sab, 0, HEADER_BYTES / 4)[CAPACITY] = capacity;
    return sab;
  }

  /** Bytes a series keeping `capacity` closed bars reserves. */
  static byteLength(capacity: number): number {
    return HEADER_BYTES + (1 + capacity) * BAR_FIELDS * 8 + capacity * 4;
  }

  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.header = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.capacity = this.header[CAPACITY]!;
    this.f64 = new Float64Array(buffer, HEADER_BYTES, (1 + this.capacity) * BAR_FIELDS);
    this.stamps = new Int32Array(buffer, HEADER_BYTES + (1 + this.capacity) * BAR_FIELDS * 8, this.capacity);
  }

  // ── writer (one thread) ────────────────────────────────────────────────

  /** Replace the forming bar with the record at `src[off..]`. */
  setForming(src: Float64Array, off: number): void {
    const h = this.header;
    Atomics.add(h, FORMING_SEQ, 1);
    copyBar(src, off, this.f64, 0);
    h[HAS_FORMING] = 1;
    Atomics.add(h, FORMING_SEQ, 1);
  }

  /**
   * Store a closed bar: appended when it is the newest, else replacing the
   * bar with the same open time or inserted in order. A forming bar with the
   * same open time is retired. Bars older than everything a full ring holds
   * are ignored.
   */
  putClosed(src: Float64Array, off: number): void {
    const h = this.header;
    const f64 = this.f64;
    const cap = this.capacity;
    const openTime = src[off + F.OPEN_TIME]!;
    const stamp = Atomics.add(h, RING_SEQ, 1) + 1; // the odd sequence of this write: never 0, which marks an unwritten slot
    const count = h[COUNT]!;
    const head = h[HEAD]!;
    // Position among held bars: the first whose open time is ≥ openTime (usually `count`).
    let pos = count;
    while (pos > 0 && f64[this.slot(head, pos - 1) + F.OPEN_TIME]! >= openTime) pos--;
    if (pos < count && f64[this.slot(head, pos) + F.OPEN_TIME] === openTime) {
      this.writeSlot(src, off, head, pos, stamp);
    } else if (pos > 0 || count < cap) {
      let first = head;
      let n = count;
      if (n === cap) {
        first = (head + 1) % cap; // drop the oldest
        n--;
        pos--;
      }
      for (let i = n; i > pos; i--) this.writeSlot(f64, this.slot(first, i - 1), first, i, stamp);
      this.writeSlot(src, off, first, pos, stamp);
      h[HEAD] = first;
      h[COUNT] = n + 1;
    }
    if (h[HAS_FORMING] === 1 && f64[F.OPEN_TIME] === openTime) {
      Atomics.add(h, FORMING_SEQ, 1);
      h[HAS_FORMING] = 0;
      Atomics.add(h, FORMING_SEQ, 1);
    }
    Atomics.add(h, RING_SEQ, 1);
  }

  /** Copy a bar into logical index `i` counted from physical `first`, and stamp that slot. */
  private writeSlot(src: Float64Array, off: number, first: number, i: number, stamp: number): void {
    const physical = (first + i) % this.capacity;
    copyBar(src, off, this.f64, RING_OFFSET + physical * BAR_FIELDS);
    this.stamps[physical] = stamp;
  }

  /**
   * After the writer thread died (terminated mid-write), make both sequences
   * even again so readers and the next writer do not wait forever. Called by
   * the owner of the buffer while no writer runs. The bar being written may be
   * a mix of its old and new values; the next write replaces it.
   */
  repairAfterWriterDeath(): void {
    const h = this.header;
    if ((Atomics.load(h, RING_SEQ) & 1) !== 0) Atomics.add(h, RING_SEQ, 1);
    if ((Atomics.load(h, FORMING_SEQ) & 1) !== 0) Atomics.add(h, FORMING_SEQ, 1);
  }

  // ── readers (any thread) ───────────────────────────────────────────────

  /** Visit the bars in `range`, oldest first, in place; returns how many were visited. */
  visit(visitor: BarVisitor, range: BarRange = {}): number {
    const start = range.start ?? -Infinity;
    const end = range.end ?? Infinity;
    const limit = range.limit ?? Infinity;
    const wantForming = range.forming ?? true;
    const h = this.header;
    const f64 = this.f64;
    for (;;) {
      const seq = Atomics.load(h, RING_SEQ);
      if ((seq & 1) !== 0) continue;
      visitor.begin();
      const count = h[COUNT]!;
      const head = h[HEAD]!;
      let lo = this.lowerBound(head, count, start);
      let hi = this.lowerBound(head, count, end + 1); // exclusive
      const formingSlots = wantForming ? this.formingInRange(start, end) : 0;
      if (hi - lo + formingSlots > limit) lo = Math.max(lo, hi - Math.max(0, limit - formingSlots));
      if (formingSlots > limit) hi = lo;
      const stamps = this.stamps;
      const cap = this.capacity;
      for (let i = lo; i < hi; i++) {
        const physical = (head + i) % cap;
        visitor.onBar(f64, RING_OFFSET + physical * BAR_FIELDS, physical, stamps[physical]!);
      }
      let visited = hi - lo;
      if (formingSlots === 1 && limit > 0) {
        const formingSeq = Atomics.load(h, FORMING_SEQ);
        if ((formingSeq & 1) !== 0) continue;
        if (h[HAS_FORMING] === 1 && f64[F.OPEN_TIME]! >= start && f64[F.OPEN_TIME]! <= end) {
          visitor.onBar(f64, 0, NO_SLOT, 0);
          visited++;
        }
        if (Atomics.load(h, FORMING_SEQ) !== formingSeq) continue;
      }
      if (Atomics.load(h, RING_SEQ) === seq) return visited;
    }
  }

  /** The bars in `range` as plain objects (a convenience for tests and the library API). */
  bars(range: BarRange = {}): Bar[] {
    const out: Bar[] = [];
    this.visit({ begin: () => (out.length = 0), onBar: (buf, off) => out.push(readBar(buf, off)) }, range);
    return out;
  }

  /** The forming bar, or undefined when none forms. */
  formingBar(): Bar | undefined {
    const bars = this.bars({ limit: 1 });
    return bars.length === 1 && !bars[0]!.closed ? bars[0] : undefined;
  }

  /** Open time of the newest closed bar held, -Infinity when none (a consistent snapshot). */
  lastClosedOpenTime(): number {
    const h = this.header;
    for (;;) {
      const seq = Atomics.load(h, RING_SEQ);
      if ((seq & 1) !== 0) continue;
      const count = h[COUNT]!;
      const t = count === 0 ? -Infinity : this.f64[this.slot(h[HEAD]!, count - 1) + F.OPEN_TIME]!;
      if (Atomics.load(h, RING_SEQ) === seq) return t;
    }
  }

  /** Closed bars held right now (a snapshot). */
  closedCount(): number {
    return Atomics.load(this.header, COUNT);
  }

  /** 1 when a forming bar is present and in range, else 0 (a hint, re-validated while visiting). */
  private formingInRange(start: number, end: number): number {
    if (Atomics.load(this.header, HAS_FORMING) !== 1) return 0;
    const t = this.f64[F.OPEN_TIME]!;
    return t >= start && t <= end ? 1 : 0;
  }

  /** Logical index (0 = oldest) of the first held bar with openTime ≥ t. */
  private lowerBound(head: number, count: number, t: number): number {
    let lo = 0;
    let hi = count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.f64[this.slot(head, mid) + F.OPEN_TIME]! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Float64 offset of logical index `i` counted from physical `first`. */
  private slot(first: number, i: number): number {
    return RING_OFFSET + ((first + i) % this.capacity) * BAR_FIELDS;
  }
}

/** Copy one bar record. A plain loop: `set(subarray())` allocates a view per call and measured ~2× slower here. */
function copyBar(src: Float64Array, from: number, dst: Float64Array, to: number): void {
  for (let i = 0; i < BAR_FIELDS; i++) dst[to + i] = src[from + i]!;
}

/** The bar series of a process, by key, with the memory they reserve. */
export class BarStore {
  readonly #series = new Map<string, BarSeries>();

  /** Allocate a new series (or adopt `buffer`, e.g. one a previous worker wrote into). */
  create(key: string, capacity: number, buffer?: SharedArrayBuffer): BarSeries {
    if (this.#series.has(key)) throw new Error(`bar series ${key} exists`);
    const series = new BarSeries(buffer ?? BarSeries.allocate(capacity));
    this.#series.set(key, series);
    return series;
  }

  get(key: string): BarSeries | undefined {
    return this.#series.get(key);
  }

  keys(): IterableIterator<string> {
    return this.#series.keys();
  }

  /** Bytes reserved by every series. */
  bytesReserved(): number {
    let total = 0;
    for (const s of this.#series.values()) total += s.buffer.byteLength;
    return total;
  }
}

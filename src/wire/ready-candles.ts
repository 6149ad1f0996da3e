/**
 * Candle answers (`GET /v1/candles/...`, JSON and FlatBuffers) from bytes
 * kept ready: a closed bar never changes until it is amended, so each closed
 * bar is encoded once, in both formats, and every later answer copies its
 * bytes (issue 12, item 2). Encoding a bar's JSON costs ~1.9 µs; copying its
 * ~300 ready bytes a few tens of ns.
 *
 * Contract
 *  - Per series (keyed by the caller, e.g. its bars channel), per physical
 *    slot of the series' closed ring: the slot's write stamp (bar-store.ts)
 *    and the bar's bytes. A bar is re-encoded when its slot's stamp changed:
 *    an amendment, a replacement, a shift by a late insertion, or the ring
 *    moving on. A different ring under the same key (a restarted runtime)
 *    drops the series' bytes.
 *  - Bars encoded during a read attempt the seqlock rejects are discarded
 *    (`begin()`); only the attempt that succeeded is kept.
 *  - The forming bar (and any bar without a slot) is encoded on each answer.
 *  - The answers are byte-identical to encoding every bar afresh
 *    (`barJson`, `FbsEncoder.candles`): test/wire/ready-candles.test.ts.
 *  - Memory: at most `budgetBytes` of kept bytes (each bar's JSON, its
 *    120-byte struct and a fixed charge per bar for the objects holding
 *    them); past it the least recently asked series are dropped whole. Plus
 *    one answer buffer, as large as the largest answer given (5,000 bars:
 *    about 3 MB).
 *  - Whole answers (issue 12, item 2): a call that names its read's shape
 *    (`CandleShape`: limit, start, end, closed) keeps the answer it gave, per
 *    series, format and shape (at most `MAX_KEPT_ANSWERS` per series, least
 *    recently used dropped first), with the (slot, stamp) of each bar in it
 *    and the fields of each loose bar. The next call of the same shape visits
 *    the bars again, only comparing: when every bar is the same slot with the
 *    same stamp and every loose bar (the forming one) has the same fields,
 *    the kept bytes are the answer, copied nowhere. Anything else builds the
 *    answer as above and keeps it instead. So a series whose bars did not
 *    change since the last answer of that shape costs one comparing visit
 *    (~10 ns a bar); a busy symbol whose forming bar changes between two
 *    requests pays the build, as without kept answers. Kept answers are
 *    charged to the same budget (their bytes and 8 bytes a bar).
 *  - Each returned body is a view valid until the next call: write it first.
 */
import { NO_SLOT, type BarVisitor } from '../buffers/bar-store.ts';
import { BAR_FIELDS } from '../model/records.ts';
import { BAR_STRUCT_BYTES, type FbsEncoder } from './encoder.ts';
import { barJson } from './json.ts';
import { writeBarStruct } from './live-template.ts';

/** What one kept bar costs beyond its bytes (a Buffer object and its backing store, an array slot), bytes; an estimate. */
const PER_BAR_CHARGE = 160;
/** First answer buffer; it doubles as needed. */
const INITIAL_ANSWER_BYTES = 64 * 1024;
/** Whole answers kept per series (formats and shapes together): a dashboard asks a handful of shapes. */
export const MAX_KEPT_ANSWERS = 8;
/** What one kept answer costs beyond its bytes and its 8 bytes a bar (objects and typed-array headers), bytes; an estimate. */
const PER_ANSWER_CHARGE = 400;

/** Which bars an answer holds, as the caller read them: the key of a kept answer. */
export interface CandleShape {
  /** At most this many bars, the newest (the forming bar counts). */
  readonly limit: number;
  readonly start: number | undefined;
  readonly end: number | undefined;
  /** Closed bars only (no forming bar). */
  readonly closed: boolean;
}

type Format = 'json' | 'fbs';

/** One whole answer kept for a (format, shape) of a series, with what it was built from. */
class KeptAnswer {
  /** The ring the answer's slots are in. */
  ring: Float64Array | undefined;
  /** Bars in the answer. */
  count = 0;
  /** Per bar, oldest first: its closed-ring slot, or NO_SLOT for a loose bar. */
  slots = new Int32Array(0);
  /** Per bar: its slot's write stamp when built (0 for a loose bar). */
  stamps = new Int32Array(0);
  /** The fields of each loose bar, one after the other (BAR_FIELDS each). */
  loose = new Float64Array(0);
  /** Room for the answer's bytes, reused by the next build when large enough. */
  store: Buffer = Buffer.alloc(0);
  /** The answer: `store`'s first bytes. */
  body: Uint8Array = this.store;

  constructor(
    readonly format: Format,
    readonly shape: CandleShape,
  ) {}

  /** Bytes charged to the budget. */
  get charged(): number {
    return PER_ANSWER_CHARGE + this.store.length + this.slots.byteLength + this.stamps.byteLength + this.loose.byteLength;
  }

  is(format: Format, shape: CandleShape): boolean {
    const s = this.shape;
    return this.format === format && s.limit === shape.limit && s.start === shape.start && s.end === shape.end && s.closed === shape.closed;
  }
}

/** Compares a read with a kept answer bar by bar; `holds()` after a successful read says whether the answer still is the bars. */
class MatchVisitor implements BarVisitor {
  answer!: KeptAnswer;
  #at = 0;
  #looseAt = 0;
  #same = true;

  begin(): void {
    this.#at = 0;
    this.#looseAt = 0;
    this.#same = true;
  }

  onBar(buf: Float64Array, offset: number, slot: number, stamp: number): void {
    const i = this.#at++;
    if (!this.#same) return;
    const a = this.answer;
    if (i >= a.count) {
      this.#same = false;
    } else if (slot >= 0) {
      this.#same = a.slots[i] === slot && a.stamps[i] === stamp && a.ring === buf;
    } else {
      this.#same = a.slots[i] === NO_SLOT && sameFields(buf, offset, a.loose, this.#looseAt++ * BAR_FIELDS);
    }
  }

  holds(): boolean {
    return this.#same && this.#at === this.answer.count;
  }
}

/** Whether two bar records are the same values (Object.is: NaN equals NaN, -0 differs from 0, as their encodings do). */
function sameFields(a: Float64Array, ai: number, b: Float64Array, bi: number): boolean {
  for (let k = 0; k < BAR_FIELDS; k++) if (!Object.is(a[ai + k], b[bi + k])) return false;
  return true;
}

/** One series' ready bytes, by physical slot of its closed ring. */
class SeriesBytes {
  /** The ring these bytes came from (`onBar`'s buffer): another one means another series. */
  ring: Float64Array | undefined;
  /** Write stamp of each slot's bytes; 0: none. */
  stamps = new Int32Array(0);
  json: (Buffer | undefined)[] = [];
  /** Bar structs, slot after slot (`BAR_STRUCT_BYTES` each). */
  structs = new Uint8Array(0);
  structView = new DataView(this.structs.buffer);
  /** Whole answers kept, most recently used first (at most MAX_KEPT_ANSWERS). */
  answers: KeptAnswer[] = [];
  /** Bytes charged to the budget. */
  charged = 0;

  /** The kept answer of `format` and `shape`, moved to the front; undefined when none is kept. */
  answer(format: Format, shape: CandleShape): KeptAnswer | undefined {
    const list = this.answers;
    for (let i = 0; i < list.length; i++) {
      const a = list[i]!;
      if (!a.is(format, shape)) continue;
      for (let j = i; j > 0; j--) list[j] = list[j - 1]!;
      list[0] = a;
      return a;
    }
    return undefined;
  }

  /** Room for slots up to `slot`. */
  reserve(slot: number): void {
    if (slot < this.stamps.length) return;
    const n = Math.max(16, 2 ** Math.ceil(Math.log2(slot + 1)));
    const stamps = new Int32Array(n);
    stamps.set(this.stamps);
    const structs = new Uint8Array(n * BAR_STRUCT_BYTES);
    structs.set(this.structs);
    this.charged += (n - this.stamps.length) * (4 + BAR_STRUCT_BYTES);
    this.stamps = stamps;
    this.structs = structs;
    this.structView = new DataView(structs.buffer);
  }
}

/** A bar met during a read: its slot, or (-1 - i) for the i-th loose bar (forming, or without a slot). */
type Visited = number;

/** Collects one read: which slots (and loose bars) in order, and the bars to (re-)encode once the read succeeds. */
class ReadyVisitor implements BarVisitor {
  series!: SeriesBytes;
  /** The visited bars, oldest first (`Visited`). */
  order: Visited[] = [];
  /** Stale slots encoded during this attempt, committed when it succeeds. */
  pendingSlot: number[] = [];
  pendingStamp: number[] = [];
  pendingJson: Buffer[] = [];
  /** Their structs, one after the other. */
  pendingStructs = new Uint8Array(16 * BAR_STRUCT_BYTES);
  pendingView = new DataView(this.pendingStructs.buffer);
  /** Loose bars: JSON text and structs. */
  looseJson: string[] = [];
  looseStructs = new Uint8Array(2 * BAR_STRUCT_BYTES);
  looseView = new DataView(this.looseStructs.buffer);
  /** Loose bars' fields, one after the other (for a kept answer to compare with). */
  looseFields = new Float64Array(2 * BAR_FIELDS);

  begin(): void {
    this.order.length = 0;
    this.pendingSlot.length = 0;
    this.pendingStamp.length = 0;
    this.pendingJson.length = 0;
    this.looseJson.length = 0;
  }

  onBar(buf: Float64Array, offset: number, slot: number, stamp: number): void {
    const s = this.series;
    if (!(slot >= 0)) { // also a visitor caller that passes no slot (a Tickwire implemented elsewhere)
      const i = this.looseJson.length;
      this.looseJson.push(barJson(buf, offset));
      if ((i + 1) * BAR_STRUCT_BYTES > this.looseStructs.length) this.growLoose();
      writeBarStruct(this.looseView, i * BAR_STRUCT_BYTES, buf, offset);
      for (let k = 0; k < BAR_FIELDS; k++) this.looseFields[i * BAR_FIELDS + k] = buf[offset + k]!;
      this.order.push(-1 - i);
      return;
    }
    if (s.ring !== buf) {
      s.ring = buf;
      s.stamps.fill(0); // another ring under this key: nothing kept is its
    }
    this.order.push(slot);
    if (slot < s.stamps.length && s.stamps[slot] === stamp) return;
    const k = this.pendingSlot.length;
    this.pendingSlot.push(slot);
    this.pendingStamp.push(stamp);
    const text = barJson(buf, offset);
    const bytes = Buffer.allocUnsafeSlow(text.length); // bar JSON is ASCII: one byte per character
    bytes.write(text, 0, 'latin1');
    this.pendingJson.push(bytes);
    if ((k + 1) * BAR_STRUCT_BYTES > this.pendingStructs.length) this.growPending();
    writeBarStruct(this.pendingView, k * BAR_STRUCT_BYTES, buf, offset);
  }

  /** Keep the bars encoded by the successful attempt; returns the bytes this added to the series' charge. */
  commit(): number {
    const s = this.series;
    const before = s.charged;
    for (let k = 0; k < this.pendingSlot.length; k++) {
      const slot = this.pendingSlot[k]!;
      s.reserve(slot);
      const old = s.json[slot];
      const bytes = this.pendingJson[k]!;
      s.charged += bytes.length - (old === undefined ? -PER_BAR_CHARGE : old.length);
      s.json[slot] = bytes;
      s.structs.set(this.pendingStructs.subarray(k * BAR_STRUCT_BYTES, (k + 1) * BAR_STRUCT_BYTES), slot * BAR_STRUCT_BYTES);
      s.stamps[slot] = this.pendingStamp[k]!;
    }
    return s.charged - before;
  }

  private growPending(): void {
    const grown = new Uint8Array(this.pendingStructs.length * 2);
    grown.set(this.pendingStructs);
    this.pendingStructs = grown;
    this.pendingView = new DataView(grown.buffer);
  }

  private growLoose(): void {
    const grown = new Uint8Array(this.looseStructs.length * 2);
    grown.set(this.looseStructs);
    this.looseStructs = grown;
    this.looseView = new DataView(grown.buffer);
    const fields = new Float64Array(this.looseFields.length * 2);
    fields.set(this.looseFields);
    this.looseFields = fields;
  }
}

/** Identifies a candles answer: the series' key and the names the answer carries. */
export interface CandlesOf {
  /** The series' cache key (one per exchange, symbol and timeframe). */
  readonly key: string;
  readonly exchange: string;
  readonly symbol: string;
  readonly timeframe: string;
}

/** Candle answers from ready bytes, bounded by `budgetBytes`; see the contract above. */
export class ReadyCandles {
  readonly #budget: number;
  readonly #fbs: FbsEncoder;
  /** Series by key, least recently asked first. */
  readonly #series = new Map<string, SeriesBytes>();
  readonly #visitor = new ReadyVisitor();
  readonly #match = new MatchVisitor();
  /** The series asked last (already last in `#series`). */
  #lastKey: string | undefined;
  #held = 0;
  #answer = Buffer.allocUnsafeSlow(INITIAL_ANSWER_BYTES);

  /** `fbs` builds the FlatBuffers answers (its returned views follow its own rule). */
  constructor(budgetBytes: number, fbs: FbsEncoder) {
    this.#budget = budgetBytes;
    this.#fbs = fbs;
  }

  /** Bytes of ready bars held now (what the budget bounds). */
  get bytesHeld(): number {
    return this.#held;
  }

  /**
   * `{"exchange","symbol","timeframe","count","candles":[...]}` of the bars `visit` reads, as UTF-8.
   * With `shape` (the read `visit` makes), the whole answer is kept and given again while its bars hold.
   */
  json(of: CandlesOf, visit: (v: BarVisitor) => number, shape?: CandleShape): Uint8Array {
    const kept = shape === undefined ? undefined : this.#kept(of.key, 'json', shape, visit);
    if (kept !== undefined) return kept;
    const v = this.#read(of.key, visit);
    const head =
      '{"exchange":' + JSON.stringify(of.exchange) + ',"symbol":' + JSON.stringify(of.symbol) +
      ',"timeframe":"' + of.timeframe + '","count":' + v.order.length + ',"candles":[';
    const series = v.series;
    let size = Buffer.byteLength(head) + v.order.length + 2; // commas, `]}`
    for (const at of v.order) size += at >= 0 ? series.json[at]!.length : v.looseJson[-1 - at]!.length;
    const out = this.#room(size);
    let pos = out.write(head, 0);
    for (let i = 0; i < v.order.length; i++) {
      if (i > 0) out[pos++] = 0x2c; // ,
      const at = v.order[i]!;
      if (at >= 0) {
        const bytes = series.json[at]!;
        out.set(bytes, pos);
        pos += bytes.length;
      } else {
        pos += out.write(v.looseJson[-1 - at]!, pos, 'latin1');
      }
    }
    out[pos++] = 0x5d; // ]
    out[pos++] = 0x7d; // }
    const body = out.subarray(0, pos);
    return shape === undefined ? body : this.#keep(of.key, 'json', shape, v, body);
  }

  /**
   * The FlatBuffers `Candles` answer of the bars `visit` reads (as `FbsEncoder.candles` builds it).
   * With `shape`, kept and given again while its bars hold, as `json`.
   */
  fbs(of: CandlesOf, visit: (v: BarVisitor) => number, shape?: CandleShape): Uint8Array {
    const kept = shape === undefined ? undefined : this.#kept(of.key, 'fbs', shape, visit);
    if (kept !== undefined) return kept;
    const v = this.#read(of.key, visit);
    const structs = v.series.structs;
    const order = v.order;
    const body = this.#fbs.candlesFromStructs(of.exchange, of.symbol, of.timeframe, order.length, (dst, at) => {
      // Consecutive slots are consecutive bytes: copy them in runs (usually one or two: the ring wraps once).
      let i = 0;
      while (i < order.length) {
        const first = order[i]!;
        if (first < 0) {
          const from = (-1 - first) * BAR_STRUCT_BYTES;
          dst.set(v.looseStructs.subarray(from, from + BAR_STRUCT_BYTES), at + i * BAR_STRUCT_BYTES);
          i++;
          continue;
        }
        let j = i + 1;
        while (j < order.length && order[j] === order[j - 1]! + 1) j++;
        dst.set(structs.subarray(first * BAR_STRUCT_BYTES, (first + j - i) * BAR_STRUCT_BYTES), at + i * BAR_STRUCT_BYTES);
        i = j;
      }
    });
    return shape === undefined ? body : this.#keep(of.key, 'fbs', shape, v, body);
  }

  /** The kept answer of (`format`, `shape`) when `visit` still reads exactly the bars it was built from. */
  #kept(key: string, format: Format, shape: CandleShape, visit: (v: BarVisitor) => number): Uint8Array | undefined {
    const series = this.#series.get(key);
    const answer = series?.answer(format, shape);
    if (answer === undefined) return undefined;
    const match = this.#match;
    match.answer = answer;
    visit(match);
    if (!match.holds()) return undefined;
    if (this.#lastKey !== key) {
      // Most recently asked: re-inserted last (skipped while one series is asked again and again).
      this.#series.delete(key);
      this.#series.set(key, series!);
      this.#lastKey = key;
    }
    return answer.body;
  }

  /** Keep `body` (just built from the read `v`) as the series' answer of (`format`, `shape`); returns the kept bytes. */
  #keep(key: string, format: Format, shape: CandleShape, v: ReadyVisitor, body: Uint8Array): Uint8Array {
    const series = v.series;
    if (this.#series.get(key) !== series) return body; // the series alone is over the budget: nothing of it is kept
    let answer = series.answer(format, shape);
    const before = answer?.charged ?? 0;
    if (answer === undefined) {
      answer = new KeptAnswer(format, { limit: shape.limit, start: shape.start, end: shape.end, closed: shape.closed });
      series.answers.unshift(answer);
    }
    const order = v.order;
    const n = order.length;
    if (answer.slots.length < n) {
      answer.slots = new Int32Array(n);
      answer.stamps = new Int32Array(n);
    }
    let loose = 0;
    for (let i = 0; i < n; i++) {
      const at = order[i]!;
      answer.slots[i] = at >= 0 ? at : NO_SLOT;
      answer.stamps[i] = at >= 0 ? series.stamps[at]! : 0;
      if (at < 0) loose++;
    }
    if (answer.loose.length < loose * BAR_FIELDS) answer.loose = new Float64Array(loose * BAR_FIELDS);
    answer.loose.set(v.looseFields.subarray(0, loose * BAR_FIELDS));
    answer.count = n;
    answer.ring = series.ring;
    if (answer.store.length < body.length) answer.store = Buffer.allocUnsafeSlow(body.length);
    answer.store.set(body);
    answer.body = answer.store.subarray(0, body.length);
    let added = answer.charged - before;
    while (series.answers.length > MAX_KEPT_ANSWERS) added -= series.answers.pop()!.charged;
    series.charged += added;
    this.#held += added;
    this.#evict(key, series);
    return answer.body;
  }

  /** Read through the visitor, keep what it encoded, and mark the series most recently asked. */
  #read(key: string, visit: (v: BarVisitor) => number): ReadyVisitor {
    let series = this.#series.get(key);
    if (series === undefined) series = new SeriesBytes();
    else this.#series.delete(key);
    this.#series.set(key, series);
    this.#lastKey = key;
    const v = this.#visitor;
    v.series = series;
    v.begin();
    visit(v);
    this.#held += v.commit();
    this.#evict(key, series);
    return v;
  }

  /** Drop the least recently asked series until the budget holds; `asked` (this answer's) goes last. */
  #evict(askedKey: string, asked: SeriesBytes): void {
    for (const [key, s] of this.#series) {
      if (this.#held <= this.#budget) return;
      if (s === asked) continue;
      this.#held -= s.charged;
      this.#series.delete(key);
      if (key === this.#lastKey) this.#lastKey = undefined;
    }
    if (this.#held > this.#budget) {
      // This series alone is over the budget: its bytes make this answer, then go.
      this.#held -= asked.charged;
      this.#series.delete(askedKey);
      this.#lastKey = undefined;
    }
  }

  /** The answer buffer, at least `size` bytes. */
  #room(size: number): Buffer {
    if (this.#answer.length < size) this.#answer = Buffer.allocUnsafeSlow(2 ** Math.ceil(Math.log2(size)));
    return this.#answer;
  }
}

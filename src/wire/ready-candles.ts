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
 *  - Each returned body is a view valid until the next call: write it first.
 */
import type { BarVisitor } from '../buffers/bar-store.ts';
import { BAR_STRUCT_BYTES, type FbsEncoder } from './encoder.ts';
import { barJson } from './json.ts';
import { writeBarStruct } from './live-template.ts';

/** What one kept bar costs beyond its bytes (a Buffer object and its backing store, an array slot), bytes; an estimate. */
const PER_BAR_CHARGE = 160;
/** First answer buffer; it doubles as needed. */
const INITIAL_ANSWER_BYTES = 64 * 1024;

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
  /** Bytes charged to the budget. */
  charged = 0;

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

  /** `{"exchange","symbol","timeframe","count","candles":[...]}` of the bars `visit` reads, as UTF-8. */
  json(of: CandlesOf, visit: (v: BarVisitor) => number): Uint8Array {
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
    return out.subarray(0, pos);
  }

  /** The FlatBuffers `Candles` answer of the bars `visit` reads (as `FbsEncoder.candles` builds it). */
  fbs(of: CandlesOf, visit: (v: BarVisitor) => number): Uint8Array {
    const v = this.#read(of.key, visit);
    const structs = v.series.structs;
    const order = v.order;
    return this.#fbs.candlesFromStructs(of.exchange, of.symbol, of.timeframe, order.length, (dst, at) => {
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
  }

  /** Read through the visitor, keep what it encoded, and mark the series most recently asked. */
  #read(key: string, visit: (v: BarVisitor) => number): ReadyVisitor {
    let series = this.#series.get(key);
    if (series === undefined) series = new SeriesBytes();
    else this.#series.delete(key);
    this.#series.set(key, series);
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
    }
    if (this.#held > this.#budget) {
      // This series alone is over the budget: its bytes make this answer, then go.
      this.#held -= asked.charged;
      this.#series.delete(askedKey);
    }
  }

  /** The answer buffer, at least `size` bytes. */
  #room(size: number): Buffer {
    if (this.#answer.length < size) this.#answer = Buffer.allocUnsafeSlow(2 ** Math.ceil(Math.log2(size)));
    return this.#answer;
  }
}

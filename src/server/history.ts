/**
 * A channel's resume history: the last `capacity` messages it published,
 * exactly as they went out (the JSON text, and the FlatBuffers bytes when
 * binary subscribers exist), by seq. A subscribe with `since` and a slow
 * consumer's catch-up send these again: a copy, never a re-encode.
 *
 * Contract
 *  - Seqs are contiguous: the stream pushes every message of a channel while
 *    it records (it encodes every message then), so the entries are exactly
 *    seqs `oldest()`..`newest`.
 *  - Each format is kept from the message after the moment it was first
 *    asked for (`record(format, nextSeq)`); older entries lack it, and
 *    `oldest(format)` says where that format's history starts.
 *  - `keep` marks messages a catch-up must deliver (closed bars, room
 *    messages); the others (quotes, forming bars) may be superseded by a
 *    newer one.
 *
 *  - A JSON entry may be deferred (`push` with a DeferredText): the function
 *    that writes the message, called the first time the entry is read
 *    (`text`), its text kept from then on. A channel that records whether or
 *    not anyone listens (strategy channels: their snapshot is their last
 *    messages) writes only the messages someone reads; the writer holds the
 *    event it writes, which must not change after it was published.
 *
 * Memory: at most `capacity` entries, each the message text (one byte per
 * character: the messages are ASCII JSON, V8 stores them one byte per char)
 * plus its binary form when recorded, plus ~24 bytes of slots. Binary forms
 * are copied into one arena of `capacity × binStride` bytes, allocated when
 * binary recording starts (a message longer than the stride, e.g. a room
 * message, gets a copy of its own): no allocation per message. `bytes`
 * counts the payloads, for the metrics (a deferred entry once it is written).
 */

/** The two wire formats. */
export const WireFormat = { JSON: 0, FBS: 1 } as const;
export type WireFormat = (typeof WireFormat)[keyof typeof WireFormat];

/** A JSON message not written yet: writes the message of `seq` (see the module comment). */
export type DeferredText = (seq: number) => string;

/** One channel's last messages by seq, in the formats recorded; see the module comment. */
export class ChannelHistory {
  readonly capacity: number;
  /** Seq of the newest entry; 0 while empty. */
  newest = 0;
  /** Entries held. */
  count = 0;
  /** Payload bytes held (text length + binary length). */
  bytes = 0;
  readonly #texts: (string | DeferredText | undefined)[];
  /** Binary forms that did not fit the arena's stride (copies of their own). */
  readonly #bins: (Uint8Array | undefined)[];
  /** Length of the slot's binary form in the arena; 0: not there. */
  readonly #binLength: Int32Array;
  readonly #binStride: number;
  #arena: Uint8Array | undefined;
  readonly #keep: Uint8Array;
  /** First seq recorded per format (Infinity: not recorded). */
  readonly #from = [Infinity, Infinity];

  /** `binStride`: arena bytes per entry (the channel's largest binary message); 0: every binary form is copied on its own. */
  constructor(capacity: number, binStride = 0) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`history capacity must be an integer >= 1, got ${capacity}`);
    this.capacity = capacity;
    this.#texts = new Array<string | DeferredText | undefined>(capacity);
    this.#bins = new Array<Uint8Array | undefined>(capacity);
    this.#binLength = new Int32Array(capacity);
    this.#binStride = binStride;
    this.#keep = new Uint8Array(capacity);
  }

  /** True when `format` is being recorded. */
  records(format: WireFormat): boolean {
    return this.#from[format] !== Infinity;
  }

  /** Start recording `format` with the message of seq `nextSeq` (no-op when already recording it). */
  record(format: WireFormat, nextSeq: number): void {
    if (this.#from[format] !== Infinity) return;
    this.#from[format] = nextSeq;
    if (format === WireFormat.FBS && this.#binStride > 0) this.#arena = new Uint8Array(this.capacity * this.#binStride);
  }

  /**
   * Append the message of `seq` (the next one: newest + 1, or any seq while
   * empty), dropping the oldest when full. `bin` is copied (it may be a view
   * into a buffer its encoder reuses). `text` may be deferred (written when read).
   */
  push(seq: number, text: string | DeferredText | undefined, bin: Uint8Array | undefined, keep: boolean): void {
    if (this.count > 0 && seq !== this.newest + 1) throw new RangeError(`history of seq ${this.newest} cannot take seq ${seq}`);
    const i = seq % this.capacity;
    if (this.count === this.capacity) {
      this.bytes -= textBytes(this.#texts[i]) + this.#binLength[i]! + (this.#bins[i]?.byteLength ?? 0);
    } else {
      this.count++;
    }
    // Flatten the concatenated text (V8 keeps a rope of its parts until something reads it): measured,
    // a kept trade message takes ~250 bytes of heap flat and ~560 as a rope. Free when uWS already read it.
    if (typeof text === 'string') text.charCodeAt(0);
    this.#texts[i] = text;
    this.#bins[i] = undefined;
    this.#binLength[i] = 0;
    if (bin !== undefined) {
      const arena = this.#arena;
      if (arena !== undefined && bin.byteLength <= this.#binStride) {
        arena.set(bin, i * this.#binStride);
        this.#binLength[i] = bin.byteLength;
      } else {
        this.#bins[i] = bin.slice();
      }
      this.bytes += bin.byteLength;
    }
    this.#keep[i] = keep ? 1 : 0;
    this.bytes += textBytes(text);
    this.newest = seq;
  }

  /** Forget every entry (the channel's seqs jumped): the next push may take any seq. Formats stay recorded. */
  clear(): void {
    this.#texts.fill(undefined);
    this.#bins.fill(undefined);
    this.#binLength.fill(0);
    this.count = 0;
    this.bytes = 0;
    this.newest = 0;
  }

  /** Oldest seq held in `format` (the entries from there to `newest` all have it); Infinity when none. */
  oldest(format: WireFormat): number {
    const at = Math.max(this.newest - this.count + 1, this.#from[format]!);
    return this.count === 0 || at > this.newest ? Infinity : at;
  }

  /** The message of `seq` in JSON (seq within oldest(JSON)..newest); a deferred one is written now, once. */
  text(seq: number): string {
    const i = seq % this.capacity;
    const t = this.#texts[i]!;
    if (typeof t === 'string') return t;
    const text = t(seq);
    text.charCodeAt(0);
    this.#texts[i] = text;
    this.bytes += text.length;
    return text;
  }

  /** The message of `seq` in FlatBuffers (seq within oldest(FBS)..newest): a view, valid until that slot is reused. */
  bin(seq: number): Uint8Array {
    const i = seq % this.capacity;
    const n = this.#binLength[i]!;
    return n > 0 ? this.#arena!.subarray(i * this.#binStride, i * this.#binStride + n) : this.#bins[i]!;
  }

  /** Must a catch-up deliver the message of `seq` (it cannot be superseded)? */
  keep(seq: number): boolean {
    return this.#keep[seq % this.capacity] === 1;
  }
}

/** Payload bytes of a JSON entry: its length once written (a deferred one counts from then on). */
function textBytes(t: string | DeferredText | undefined): number {
  return typeof t === 'string' ? t.length : 0;
}

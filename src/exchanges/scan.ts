/**
 * A zero-allocation reader for frames whose exact shape is known: it walks a
 * string with a cursor, expecting literal tokens and reading numbers, decimal
 * strings, booleans and string bounds in place. Any surprise makes a read
 * fail (sets `ok = false`; a number read leaves NaN in its slot of `numbers`, other reads
 * return -1 or false); adapters then fall back to
 * JSON.parse, so the fast path never decides anything the slow path would
 * decide differently — it only declines.
 *
 * Numbers: a decimal with at most 15 significant digits is parsed as an
 * integer mantissa divided by a power of ten; both are exact in float64, so
 * the one division is correctly rounded and equals `Number(text)` (Clinger's
 * fast path). Anything longer declines.
 */

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];
const MAX_DIGITS = 15;
/** 10^MAX_DIGITS: a mantissa below it has at most MAX_DIGITS significant digits, and is exact in float64. */
const MAX_MANTISSA = 1e15;
const ZERO = 48;
const NINE = 57;
const QUOTE = 34;
const DOT = 46;
const MINUS = 45;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const LOWER_T = 116;
const LOWER_R = 114;
const LOWER_U = 117;
const LOWER_E = 101;
const LOWER_F = 102;
const LOWER_A = 97;
const LOWER_L = 108;
const LOWER_S = 115;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** How many number slots a scanner has (`FrameScanner.numbers`). */
export const NUMBER_SLOTS = 8;

/** Cursor over one frame. Reuse one instance: `reset` per frame. */
export class FrameScanner {
  text = '';
  pos = 0;
  ok = true;
  /**
   * The numbers read by `int` and `decimalString`, each in the slot the
   * caller named (NaN when the read failed). Typed slots rather than return
   * values or arguments: a double returned from, or passed to, a call V8
   * does not inline is boxed on the heap, and timestamps, trade ids and
   * prices are doubles (the ingest worker's scavenges per million trades
   * went from 7 to 6 with the slots; docs/benchmarks.md).
   */
  readonly numbers = new Float64Array(NUMBER_SLOTS);

  reset(text: string, pos = 0): void {
    this.text = text;
    this.pos = pos;
    this.ok = true;
  }

  /**
   * Consume `token` exactly, or fail. Compared char by char: V8 inlines
   * `charCodeAt` on a flat string, where `startsWith` at an offset is a
   * runtime call (~20 ns each, measured here; see binance.ts).
   */
  expect(token: string): boolean {
    const t = this.text;
    const p = this.pos;
    const n = token.length;
    if (this.ok) {
      let k = 0;
      while (k < n && t.charCodeAt(p + k) === token.charCodeAt(k)) k++;
      if (k === n) {
        this.pos = p + n;
        return true;
      }
    }
    return this.refuse();
  }

  /**
   * Consume a `Literal` exactly, or fail: `expect` for a token made once at
   * module load (`literal('…')`), read from a typed array instead of a
   * string: cheaper per character where the fast path is hot (binance.ts).
   */
  literal(codes: Literal): boolean {
    const t = this.text;
    const p = this.pos;
    const n = codes.length;
    if (this.ok) {
      let k = 0;
      while (k < n && t.charCodeAt(p + k) === codes[k]) k++;
      if (k === n) {
        this.pos = p + n;
        return true;
      }
    }
    return this.refuse();
  }

  /** Step over a quoted string without escapes (not kept, not hashed), or fail. */
  skipString(): boolean {
    const t = this.text;
    let p = this.pos;
    if (!this.ok || t.charCodeAt(p) !== QUOTE) return this.refuse();
    for (let c = t.charCodeAt(++p); c !== QUOTE; c = t.charCodeAt(++p)) {
      if (c === BACKSLASH || c !== c) return this.refuse(); // an escape, or the text ended (NaN)
    }
    this.pos = p + 1;
    return true;
  }

  /**
   * Consume `,"K":`, the separator and a one-character key (`code` is K's
   * char code: Binance's keys), or fail. Compared against constants, not
   * through a token string (the figures are in binance.ts).
   */
  key(code: number): boolean {
    const t = this.text;
    const p = this.pos;
    if (
      this.ok &&
      t.charCodeAt(p) === COMMA &&
      t.charCodeAt(p + 1) === QUOTE &&
      t.charCodeAt(p + 2) === code &&
      t.charCodeAt(p + 3) === QUOTE &&
      t.charCodeAt(p + 4) === COLON
    ) {
      this.pos = p + 5;
      return true;
    }
    return this.refuse();
  }

  /** A JSON integer (optional minus, digits, no exponent), at most 15 digits. */
  int(slot: number): void {
    const t = this.text;
    let i = this.pos;
    let negative = false;
    if (t.charCodeAt(i) === MINUS) {
      negative = true;
      i++;
    }
    const start = i;
    let v = 0;
    for (let c = t.charCodeAt(i); c >= ZERO && c <= NINE; c = t.charCodeAt(++i)) v = v * 10 + (c - ZERO);
    const digits = i - start;
    if (digits === 0 || digits > MAX_DIGITS || (digits > 1 && t.charCodeAt(start) === ZERO)) return this.failNumber(slot);
    this.pos = i;
    this.numbers[slot] = negative ? -v : v;
  }

  /**
   * A quoted non-negative decimal like "61837.63000000": digits, then an
   * optional dot and at least one digit. The integer and fraction parts are
   * read by two loops of one test per char (one loop testing for the dot and
   * the part at every char cost ~10% more of the whole Binance parse,
   * measured in binance.ts); more than 15 significant digits is exactly a
   * mantissa of 1e15 or more (leading zeros add nothing to it).
   */
  decimalString(slot: number): void {
    const t = this.text;
    let i = this.pos;
    if (t.charCodeAt(i) !== QUOTE) return this.failNumber(slot);
    const start = ++i;
    let mantissa = 0;
    let c = t.charCodeAt(i);
    for (; c >= ZERO && c <= NINE; c = t.charCodeAt(++i)) mantissa = mantissa * 10 + (c - ZERO);
    if (i === start) return this.failNumber(slot); // no integer part ("", ".5")
    let fraction = 0;
    if (c === DOT) {
      const fractionStart = ++i;
      for (c = t.charCodeAt(i); c >= ZERO && c <= NINE; c = t.charCodeAt(++i)) mantissa = mantissa * 10 + (c - ZERO);
      fraction = i - fractionStart;
      if (fraction === 0) return this.failNumber(slot); // "1."
    }
    if (c !== QUOTE || mantissa >= MAX_MANTISSA) return this.failNumber(slot);
    this.pos = i + 1;
    this.numbers[slot] = fraction > 0 ? mantissa / POW10[fraction]! : mantissa;
  }


  /** `true` or `false`: 1 or 0; fails otherwise. Compared against constants (see `key`). */
  bool(): number {
    const t = this.text;
    const p = this.pos;
    if (!this.ok) return NaN;
    if (t.charCodeAt(p) === LOWER_T && t.charCodeAt(p + 1) === LOWER_R && t.charCodeAt(p + 2) === LOWER_U && t.charCodeAt(p + 3) === LOWER_E) {
      this.pos = p + 4;
      return 1;
    }
    if (t.charCodeAt(p) === LOWER_F && t.charCodeAt(p + 1) === LOWER_A && t.charCodeAt(p + 2) === LOWER_L && t.charCodeAt(p + 3) === LOWER_S && t.charCodeAt(p + 4) === LOWER_E) {
      this.pos = p + 5;
      return 0;
    }
    return this.fail();
  }

  /** Index of the closing quote of the last `stringStart`. */
  stringEnd = -1;
  /** FNV-1a hash (`hashRange`) of the last `stringStart`'s characters. */
  stringHash = 0;

  /**
   * A quoted string without escapes: returns the index of its first
   * character and leaves the cursor after the closing quote (length = end of
   * string − start, read `stringEnd`). Hashes the characters on the way
   * (`stringHash`), so a symbol is looked up without reading it again.
   */
  stringStart(): number {
    const t = this.text;
    if (t.charCodeAt(this.pos) !== QUOTE) {
      this.fail();
      return -1;
    }
    const start = this.pos + 1;
    let h = FNV_OFFSET;
    // One pass to the closing quote (indexOf for the backslash would scan the rest of the frame when there is none).
    let end = start;
    for (let c = t.charCodeAt(end); c !== QUOTE; c = t.charCodeAt(++end)) {
      if (c === BACKSLASH || c !== c) {
        this.fail(); // an escape, or the text ended (NaN)
        return -1;
      }
      h = Math.imul(h ^ c, FNV_PRIME);
    }
    this.stringEnd = end;
    this.stringHash = h >>> 0;
    this.pos = end + 1;
    return start;
  }

  /** True when the cursor is exactly at the end of the text. */
  atEnd(): boolean {
    if (this.ok && this.pos === this.text.length) return true;
    this.ok = false;
    return false;
  }

  /** A token or string that is not there: the scanner fails. */
  private refuse(): false {
    this.ok = false;
    return false;
  }

  private fail(): number {
    this.ok = false;
    return NaN;
  }

  /** A number that is not there: the scanner fails and the number slot says NaN. */
  private failNumber(slot: number): void {
    this.ok = false;
    this.numbers[slot] = NaN;
  }
}

/** A token's char codes, for `FrameScanner.literal`. */
export type Literal = Uint16Array;

/** The `Literal` of `text`: make it once, at module load. */
export function literal(text: string): Literal {
  return Uint16Array.from(text, (c) => c.charCodeAt(0));
}

/** FNV-1a hash of `text[start..end)`, for looking up a symbol without slicing it out. */
export function hashRange(text: string, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h >>> 0;
}

/** FNV-1a hash of a whole string (same values as `hashRange`). */
export function hashString(text: string): number {
  return hashRange(text, 0, text.length);
}

/**
 * Strict decoding of venue field formats: decimal strings, epoch-ms times,
 * trade ids and the pieces of RFC-3339 date-times, each read exactly as the
 * venues print them and NaN / false for anything else (never what a lenient
 * `Number()` or `Date.parse` would make of it). No allocation.
 *
 * Only functions that several adapters use live here; venue-specific
 * variants (OKX's decimal, Bitstamp's and OKX's integers) stay with their
 * adapters, as each accepts something the others refuse. The RFC-3339
 * parser is one, with the form each venue prints as a parameter.
 *
 * Bounds every adapter holds its output to, whatever the venue's format
 * (hostile or corrupt frames included; test/fuzz holds them to it):
 * - times lie in [MIN_EPOCH_MS, MAX_EPOCH_MS), years 2000 to 2099: a frame
 *   dated 1970 or 2286 is corrupt, and one trade "from the future" would make
 *   every later trade of its symbol late (dropped) until a restart;
 * - prices and sizes are finite and below MAX_QUANTITY, so that price × size
 *   and a bar's sums stay finite.
 */

/** 2000-01-01T00:00:00Z: no trade or quote a venue sends is older. */
export const MIN_EPOCH_MS = 946_684_800_000;
/** 2100-01-01T00:00:00Z, exclusive. */
export const MAX_EPOCH_MS = 4_102_444_800_000;

/**
 * Prices and sizes are below this: the largest a plain decimal of fewer than
 * 40 characters prints, far above any real price or size, and small enough
 * that price × size (< 1e78) and sums over any number of trades stay finite.
 */
export const MAX_QUANTITY = 1e39;

/** Longest piece of venue-supplied text kept in an error message (it reaches logs and /v1/status). */
export const MAX_VENUE_TEXT = 200;

/** Venue-supplied text for an error message, cut to MAX_VENUE_TEXT characters. */
export function venueText(v: string): string {
  return v.length <= MAX_VENUE_TEXT ? v : `${v.slice(0, MAX_VENUE_TEXT)}… (${v.length} characters)`;
}

/** A time (epoch ms, fractions allowed) within [MIN_EPOCH_MS, MAX_EPOCH_MS); false for NaN. */
export function isPlausibleMs(ms: number): boolean {
  return ms >= MIN_EPOCH_MS && ms < MAX_EPOCH_MS;
}

/** A price or size given as a JSON number: finite, >= 0 and below MAX_QUANTITY (callers check > 0 where needed). */
export function isQuantity(v: unknown): v is number {
  return typeof v === 'number' && v >= 0 && v < MAX_QUANTITY;
}

/**
 * A plain decimal string (`"61800.30"`, `"30243.40000"`) as a number below
 * MAX_QUANTITY: digits, optionally a dot and more digits, fewer than 40
 * characters; NaN for anything else (signs, exponents, blanks, a bare dot).
 * Binance USDⓈ-M, Bybit, Kraken REST.
 */
export function plainDecimal(v: unknown): number {
  if (typeof v !== 'string' || v.length === 0 || v.length >= 40 || !PLAIN_DECIMAL.test(v)) return NaN;
  const n = Number(v);
  return n < MAX_QUANTITY ? n : NaN; // 39 nines round up to 1e39
}
const PLAIN_DECIMAL = /^[0-9]+(?:\.[0-9]+)?$/;

/**
 * A decimal string with an optional exponent (`"3805.44"`, `"0.07920000"`,
 * `"1e-8"`, `"1E-8"`), at most 40 characters, as a number below
 * MAX_QUANTITY; NaN for anything else — including what Number() would accept
 * but the venues never send (`""`, `" 1"`, `"0x10"`, `"Infinity"`, signs)
 * and exponents past the bound (`"1e400"` is Infinity, `"1e308"` overflows
 * price × size). Coinbase, Bitstamp, Binance spot.
 */
export function decimalWithExponent(v: unknown): number {
  if (typeof v !== 'string' || v.length === 0 || v.length > 40) return NaN;
  let i = 0;
  let digits = 0;
  let c = v.charCodeAt(i);
  while (c >= 48 && c <= 57) {
    digits++;
    c = v.charCodeAt(++i);
  }
  if (c === 46) {
    c = v.charCodeAt(++i);
    while (c >= 48 && c <= 57) {
      digits++;
      c = v.charCodeAt(++i);
    }
  }
  if (digits === 0) return NaN;
  if (c === 101 || c === 69) {
    c = v.charCodeAt(++i);
    if (c === 43 || c === 45) c = v.charCodeAt(++i);
    const start = i;
    while (c >= 48 && c <= 57) c = v.charCodeAt(++i);
    if (i === start) return NaN;
  }
  if (i !== v.length) return NaN;
  const n = Number(v);
  return n < MAX_QUANTITY ? n : NaN;
}

/** An epoch-ms timestamp given as a JSON number: an integer within [MIN_EPOCH_MS, MAX_EPOCH_MS). */
export function isEpochMs(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && isPlausibleMs(v);
}

/** A trade id given as a JSON number: a non-negative safe integer. */
export function isTradeId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** The unsigned decimal integer of `len` digits at s[at, at + len); NaN when any character is not a digit. */
export function digitsAt(s: string, at: number, len: number): number {
  let v = 0;
  for (let i = at; i < at + len; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return NaN;
    v = v * 10 + d;
  }
  return v;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days in `month` (1–12) of `year` (proleptic Gregorian: Feb 29 in leap years). */
export function daysInMonth(year: number, month: number): number {
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return DAYS_IN_MONTH[month - 1]! + (leap ? 1 : 0);
}

/**
 * Days from 1970-01-01 to the civil date (proleptic Gregorian; H. Hinnant's
 * days_from_civil); what Date.UTC computes, without the call.
 */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** Which RFC-3339 date-times `parseRfc3339Ms` accepts, and how it reads the fraction. */
export const Rfc3339 = {
  /**
   * All of RFC 3339: `T`/`t`, `Z`/`z` or a `±hh:mm` offset (`-00:00` too),
   * any number of fraction digits (the text at most 64 characters), any
   * four-digit year; the fraction truncated to the ms. Alpaca.
   */
  ANY: 0,
  /**
   * UTC as the venues print it, `YYYY-MM-DDTHH:MM:SS[.f]Z`: upper-case `T`
   * and `Z`, 1 to 9 fraction digits, years from 1970; the fraction truncated
   * to the ms. Coinbase.
   */
  UTC: 1,
  /** As UTC, the fraction kept below the ms (µs as a fraction of the ms). Kraken v2. */
  UTC_SUB_MS: 2,
} as const;
export type Rfc3339 = (typeof Rfc3339)[keyof typeof Rfc3339];

/**
 * An RFC-3339 date-time of form `form` (default ANY) as epoch ms; NaN when it
 * is not one. Dates are checked (Feb 29 only in leap years); a leap second
 * (:60) is refused, as epoch ms cannot represent it. Read in place: no
 * allocation, no Date object. Not Date.parse: V8 reads more than 9 fraction
 * digits wrongly (…37.0897231234Z gives .897), falls back to a lenient
 * legacy parser (2021-02-30 becomes March 2), and took ~300 ns per call,
 * several times this.
 */
export function parseRfc3339Ms(s: string, form: Rfc3339 = Rfc3339.ANY): number {
  const n = s.length;
  const any = form === Rfc3339.ANY;
  if (n < 20 || n > (any ? 64 : 30)) return NaN;
  const sep = s.charCodeAt(10);
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || (sep !== 84 /* T */ && (!any || sep !== 116)) || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return NaN;
  const year = digitsAt(s, 0, 4);
  const month = digitsAt(s, 5, 2);
  const day = digitsAt(s, 8, 2);
  const hour = digitsAt(s, 11, 2);
  const minute = digitsAt(s, 14, 2);
  const second = digitsAt(s, 17, 2);
  if (!(year >= (any ? 0 : 1970) && month >= 1 && month <= 12 && day >= 1 && hour <= 23 && minute <= 59 && second <= 59)) return NaN;
  if (day > daysInMonth(year, month)) return NaN;
  let i = 19;
  let ms = 0; // the fraction's first three digits: truncated to the ms
  let fraction = 0; // all of it, in ms (UTC_SUB_MS; at most 9 digits there, so exact)
  if (s.charCodeAt(19) === 46 /* . */) {
    let f = 0;
    for (i = 20; i < n; i++) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      if (i < 23) ms = ms * 10 + d;
      f = f * 10 + d;
    }
    const digits = i - 20;
    if (digits === 0) return NaN;
    for (let k = digits; k < 3; k++) ms *= 10;
    if (form === Rfc3339.UTC_SUB_MS) fraction = (f * 1000) / 10 ** digits; // exact integers, one correctly rounded division
  }
  let offsetMin = 0;
  const z = s.charCodeAt(i);
  if (z === 90 /* Z */ || (any && z === 122)) {
    if (i + 1 !== n) return NaN;
  } else if (any && (z === 43 || z === 45)) {
    const oh = digitsAt(s, i + 1, 2);
    const om = digitsAt(s, i + 4, 2);
    if (i + 6 !== n || s.charCodeAt(i + 3) !== 58 || !(oh <= 23 && om <= 59)) return NaN;
    offsetMin = (z === 45 ? -1 : 1) * (oh * 60 + om);
  } else {
    return NaN;
  }
  const whole = daysFromCivil(year, month, day) * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000;
  return form === Rfc3339.UTC_SUB_MS ? whole + fraction : whole + ms - offsetMin * 60_000;
}

/**
 * Strict decoding of venue field formats: decimal strings, epoch-ms times,
 * trade ids and the pieces of RFC-3339 date-times, each read exactly as the
 * venues print them and NaN / false for anything else (never what a lenient
 * `Number()` or `Date.parse` would make of it). No allocation.
 *
 * Only functions that several adapters use in exactly this form live here;
 * venue-specific variants (OKX's decimal, Bitstamp's and OKX's integers, the
 * three RFC-3339 parsers) stay with their adapters, as each accepts
 * something the others refuse.
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

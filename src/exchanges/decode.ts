/**
 * Strict decoding of venue field formats: decimal strings, epoch-ms times,
 * trade ids and the pieces of RFC-3339 date-times, each read exactly as the
 * venues print them and NaN / false for anything else (never what a lenient
 * `Number()` or `Date.parse` would make of it). No allocation.
 *
 * Only functions that several adapters use in exactly this form live here;
 * venue-specific variants (OKX's decimal, Bitstamp's and OKX's integers, the
 * three RFC-3339 parsers, Binance spot's decimal) stay with their adapters,
 * as each accepts something the others refuse.
 */

/**
 * A plain decimal string (`"61800.30"`, `"30243.40000"`) as a number: digits,
 * optionally a dot and more digits, fewer than 40 characters; NaN for
 * anything else (signs, exponents, blanks, a bare dot).
 * Binance USDⓈ-M, Bybit, Kraken REST.
 */
export function plainDecimal(v: unknown): number {
  return typeof v === 'string' && v.length > 0 && v.length < 40 && PLAIN_DECIMAL.test(v) ? Number(v) : NaN;
}
const PLAIN_DECIMAL = /^[0-9]+(?:\.[0-9]+)?$/;

/**
 * A decimal string with an optional exponent (`"3805.44"`, `"0.07920000"`,
 * `"1e-8"`, `"1E-8"`), at most 40 characters, as a number; NaN for anything
 * else — including what Number() would accept but the venues never send
 * (`""`, `" 1"`, `"0x10"`, `"Infinity"`, signs). Coinbase, Bitstamp.
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
  return i === v.length ? Number(v) : NaN;
}

/** An epoch-ms timestamp given as a JSON number: a positive safe integer. */
export function isEpochMs(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
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

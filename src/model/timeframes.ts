/**
 * Timeframes: names, durations and UTC bucket alignment.
 *
 * Every bucket starts at a UTC multiple of its duration counted from an
 * origin: the Unix epoch for everything up to a day, Monday 1970-01-05
 * 00:00 UTC for weeks (the epoch itself was a Thursday).
 */
import { InvalidTimeframeError } from '../errors.ts';

/** Canonical timeframe names, shortest first. */
export const TIMEFRAMES = [
  '1s', '5s', '15s', '1m', '3m', '5m', '15m', '30m', '1h', '2h', '4h', '6h', '12h', '1d', '1w',
] as const;
export type TimeframeName = (typeof TIMEFRAMES)[number];

/** MetaTrader aliases accepted wherever a timeframe is. */
export const METATRADER_ALIASES: Readonly<Record<string, TimeframeName>> = {
  M1: '1m', M5: '5m', M15: '15m', M30: '30m', H1: '1h', H4: '4h', D1: '1d', W1: '1w',
};

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
/** 1970-01-05T00:00:00Z, the first Monday after the epoch. */
const WEEK_ORIGIN = 4 * DAY;

const DURATION: Readonly<Record<TimeframeName, number>> = {
  '1s': SECOND, '5s': 5 * SECOND, '15s': 15 * SECOND,
  '1m': MINUTE, '3m': 3 * MINUTE, '5m': 5 * MINUTE, '15m': 15 * MINUTE, '30m': 30 * MINUTE,
  '1h': HOUR, '2h': 2 * HOUR, '4h': 4 * HOUR, '6h': 6 * HOUR, '12h': 12 * HOUR,
  '1d': DAY, '1w': WEEK,
};

/** A parsed timeframe: canonical name, length and alignment origin, in ms. */
export interface Timeframe {
  readonly name: TimeframeName;
  readonly ms: number;
  readonly origin: number;
}

const BY_NAME = new Map<string, Timeframe>();
for (const name of TIMEFRAMES) {
  BY_NAME.set(name, Object.freeze({ name, ms: DURATION[name], origin: name === '1w' ? WEEK_ORIGIN : 0 }));
}
for (const [alias, name] of Object.entries(METATRADER_ALIASES)) BY_NAME.set(alias, BY_NAME.get(name)!);

const ACCEPTED = [...TIMEFRAMES, ...Object.keys(METATRADER_ALIASES)];

/** Resolve a timeframe name or MetaTrader alias; throws `INVALID_TIMEFRAME` otherwise. */
export function parseTimeframe(name: string): Timeframe {
  const tf = typeof name === 'string' ? BY_NAME.get(name) : undefined;
  if (tf === undefined) throw new InvalidTimeframeError(name, ACCEPTED);
  return tf;
}

/** True when `name` is an accepted timeframe name or alias. */
export function isTimeframe(name: string): boolean {
  return BY_NAME.has(name);
}

/** Start (ms UTC) of the bucket of length `ms` aligned at `origin` that contains `ts`. */
export function bucketStart(ts: number, ms: number, origin: number): number {
  const r = (ts - origin) % ms;
  return r >= 0 ? ts - r : ts - r - ms;
}

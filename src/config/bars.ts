/**
 * What bars are kept and how they close: `timeframes` (MetaTrader aliases
 * accepted, canonical out, no duplicates, shortest first), `history` (one
 * depth for all, or a map timeframe → depth; unlisted timeframes keep
 * DEFAULT_HISTORY) and the `bars:` section (grace, empty bars, late trades).
 */
import type { Checker } from '../check/checker.ts';
import { indexPath, isMap, keyPath } from '../check/paths.ts';
import { isTimeframe, METATRADER_ALIASES, parseTimeframe, TIMEFRAMES, type TimeframeName } from '../model/timeframes.ts';
import { DEFAULT_FILL_EMPTY, DEFAULT_GRACE_MS, DEFAULT_HISTORY, DEFAULT_LATE_TOLERANCE_MS, DEFAULT_TIMEFRAMES } from './defaults.ts';
import type { BarsConfig } from './types.ts';

const BARS_KEYS = ['graceMs', 'fillEmpty', 'lateToleranceMs'] as const;

export const MAX_HISTORY = 1_000_000;
export const MAX_GRACE_MS = 60_000;
export const MAX_LATE_TOLERANCE_MS = 3_600_000;

/** `timeframes:`: canonical names, shortest first; absent → DEFAULT_TIMEFRAMES. */
export function timeframesSection(c: Checker, value: unknown): TimeframeName[] {
  if (value === undefined || value === null) return [...DEFAULT_TIMEFRAMES];
  const expected = `a non-empty list of timeframes (${acceptedTimeframes()})`;
  if (!Array.isArray(value) || value.length === 0) {
    c.fail('timeframes', value, expected);
    return [...DEFAULT_TIMEFRAMES];
  }
  const names = new Set<TimeframeName>();
  value.forEach((v, i) => {
    if (typeof v === 'string' && isTimeframe(v)) names.add(parseTimeframe(v).name);
    else c.fail(indexPath('timeframes', i), v, `one of ${acceptedTimeframes()}`);
  });
  return TIMEFRAMES.filter((tf) => names.has(tf));
}

/** `history:`: closed bars kept per series for each of `timeframes`. */
export function historySection(c: Checker, value: unknown, timeframes: readonly TimeframeName[]): Record<TimeframeName, number> {
  const history = {} as Record<TimeframeName, number>;
  const depthOk = (n: number) => Number.isInteger(n) && n >= 1 && n <= MAX_HISTORY;
  const depth = `a whole number of bars from 1 to ${MAX_HISTORY}`;
  let all = DEFAULT_HISTORY;
  if (value !== undefined && value !== null && !isMap(value)) {
    all = c.number(value, 'history', DEFAULT_HISTORY, depthOk, `${depth}, or a map of timeframe to that`);
  }
  for (const tf of timeframes) history[tf] = all;
  if (!isMap(value)) return history;

  const seen = new Map<TimeframeName, string>();
  for (const [key, v] of Object.entries(value)) {
    const path = keyPath('history', key);
    const tf = isTimeframe(key) ? parseTimeframe(key).name : undefined;
    if (tf === undefined || !timeframes.includes(tf)) {
      c.issues.push({
        path,
        message: `${tf === undefined ? 'not a timeframe' : 'not in timeframes'}, expected one of the configured timeframes ${timeframes.join(', ')}`,
      });
      continue;
    }
    const first = seen.get(tf);
    if (first !== undefined) {
      c.issues.push({ path, message: `same timeframe as ${first}, expected each timeframe once` });
      continue;
    }
    seen.set(tf, path);
    history[tf] = c.number(v, path, DEFAULT_HISTORY, depthOk, depth);
  }
  return history;
}

/** `bars:`: grace before a bar closes, empty bars, how late a trade may still amend one. */
export function barsSection(c: Checker, value: unknown): BarsConfig {
  const b = c.section(value, 'bars', BARS_KEYS);
  return {
    graceMs: c.number(b.graceMs, 'bars.graceMs', DEFAULT_GRACE_MS, (n) => n >= 0 && n <= MAX_GRACE_MS,
      `a number of milliseconds >= 0 and <= ${MAX_GRACE_MS}`),
    fillEmpty: c.boolean(b.fillEmpty, 'bars.fillEmpty', DEFAULT_FILL_EMPTY),
    lateToleranceMs: c.number(b.lateToleranceMs, 'bars.lateToleranceMs', DEFAULT_LATE_TOLERANCE_MS,
      (n) => n >= 0 && n <= MAX_LATE_TOLERANCE_MS, `a number of milliseconds >= 0 and <= ${MAX_LATE_TOLERANCE_MS}`),
  };
}

let accepted: string | undefined;
function acceptedTimeframes(): string {
  accepted ??= `${TIMEFRAMES.join(' ')} or ${Object.keys(METATRADER_ALIASES).join(' ')}`;
  return accepted;
}

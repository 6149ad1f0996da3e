/**
 * The local clock every thread stamps with: wall-clock milliseconds with
 * microsecond precision (`performance.timeOrigin + performance.now()`), so a
 * worker's receive time and the main thread's publish time are comparable.
 */

/** Local wall-clock time in ms with µs precision; the same clock in every thread. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

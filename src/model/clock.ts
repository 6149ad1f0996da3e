/**
 * The local clock every thread stamps with: wall-clock milliseconds with
 * microsecond precision (`performance.timeOrigin + performance.now()`), so a
 * worker's receive time and the main thread's publish time are comparable.
 */

/** This thread's `performance.timeOrigin`, read once: the getter allocates a number on every read (measured on the ingest path). */
const ORIGIN = performance.timeOrigin;

/** Local wall-clock time in ms with µs precision; the same clock in every thread. */
export function nowMs(): number {
  return ORIGIN + performance.now();
}

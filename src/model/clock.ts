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

/**
 * The receive time of the socket read being handled: `now()` reads the
 * clock once per read and hands every frame of that read the same stamp
 * (they arrived together). The stamp expires in the microtask checkpoint
 * that follows the read's callback (`ws` emits a read's messages
 * synchronously, so its frames all see one stamp and the next read a fresh
 * one). Why: a clock read per frame cost ~40–55 ns of the ingest worker's
 * ~1 µs per trade (docs/benchmarks.md), ~65 frames share one 16 KiB read.
 */
export class ReadClock {
  private stamp = NaN;
  private readonly expire = (): void => {
    this.stamp = NaN;
  };
  private readonly defer: (task: () => void) => void;

  /** `defer(task)` runs `task` once the current read is handled (default: the next microtask checkpoint). */
  constructor(defer: (task: () => void) => void = queueMicrotask) {
    this.defer = defer;
  }

  /** `nowMs()` as of the first call since the current read began. */
  now(): number {
    let t = this.stamp;
    if (t !== t) {
      t = this.stamp = nowMs();
      this.defer(this.expire);
    }
    return t;
  }
}

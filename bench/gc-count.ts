/**
 * Garbage collections in a window of a thread's time, from the
 * `PerformanceObserver` gc entries (one per scavenge or mark-compact). The
 * ingest workers count them over their timed rounds: the per-frame path is
 * meant to allocate nothing, so its steady state should show none.
 */
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** GCs seen from `start` to `end` (performance.now() times), and their total pause, ms. */
export interface GcWindow {
  count: number;
  ms: number;
}

/** Watches this thread's GCs from construction until `close`. */
export class GcCounter {
  private readonly entries: PerformanceEntry[] = [];
  private readonly observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (this.entries.length < 100_000) this.entries.push(e);
  });

  constructor() {
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /**
   * GCs that started within [start, end). Entries reach the observer on a
   * later turn of the event loop: call it after awaiting one (`settle`).
   */
  between(start: number, end: number): GcWindow {
    let count = 0;
    let ms = 0;
    for (const e of this.entries) {
      if (e.startTime < start || e.startTime >= end) continue;
      count++;
      ms += e.duration;
    }
    return { count, ms };
  }

  close(): void {
    this.observer.disconnect();
  }
}

/** Let pending gc entries reach the observer. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 20));
}

/**
 * V8's own collector, made reachable without `--expose-gc` on the command
 * line (worker threads cannot take V8 flags): the flag set at run time
 * exposes `gc` in contexts created after it.
 */
const collect = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as (options: { type: 'minor' | 'major' }) => void;
})();

/**
 * Empty the young generation now, so that a window starting here counts only
 * the collections its own allocations cause (not garbage left by set-up).
 */
export function emptyNursery(): void {
  collect({ type: 'minor' });
}

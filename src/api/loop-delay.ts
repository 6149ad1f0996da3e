/**
 * The main thread's event-loop delay in an HDR histogram (µs): a timer set
 * every `intervalMs` records how late it fired, i.e. how long a callback that
 * became ready then waited for the thread. Every subscriber's latency
 * includes it (`/v1/latency` `event_loop_delay.main`, /metrics).
 *
 * Why not `perf_hooks.monitorEventLoopDelay`: its histogram can be read only
 * as percentiles since it was enabled, so a window (the bench's measured
 * trades, an operator's last minute) cannot be cut out of it; an HDR
 * histogram is sent whole (`latency({ histograms: true })`) and two readings
 * subtract. The cost: the same wake-up per interval as Node's sampler (a
 * libuv timer too) plus entering JavaScript for it. Measured here (an idle
 * process, 15 s each, alternating, load average 10–13): 233–413 ms of CPU
 * with this sampler at 10 ms, 74–266 ms with Node's, 32–141 ms with none,
 * so about 0.7% of a core more than Node's, the price of windows. The timer
 * is re-armed with `refresh()`, not made anew per sample. A timer that fired
 * on time or early records 1 µs (the histogram's smallest value).
 */
import type * as hdr from 'hdr-histogram-js';
import { newLatencyHistogram, LATENCY_MAX_US } from '../reader/pump.ts';

/** Samples the event-loop delay while enabled; see the module comment. */
export class LoopDelayMonitor {
  readonly histogram: hdr.Histogram = newLatencyHistogram();
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  /** performance.now() at which the pending timer is due. */
  #due = 0;

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  /** Start sampling (again: nothing when already sampling). */
  enable(): void {
    if (this.#timer !== undefined) return;
    this.#due = performance.now() + this.#intervalMs;
    this.#timer = setTimeout(this.#tick, this.#intervalMs);
    this.#timer.unref();
  }

  /** Stop sampling; what was recorded stays. */
  disable(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  readonly #tick = (): void => {
    const now = performance.now();
    this.histogram.recordValue(Math.min(LATENCY_MAX_US, Math.max(1, Math.round((now - this.#due) * 1000))));
    this.#due = now + this.#intervalMs;
    // The same timer again: no new Timeout object per sample.
    this.#timer?.refresh();
  };
}

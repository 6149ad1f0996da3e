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
 * subtract. The cost is the same wake-up per interval (Node's sampler is a
 * libuv timer too) plus a few µs of JavaScript: at 10 ms, well under 0.1% of
 * a core. A timer that fired on time or early records 1 µs (the histogram's
 * smallest value).
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
    this.#arm();
  }

  /** Stop sampling; what was recorded stays. */
  disable(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  readonly #tick = (): void => {
    const lateUs = Math.round((performance.now() - this.#due) * 1000);
    this.histogram.recordValue(Math.min(LATENCY_MAX_US, Math.max(1, lateUs)));
    this.#arm();
  };

  #arm(): void {
    this.#due = performance.now() + this.#intervalMs;
    this.#timer = setTimeout(this.#tick, this.#intervalMs);
    this.#timer.unref();
  }
}

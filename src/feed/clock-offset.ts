/**
 * Estimates the exchange clock's offset from the local clock (exchange =
 * local + offset) from trade timestamps. Every trade gives an upper bound:
 * T − recv = offset − network delay ≤ offset; the largest value seen over a
 * window is the best estimate (the least-delayed trade). Windows roll so the
 * estimate follows drift. Pure: times are parameters.
 */
export class ClockOffset {
  /** Current estimate, ms (0 until the first window closes with samples). */
  offsetMs = 0;
  private readonly windowMs: number;
  private windowStart = NaN;
  private windowMax = -Infinity;

  constructor(windowMs = 10_000) {
    this.windowMs = windowMs;
  }

  /** One sample: exchange time of an event and the local time it was received, both ms. */
  sample(exchangeTs: number, localTs: number): void {
    if (this.windowStart !== this.windowStart) {
      this.windowStart = localTs;
      this.offsetMs = exchangeTs - localTs; // a first estimate at once
    }
    const d = exchangeTs - localTs;
    if (d > this.windowMax) this.windowMax = d;
    if (localTs - this.windowStart >= this.windowMs) {
      this.offsetMs = this.windowMax;
      this.windowStart = localTs;
      this.windowMax = -Infinity;
    }
  }
}

/**
 * Token bucket: `rate` tokens per second, holding at most `burst`. Used for
 * the subscribe rate of a WebSocket connection and the request rate of an
 * HTTP client; a refused take is answered with `RATE_LIMITED`.
 */
export class TokenBucket {
  readonly rate: number;
  readonly burst: number;
  private tokens: number;
  private at: number;

  /** `now` is injectable for tests (ms, monotonic). */
  constructor(rate: number, burst: number, private readonly now: () => number = () => performance.now()) {
    if (!(rate > 0) || !(burst >= 1)) throw new RangeError(`token bucket needs rate > 0 and burst >= 1, got ${rate}, ${burst}`);
    this.rate = rate;
    this.burst = burst;
    this.tokens = burst;
    this.at = now();
  }

  /** Takes `n` tokens if there are that many; false (taking none) otherwise. */
  take(n = 1): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.at) * this.rate) / 1000);
    this.at = t;
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** Ms until `n` tokens are available (0 when they are now): the `Retry-After` of a refusal. */
  waitMs(n = 1): number {
    const t = this.now();
    const have = Math.min(this.burst, this.tokens + ((t - this.at) * this.rate) / 1000);
    return have >= n ? 0 : Math.ceil(((n - have) * 1000) / this.rate);
  }
}

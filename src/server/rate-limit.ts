/** Rate limits: a token bucket, one bucket per client in bounded memory, and the RATE_LIMITED error they raise. */
import { ErrorCode, TickwireError } from '../errors.ts';

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
    this.#refill();
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /**
   * Takes `n` tokens whether or not there are that many: work already done
   * (channels matched, snapshot bytes sent) is paid after the fact, and a
   * bucket in debt refuses every `take` until it has refilled.
   */
  charge(n: number): void {
    this.#refill();
    this.tokens -= n;
  }

  /** Gives back `n` tokens taken for work that turned out free (never above `burst`). */
  refund(n = 1): void {
    this.#refill();
    this.tokens = Math.min(this.burst, this.tokens + n);
  }

  /** Tokens there are now (negative while in debt). */
  available(): number {
    this.#refill();
    return this.tokens;
  }

  #refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.at) * this.rate) / 1000);
    this.at = t;
  }

  /** Ms until `n` tokens are available (0 when they are now): the `Retry-After` of a refusal. */
  waitMs(n = 1): number {
    const t = this.now();
    const have = Math.min(this.burst, this.tokens + ((t - this.at) * this.rate) / 1000);
    return have >= n ? 0 : Math.ceil(((n - have) * 1000) / this.rate);
  }
}

/** Default bound on the clients `RateLimiter` tracks at once. */
export const DEFAULT_MAX_CLIENTS = 10_000;

/**
 * One `TokenBucket` per client key (principal name or remote address), in
 * bounded memory: past `maxClients` the least recently seen clients are
 * forgotten (one that comes back starts with a fresh burst: a flood of
 * distinct addresses can loosen the limit, never grow the memory).
 */
export class RateLimiter {
  readonly rate: number;
  readonly burst: number;
  readonly maxClients: number;
  /** key → bucket, least recently used first (re-inserted on use). */
  readonly #buckets = new Map<string, TokenBucket>();
  /** The key taken last (last in `#buckets`, unless evicted since). */
  #last: string | undefined;
  readonly #now: () => number;

  /** `now` is injectable for tests (ms, monotonic). */
  constructor(rate: number, burst: number, maxClients = DEFAULT_MAX_CLIENTS, now: () => number = () => performance.now()) {
    if (!Number.isInteger(maxClients) || maxClients < 1) throw new RangeError(`rate limiter needs maxClients >= 1, got ${maxClients}`);
    this.rate = rate;
    this.burst = burst;
    this.maxClients = maxClients;
    this.#now = now;
    new TokenBucket(rate, burst, now); // validates rate and burst up front
  }

  /** Clients currently tracked. */
  get size(): number {
    return this.#buckets.size;
  }

  /** Takes one request for `key`: 0 when allowed, else the ms until it would be (the `Retry-After`). */
  take(key: string): number {
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.maxClients) this.#evict();
      bucket = new TokenBucket(this.rate, this.burst, this.#now);
      this.#buckets.set(key, bucket);
    } else if (key !== this.#last) {
      // Most recently seen goes last; the client asked last already is (a delete and a set saved per request of a busy client).
      this.#buckets.delete(key);
      this.#buckets.set(key, bucket);
    }
    this.#last = key;
    return bucket.take() ? 0 : Math.max(1, bucket.waitMs());
  }

  /** Gives back the token `take` took for `key` (a request that did not count after all, such as an authentication that succeeded). */
  refund(key: string): void {
    this.#buckets.get(key)?.refund();
  }

  /**
   * Forget the least recently seen eighth: amortized O(1) per new client.
   * Those are the likeliest to have refilled anyway (a refilled bucket is the
   * same as a new one).
   */
  #evict(): void {
    let n = Math.ceil(this.maxClients / 8);
    for (const key of this.#buckets.keys()) {
      this.#buckets.delete(key);
      if (--n === 0) break;
    }
  }
}

/** A request refused by a rate limit (code RATE_LIMITED); `retryAfterMs` is how long until one would pass. */
export class RateLimitedError extends TickwireError {
  readonly retryAfterMs: number;

  constructor(retryAfterMs: number, message: string) {
    super(ErrorCode.RATE_LIMITED, message);
    this.name = 'RateLimitedError';
    this.retryAfterMs = retryAfterMs;
  }
}

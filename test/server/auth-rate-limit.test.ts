/** RateLimiter: one token bucket per client, Retry-After in ms, bounded memory under a flood of distinct clients. */
import { describe, expect, it } from 'vitest';
import { RateLimitedError, RateLimiter } from '../../src/server/rate-limit.ts';

describe('RateLimiter', () => {
  it('keeps one bucket per key and answers the wait of a refusal', () => {
    let t = 0;
    const limiter = new RateLimiter(2, 3, 100, () => t);
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 0]);
    expect(limiter.take('a')).toBe(500);
    expect(limiter.take('b')).toBe(0);
    t = 250;
    expect(limiter.take('a')).toBe(250);
    t = 500;
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(500);
    expect(limiter.size).toBe(2);
  });

  it('stays within maxClients under a flood of new keys, forgetting the least recently seen first', () => {
    let t = 0;
    const limiter = new RateLimiter(1, 2, 64, () => t);
    limiter.take('hot');
    limiter.take('hot');
    expect(limiter.take('hot')).toBeGreaterThan(0);
    let largest = 0;
    let hotLetThrough = 0;
    for (let i = 0; i < 10_000; i++) {
      limiter.take(`10.0.${i >> 8}.${i & 255}`);
      if (i % 16 === 0 && limiter.take('hot') === 0) hotLetThrough++; // recently seen: never forgotten, so never refilled
      largest = Math.max(largest, limiter.size);
    }
    expect(hotLetThrough).toBe(0);
    expect(largest).toBe(64);
    // A forgotten client comes back with a fresh burst.
    expect(limiter.take('10.0.0.0')).toBe(0);
  });

  it('refuses nonsense parameters up front', () => {
    expect(() => new RateLimiter(0, 1)).toThrow(RangeError);
    expect(() => new RateLimiter(1, 0)).toThrow(RangeError);
    expect(() => new RateLimiter(1, 1, 0)).toThrow(RangeError);
  });

  it('RateLimitedError carries the code and the wait', () => {
    const e = new RateLimitedError(1500, 'slow down');
    expect(e.code).toBe('RATE_LIMITED');
    expect(e.retryAfterMs).toBe(1500);
  });
});

import { describe, expect, it } from 'vitest';
import { RateLimiter, TokenBucket } from '../../src/server/rate-limit.ts';

describe('TokenBucket', () => {
  it('allows a burst, then refills at the rate', () => {
    let t = 0;
    const b = new TokenBucket(10, 3, () => t);
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
    expect(b.waitMs()).toBe(100);
    t = 99;
    expect(b.take()).toBe(false);
    t = 100;
    expect(b.take()).toBe(true);
    t = 10_000;
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
  });

  it('rejects nonsense parameters', () => {
    expect(() => new TokenBucket(0, 1)).toThrow(RangeError);
    expect(() => new TokenBucket(1, 0)).toThrow(RangeError);
  });
});

describe('RateLimiter.refund', () => {
  it('gives back a taken token, never above the burst; an unknown key is a no-op', () => {
    const t = 0;
    const l = new RateLimiter(1, 2, 10, () => t);
    expect([l.take('a'), l.take('a')]).toEqual([0, 0]);
    expect(l.take('a')).toBe(1000);
    l.refund('a');
    expect(l.take('a')).toBe(0);
    l.refund('a');
    l.refund('a');
    l.refund('a');
    expect([l.take('a'), l.take('a'), l.take('a')]).toEqual([0, 0, 1000]);
    l.refund('nobody');
    expect(l.size).toBe(1);
  });
});

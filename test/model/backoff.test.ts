/** The shared reconnect backoff: both jitters, the ceiling, the doubling bound and reset. */
import { describe, expect, it } from 'vitest';
import { Jitter, JitteredBackoff } from '../../src/model/backoff.ts';

describe('JitteredBackoff', () => {
  it('FULL: floor(r · min(max, initial · 2ⁿ)), from 0 up to just below the ceiling', () => {
    const low = new JitteredBackoff(500, 30_000, Jitter.FULL, () => 0);
    expect([low.next(), low.next()]).toEqual([0, 0]);
    const high = new JitteredBackoff(500, 30_000, Jitter.FULL, () => 0.999999);
    expect(Array.from({ length: 8 }, () => high.next())).toEqual([499, 999, 1999, 3999, 7999, 15_999, 29_999, 29_999]);
  });

  it('EQUAL: between half and all of the ceiling, rounded', () => {
    const low = new JitteredBackoff(100, 1000, Jitter.EQUAL, () => 0);
    expect(Array.from({ length: 5 }, () => low.next())).toEqual([50, 100, 200, 400, 500]);
    const high = new JitteredBackoff(100, 1000, Jitter.EQUAL, () => 1);
    expect(Array.from({ length: 5 }, () => high.next())).toEqual([100, 200, 400, 800, 1000]);
  });

  it('counts attempts past the doubling bound without overflowing, and reset starts again', () => {
    const b = new JitteredBackoff(1, Number.MAX_VALUE, Jitter.EQUAL, () => 1);
    for (let i = 0; i < 40; i++) expect(b.next()).toBe(2 ** Math.min(i, 30));
    expect(b.attempt).toBe(40);
    b.reset();
    expect([b.attempt, b.next()]).toEqual([0, 1]);
  });
});

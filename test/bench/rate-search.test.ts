import { describe, expect, it } from 'vitest';
import { RateSearch, type RatePlan } from '../../bench/rate-search.ts';

const PLAN: RatePlan = { stepsUp: [4_000, 8_000, 16_000, 32_000], stepsDown: [1_000, 500, 250], refine: 3 };

/** Run a search against a gateway that holds every rate up to `limit`; the rates it tried, in order. */
function drive(search: RateSearch, limit: number): number[] {
  const tried: number[] = [];
  for (let rate = search.next(); rate !== undefined; rate = search.next()) {
    tried.push(rate);
    search.record(rate, rate <= limit);
  }
  return tried;
}

describe('fan-out rate search', () => {
  it('climbs from a held rated load to the first rate not held, then bisects between', () => {
    const s = new RateSearch(2_000, true, PLAN);
    // 8,000 held, 16,000 not; then 12,000 (held), 14,000 (not), 13,000 (held).
    expect(drive(s, 13_500)).toEqual([4_000, 8_000, 16_000, 12_000, 14_000, 13_000]);
    expect(s.maxHeldRate).toBe(13_000);
    expect(s.ceilingReached).toBe(false);
  });

  it('descends from a rated load not held to the first rate held', () => {
    const s = new RateSearch(2_000, false, { ...PLAN, refine: 0 });
    expect(drive(s, 600)).toEqual([1_000, 500]);
    expect(s.maxHeldRate).toBe(500);
  });

  it('says when every rate tried was held (the limit is higher), and when none was', () => {
    const all = new RateSearch(2_000, true, PLAN);
    expect(drive(all, Infinity)).toEqual([4_000, 8_000, 16_000, 32_000]);
    expect(all.maxHeldRate).toBe(32_000);
    expect(all.ceilingReached).toBe(true);
    const none = new RateSearch(2_000, false, PLAN);
    expect(drive(none, 0)).toEqual([1_000, 500, 250]);
    expect(none.maxHeldRate).toBe(0);
    expect(none.ceilingReached).toBe(false);
  });

  it('stops bisecting when the two bounds are 100 trades/s apart', () => {
    const s = new RateSearch(2_000, true, { stepsUp: [2_100], stepsDown: [], refine: 5 });
    expect(drive(s, 2_000)).toEqual([2_100]);
    expect(s.maxHeldRate).toBe(2_000);
  });
});

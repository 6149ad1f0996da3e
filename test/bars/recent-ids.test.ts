import { describe, expect, it } from 'vitest';
import { RecentIds, WindowIds, tradeIdSet } from '../../src/bars/recent-ids.ts';
import { mulberry32 } from '../support/prng.ts';

describe('RecentIds (any order)', () => {
  it('remembers exactly the last `capacity` ids', () => {
    const ids = new RecentIds(64);
    for (let i = 0; i < 64; i++) expect(ids.checkAndAdd(1_000 + i)).toBe(false);
    for (let i = 0; i < 64; i++) expect(ids.checkAndAdd(1_000 + i)).toBe(true);
    expect(ids.checkAndAdd(5_000)).toBe(false); // evicts 1000
    expect(ids.checkAndAdd(1_000)).toBe(false); // forgotten, remembered again (evicts 1001)
    expect(ids.checkAndAdd(1_002)).toBe(true);
  });

  it('agrees with a reference set over a long stream of colliding ids (backward-shift deletion)', () => {
    const capacity = 256;
    const ids = new RecentIds(capacity);
    const window: number[] = [];
    const random = mulberry32(7);
    for (let i = 0; i < 200_000; i++) {
      // Large ids across the 2^32 boundary, many repeats.
      const id = 4_294_967_000 + Math.floor(random() * 2_000);
      const expected = window.includes(id);
      expect(ids.checkAndAdd(id)).toBe(expected);
      if (!expected) {
        window.push(id);
        if (window.length > capacity) window.shift();
      }
    }
  });

  it('handles hashed 53-bit ids', () => {
    const ids = tradeIdSet('any', 1024);
    const random = mulberry32(11);
    const seen: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const id = Math.floor(random() * 2 ** 53);
      seen.push(id);
      expect(ids.checkAndAdd(id)).toBe(false);
    }
    for (const id of seen) expect(ids.checkAndAdd(id)).toBe(true);
  });
});

describe('WindowIds (increasing ids)', () => {
  it('catches every duplicate while the ids in flight span fewer than capacity, in any arrival order', () => {
    const ids = new WindowIds(1024);
    const random = mulberry32(3);
    let next = 3_735_683_259;
    const recent: number[] = [];
    for (let i = 0; i < 100_000; i++) {
      if (recent.length > 0 && random() < 0.2) {
        // A re-send from the last 1000 ids (reconnect overlap), in no particular order.
        const id = recent[Math.floor(random() * recent.length)]!;
        expect(ids.checkAndAdd(id)).toBe(true);
      } else {
        next += 1 + Math.floor(random() * 3) * (random() < 0.01 ? 1 : 0); // occasional small gaps
        expect(ids.checkAndAdd(next)).toBe(false);
        recent.push(next);
        if (recent.length > 1000) recent.shift();
      }
    }
  });

  it('forgets an id only when one `capacity` away replaces it', () => {
    const ids = new WindowIds(16);
    expect(ids.checkAndAdd(100)).toBe(false);
    expect(ids.checkAndAdd(115)).toBe(false);
    expect(ids.checkAndAdd(100)).toBe(true);
    expect(ids.checkAndAdd(116)).toBe(false); // 116 ≡ 100 (mod 16)
    expect(ids.checkAndAdd(100)).toBe(false);
  });
});

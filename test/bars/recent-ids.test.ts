import { describe, expect, it } from 'vitest';
import { RecentIds } from '../../src/bars/recent-ids.ts';

describe('RecentIds', () => {
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
    let x = 12345;
    for (let i = 0; i < 200_000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      // Large ids across the 2^32 boundary, many repeats.
      const id = 4_294_967_000 + (x % 2_000);
      const expected = window.includes(id);
      expect(ids.checkAndAdd(id)).toBe(expected);
      if (!expected) {
        window.push(id);
        if (window.length > capacity) window.shift();
      }
    }
  });
});

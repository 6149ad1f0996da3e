import { describe, expect, it } from 'vitest';
import { ClockOffset } from '../../src/feed/clock-offset.ts';

describe('ClockOffset', () => {
  it('estimates exchange − local from the least-delayed sample of each window', () => {
    const c = new ClockOffset(1_000);
    // The exchange clock runs 500 ms ahead; network delays vary from 3 to 80 ms.
    const delays = [80, 40, 3, 55, 12, 70, 9, 33, 21, 60, 5];
    let local = 10_000;
    for (const d of delays) {
      c.sample(local - d + 500, local);
      local += 100;
    }
    expect(c.offsetMs).toBe(497);
  });

  it('has a first estimate from the first sample, and follows drift window by window', () => {
    const c = new ClockOffset(1_000);
    c.sample(5_000 - 20, 4_000); // exchange ahead by ~1 s
    expect(c.offsetMs).toBe(980);
    for (let t = 4_100; t <= 6_000; t += 100) c.sample(t - 2_000 - 10, t); // now behind by 2 s
    expect(c.offsetMs).toBe(-2_010);
  });
});

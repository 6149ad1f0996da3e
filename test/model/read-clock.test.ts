/** ReadClock: one clock read per socket read, a fresh one for the next. */
import { describe, expect, it } from 'vitest';
import { nowMs, ReadClock } from '../../src/model/clock.ts';

/** Spin until the clock has moved past `ms` (it moves every µs or so). */
function after(ms: number): void {
  while (nowMs() <= ms);
}

describe('ReadClock', () => {
  it('hands every call of one read the same stamp, and reads the clock again once the read is over', () => {
    const deferred: (() => void)[] = [];
    const clock = new ReadClock((task) => deferred.push(task));
    const before = nowMs();
    const first = clock.now();
    expect(first).toBeGreaterThanOrEqual(before);
    after(first);
    expect(clock.now()).toBe(first);
    expect(clock.now()).toBe(first);
    expect(deferred).toHaveLength(1); // one expiry per read, not one per call

    deferred.shift()!(); // the read is over
    const second = clock.now();
    expect(second).toBeGreaterThan(first);
    expect(deferred).toHaveLength(1);
  });

  it('expires at the microtask checkpoint by default', async () => {
    const clock = new ReadClock();
    const first = clock.now();
    after(first);
    expect(clock.now()).toBe(first);
    await Promise.resolve();
    expect(clock.now()).toBeGreaterThan(first);
  });
});

/**
 * The lease state a feed's lease thread and main thread share
 * (src/cluster/lease-state.ts): a lease holds only under the term the main
 * thread knows and before its validity ends; each exchange's record is its
 * own, for any number of exchanges; two views of one buffer see each
 * other's writes (what the two threads do).
 */
import { describe, expect, it } from 'vitest';
import { allocateLeaseState, LeaseState } from '../../src/cluster/lease-state.ts';

describe('LeaseState', () => {
  it('holds a lease only under its term and before its validity ends', () => {
    const buffer = allocateLeaseState(2);
    const writer = new LeaseState(buffer, 2);
    const reader = new LeaseState(buffer, 2);
    expect(reader.holds(0, 7, 1_000)).toBe(false); // never set
    writer.set(0, 7, 2_000);
    expect(reader.holds(0, 7, 1_999.5)).toBe(true);
    expect(reader.holds(0, 7, 2_000)).toBe(false); // its validity ended
    expect(reader.holds(0, 6, 1_000)).toBe(false); // an older term: taken again meanwhile
    expect(reader.holds(1, 7, 1_000)).toBe(false); // another exchange's record
    writer.set(0, 0, 0); // lost
    expect(reader.holds(0, 7, 1_000)).toBe(false);
  });

  it('keeps every exchange apart, however many, and counts heartbeats', () => {
    const n = 100;
    const buffer = allocateLeaseState(n);
    const writer = new LeaseState(buffer, n);
    const reader = new LeaseState(buffer, n);
    for (let i = 0; i < n; i++) writer.set(i, i + 1, 10_000 + i);
    for (let i = 0; i < n; i++) {
      expect(reader.holds(i, i + 1, 10_000 + i - 0.5)).toBe(true);
      expect(reader.holds(i, i + 1, 10_000 + i)).toBe(false);
      expect(reader.holds(i, i + 2, 0)).toBe(false);
    }
    const before = writer.heartbeat();
    reader.beat();
    reader.beat();
    expect(writer.heartbeat()).toBe(before + 2);
  });
});

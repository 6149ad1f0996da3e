/**
 * The feed's conflation windows (src/cluster/conflator.ts): per slot the
 * first update of a window at once, the newest of the rest at its end,
 * windows back to back while updates flow; `discard`, `close` and a 0 ms
 * window (no conflation). Fake timers: no real waiting.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Conflator, type ConflationSlot } from '../../src/cluster/conflator.ts';

interface Slot extends ConflationSlot<number> {
  name: string;
}

const slot = (name: string): Slot => ({ name, pending: undefined, window: 0 });

function recording(windowMs: number): { c: Conflator<number, Slot>; out: string[] } {
  const out: string[] = [];
  return { c: new Conflator<number, Slot>(windowMs, (s, v) => out.push(`${s.name}${v}`)), out };
}

describe('conflator', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('publishes each slot’s first update of a window at once and its newest at the window’s end', () => {
    const { c, out } = recording(50);
    const [a, b] = [slot('a'), slot('b')];
    for (let i = 1; i <= 5; i++) {
      c.offer(a, i);
      c.offer(b, 10 + i);
    }
    expect(out).toEqual(['a1', 'b11']);
    vi.advanceTimersByTime(49);
    expect(out).toEqual(['a1', 'b11']);
    vi.advanceTimersByTime(1);
    expect(out).toEqual(['a1', 'b11', 'a5', 'b15']);
    expect(c.conflated).toBe(6); // 2, 3, 4 of each replaced
  });

  it('keeps windows back to back while updates flow: at most one per slot per window', () => {
    const { c, out } = recording(50);
    const a = slot('a');
    c.offer(a, 1); // at once; window 1 runs to 50 ms
    vi.advanceTimersByTime(10);
    c.offer(a, 2); // waits
    vi.advanceTimersByTime(40); // window 1 ends: 2 goes out in window 2 (to 100 ms)
    c.offer(a, 3); // already published in window 2: waits
    expect(out).toEqual(['a1', 'a2']);
    vi.advanceTimersByTime(50);
    expect(out).toEqual(['a1', 'a2', 'a3']);
    vi.advanceTimersByTime(50); // window 4 ends with nothing waiting: no more timers
    expect(vi.getTimerCount()).toBe(0);
    c.offer(a, 4); // a new window: at once
    expect(out).toEqual(['a1', 'a2', 'a3', 'a4']);
  });

  it('drops a discarded update, and everything waiting on close', () => {
    const { c, out } = recording(50);
    const [a, b] = [slot('a'), slot('b')];
    c.offer(a, 1);
    c.offer(b, 1);
    c.offer(a, 2);
    c.offer(b, 2);
    c.discard(a);
    c.discard(a); // nothing waits any more: not counted again
    vi.advanceTimersByTime(50);
    expect(out).toEqual(['a1', 'b1', 'b2']);
    expect(c.conflated).toBe(1);
    c.offer(b, 3); // b published in this window (b2 at its start): waits
    c.close();
    vi.advanceTimersByTime(500);
    expect(out).toEqual(['a1', 'b1', 'b2']);
    expect(b.pending).toBeUndefined();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('publishes every update at once with a 0 ms window', () => {
    const { c, out } = recording(0);
    const a = slot('a');
    for (let i = 1; i <= 3; i++) c.offer(a, i);
    expect(out).toEqual(['a1', 'a2', 'a3']);
    expect(c.conflated).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});

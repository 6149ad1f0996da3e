/** ChannelHistory in isolation: a bounded ring by seq, per-format starts, keep flags and byte accounting. */
import { describe, expect, it } from 'vitest';
import { ChannelHistory, WireFormat } from '../../src/server/history.ts';

const bin = (n: number, len = 3): Uint8Array => new Uint8Array(len).fill(n % 256);

describe('ChannelHistory', () => {
  it('keeps the last `capacity` messages by seq, and their byte count', () => {
    const h = new ChannelHistory(4);
    h.record(WireFormat.JSON, 11);
    expect(h.oldest(WireFormat.JSON)).toBe(Infinity);
    for (let s = 11; s <= 13; s++) h.push(s, `m${s}`, undefined, false);
    expect([h.oldest(WireFormat.JSON), h.newest, h.count, h.bytes]).toEqual([11, 13, 3, 9]);
    for (let s = 14; s <= 20; s++) h.push(s, `m${s}`, undefined, s % 2 === 0);
    expect([h.oldest(WireFormat.JSON), h.newest, h.count, h.bytes]).toEqual([17, 20, 4, 12]);
    expect([17, 18, 19, 20].map((s) => h.text(s))).toEqual(['m17', 'm18', 'm19', 'm20']);
    expect([17, 18, 19, 20].map((s) => h.keep(s))).toEqual([false, true, false, true]);
  });

  it('refuses a seq that is not the next one (history is contiguous)', () => {
    const h = new ChannelHistory(8);
    h.push(5, 'a', undefined, false);
    expect(() => h.push(7, 'b', undefined, false)).toThrow(RangeError);
    expect(() => new ChannelHistory(0)).toThrow(RangeError);
  });

  it('each format is held from where it was first recorded', () => {
    const h = new ChannelHistory(100);
    h.record(WireFormat.JSON, 1);
    for (let s = 1; s <= 5; s++) h.push(s, `t${s}`, undefined, true);
    expect(h.records(WireFormat.FBS)).toBe(false);
    expect(h.oldest(WireFormat.FBS)).toBe(Infinity);
    h.record(WireFormat.FBS, 6);
    h.record(WireFormat.FBS, 9); // already recording: no change
    for (let s = 6; s <= 8; s++) h.push(s, `t${s}`, bin(s), true);
    expect(h.oldest(WireFormat.JSON)).toBe(1);
    expect(h.oldest(WireFormat.FBS)).toBe(6);
    expect(h.bin(7)).toEqual(bin(7));
    expect(h.bytes).toBe(8 * 2 + 3 * 3);
    // Once the ring wrapped past the format's start, the ring's start is the limit.
    const small = new ChannelHistory(2);
    small.record(WireFormat.FBS, 1);
    for (let s = 1; s <= 5; s++) small.push(s, undefined, bin(s, 10), false);
    expect(small.oldest(WireFormat.FBS)).toBe(4);
    expect(small.oldest(WireFormat.JSON)).toBe(Infinity);
    expect(small.bytes).toBe(20);
  });
});

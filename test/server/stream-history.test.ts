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

  it('writes a deferred message when it is first read, with its own seq, once; bytes count it from then on', () => {
    const h = new ChannelHistory(3);
    h.record(WireFormat.JSON, 1);
    const written: number[] = [];
    const deferred = (s: number): string => {
      written.push(s);
      return `d${s}!`;
    };
    h.push(1, 'm1', undefined, true);
    h.push(2, deferred, undefined, true);
    h.push(3, deferred, undefined, true);
    expect(written).toEqual([]);
    expect(h.bytes).toBe(2);
    expect(h.text(3)).toBe('d3!');
    expect(h.text(3)).toBe('d3!');
    expect(written).toEqual([3]);
    expect(h.bytes).toBe(2 + 3);
    // Pushed out unread: never written, and its (uncounted) bytes are not taken off; a written one's are.
    h.push(4, 'm4', undefined, true);
    h.push(5, 'm5', undefined, true);
    expect(written).toEqual([3]);
    expect(h.bytes).toBe(3 + 2 + 2);
    h.push(6, 'm6', undefined, true);
    expect([h.text(4), h.text(5), h.text(6), h.bytes]).toEqual(['m4', 'm5', 'm6', 6]);
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

/**
 * Scale-out, item 5: a feed's leadership announcement as an edge reads it
 * before relaying it to the `system` room — checked field by field, texts
 * bounded, anything else refused. Pure.
 */
import { describe, expect, it } from 'vitest';
import { MAX_NODE, MAX_REASON, readLeadership } from '../../src/cluster/leadership.ts';

const exchanges = new Set(['simulated', 'binance']);
const good = { exchange: 'simulated', state: 'leader', node: 'feed@host-a:4242:0a1b2c', term: 7, reason: 'term 7', ts: 1_765_000_000_000 };
const bytes = (v: unknown): Uint8Array => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

describe('cluster leadership announcements', () => {
  it('reads a well-formed announcement as sent', () => {
    expect(readLeadership(bytes(good), exchanges)).toEqual(good);
    expect(readLeadership(bytes({ ...good, state: 'standby', reason: 'lease taken over or expired' }), exchanges)?.state).toBe('standby');
  });

  it('reads it from a view into a larger buffer (as NATS hands payloads over)', () => {
    const inner = bytes(good);
    const outer = new Uint8Array(inner.length + 20);
    outer.set(inner, 10);
    expect(readLeadership(outer.subarray(10, 10 + inner.length), exchanges)).toEqual(good);
  });

  it.each([
    ['not JSON', '{"exchange":'],
    ['not an object', '"leader"'],
    ['null', 'null'],
    ['an exchange this edge does not serve', { ...good, exchange: 'kraken' }],
    ['an unknown state', { ...good, state: 'leading' }],
    ['a node that is not text', { ...good, node: 42 }],
    ['a reason that is not text', { ...good, reason: null }],
    ['a fractional term', { ...good, term: 1.5 }],
    ['a negative term', { ...good, term: -1 }],
    ['a term as text', { ...good, term: '7' }],
    ['a time that is not a number', { ...good, ts: 'now' }],
  ])('refuses %s', (_what, v) => {
    expect(readLeadership(bytes(v), exchanges)).toBeUndefined();
  });

  it('cuts long texts to their bounds', () => {
    const e = readLeadership(bytes({ ...good, node: 'n'.repeat(10_000), reason: 'r'.repeat(10_000) }), exchanges)!;
    expect(e.node).toHaveLength(MAX_NODE);
    expect(e.reason).toHaveLength(MAX_REASON);
    expect(e.reason.endsWith('…')).toBe(true);
  });

  it('keeps only the known fields', () => {
    expect(Object.keys(readLeadership(bytes({ ...good, extra: 'x'.repeat(100) }), exchanges)!).sort()).toEqual(['exchange', 'node', 'reason', 'state', 'term', 'ts']);
  });
});

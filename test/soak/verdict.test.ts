/** The soak's verdict: passes a clean flat run; fails on growth, on every kind of loss, on breakage and on no traffic. */
import { describe, expect, it } from 'vitest';
import { judgeSoak, type MemoryPoint, type SoakTotals } from '../../scripts/soak/verdict.ts';

const MiB = 1024 * 1024;

function clean(): SoakTotals {
  return {
    tradesSent: 120_000,
    tradesExpected: 600_000,
    tradesDelivered: 600_000,
    barsDelivered: 30_000,
    messages: 630_020,
    missed: 0,
    duplicates: 0,
    gapNotices: 0,
    errors: 0,
    disconnects: 0,
    unmatched: 0,
    unsent: 0,
    ringOverflow: 0,
    workerRestarts: 0,
    reconnects: 0,
    httpErrors: 0,
  };
}

/** 60 s sampled every 5 s: heap, RSS and external as functions of seconds. */
function points(heap: (t: number) => number, rss: (t: number) => number, external: (t: number) => number = () => 19 * MiB): MemoryPoint[] {
  const out: MemoryPoint[] = [];
  for (let t = 5; t <= 60; t += 5) out.push({ tMs: t * 1000, heapUsedBytes: heap(t), externalBytes: external(t), rssBytes: rss(t) });
  return out;
}

const flat = points(() => 20 * MiB, () => 150 * MiB);

describe('judgeSoak', () => {
  it('passes a flat run with nothing lost', () => {
    const v = judgeSoak(flat, 15_000, clean());
    expect(v.reasons).toEqual([]);
    expect(v.pass).toBe(true);
    expect(v.heap.samples).toBe(10); // 15..60 s: warm-up samples are not judged
  });

  it('ignores growth during warm-up', () => {
    const v = judgeSoak(points((t) => (t < 15 ? 5 * MiB * t : 20 * MiB), () => 150 * MiB), 15_000, clean());
    expect(v.pass).toBe(true);
  });

  it('fails a heap that keeps growing, and says so', () => {
    const v = judgeSoak(points((t) => 20 * MiB + (10 * MiB * t) / 60, () => 150 * MiB), 15_000, clean());
    expect(v.pass).toBe(false);
    expect(v.heap.growing).toBe(true);
    expect(v.reasons.join('\n')).toMatch(/memory keeps growing: heap: slope/);
  });

  it('fails RSS that keeps growing', () => {
    const v = judgeSoak(points(() => 20 * MiB, (t) => 150 * MiB + (40 * MiB * t) / 60), 15_000, clean());
    expect(v.pass).toBe(false);
    expect(v.rss.growing).toBe(true);
    expect(v.heap.growing).toBe(false);
  });

  it('fails external memory (Buffers) that keeps growing while the heap is flat', () => {
    const v = judgeSoak(points(() => 20 * MiB, () => 150 * MiB, (t) => 19 * MiB + (8 * MiB * t) / 60), 15_000, clean());
    expect(v.pass).toBe(false);
    expect(v.external.growing).toBe(true);
    expect(v.reasons).toHaveLength(1);
    expect(v.reasons[0]).toMatch(/^memory keeps growing: external: slope/);
  });

  it('fails when too few samples could be judged', () => {
    const v = judgeSoak(flat, 50_000, clean());
    expect(v.pass).toBe(false);
    expect(v.reasons.filter((r) => r.includes('at least 6 are needed'))).toHaveLength(3);
  });

  const losses: [keyof SoakTotals, RegExp][] = [
    ['missed', /missing by seq/],
    ['duplicates', /repeated or out of order/],
    ['gapNotices', /gap notices/],
    ['ringOverflow', /ring overflow/],
    ['unsent', /not subscribed to the exchange/],
    ['disconnects', /subscriber disconnects/],
    ['errors', /error messages/],
    ['unmatched', /never sent/],
    ['workerRestarts', /worker restarts/],
    ['reconnects', /reconnects/],
    ['httpErrors', /HTTP checks/],
  ];
  for (const [field, reason] of losses) {
    it(`fails on ${field}`, () => {
      const v = judgeSoak(flat, 15_000, { ...clean(), [field]: 3 });
      expect(v.pass).toBe(false);
      expect(v.reasons).toHaveLength(1);
      expect(v.reasons[0]).toMatch(/^3 /);
      expect(v.reasons[0]).toMatch(reason);
    });
  }

  it('fails when deliveries fall short of what was sent', () => {
    const v = judgeSoak(flat, 15_000, { ...clean(), tradesDelivered: 599_990 });
    expect(v.pass).toBe(false);
    expect(v.reasons).toEqual(['10 of 600000 trade deliveries never arrived']);
  });

  it('fails when no trade was delivered at all', () => {
    const v = judgeSoak(flat, 15_000, { ...clean(), tradesSent: 0, tradesExpected: 0, tradesDelivered: 0 });
    expect(v.pass).toBe(false);
    expect(v.reasons).toEqual(['no trade was delivered to any subscriber']);
  });

  it('carries process failures through', () => {
    const v = judgeSoak(flat, 15_000, clean(), ['gateway exited unexpectedly (1)']);
    expect(v.pass).toBe(false);
    expect(v.reasons).toEqual(['gateway exited unexpectedly (1)']);
  });
});

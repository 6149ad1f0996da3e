/**
 * OutageRecovery's bounds for a venue without trade history: the bars marked
 * gapped span the connection's last sign of life to the reconnect, in
 * exchange time, never starting before the newest trade the connection
 * delivered and never ending before they start.
 */
import { describe, expect, it } from 'vitest';
import type { BarAggregator } from '../../src/bars/aggregator.ts';
import type { AdapterEntry } from '../../src/exchanges/registry.ts';
import { ClockOffset } from '../../src/feed/clock-offset.ts';
import type { ConnectionGroups } from '../../src/feed/connection-groups.ts';
import { OutageRecovery } from '../../src/feed/outage.ts';
import type { FeedWorkerData } from '../../src/feed/protocol.ts';
import type { TickHandler } from '../../src/feed/tick-handler.ts';
import { nowMs } from '../../src/model/clock.ts';

/** An aggregator that only knows its newest trade and records the gaps it is told of. */
function aggregator(newestTradeTs: number) {
  const gaps: [number, number][] = [];
  return { newestTradeTs, gaps, markGap: (from: number, to: number) => void gaps.push([from, to]) };
}

function setup(offsetMs: number, newest: number[]) {
  const aggs = newest.map(aggregator);
  const clock = new ClockOffset();
  clock.offsetMs = offsetMs;
  const logged: { event: string; fields?: Record<string, unknown> }[] = [];
  const data = { exchange: 'toy', settings: { symbols: newest.map((_, i) => `S${i}`), url: 'ws://127.0.0.1:1' } } as unknown as FeedWorkerData;
  const groups = { adapters: [{}] } as unknown as ConnectionGroups; // no tradesFrom: no REST recovery
  const handler = { flush() {} } as unknown as TickHandler;
  const outage = new OutageRecovery(data, {} as AdapterEntry, groups, handler, aggs as unknown as BarAggregator[], clock, {
    error() {},
    report() {},
    log: (r) => void logged.push(r),
  });
  return { outage, aggs, logged };
}

describe('OutageRecovery without trade history', () => {
  it('marks from the last sign of life (plus the clock offset) to the reconnect, and logs the local duration', () => {
    const { outage, aggs, logged } = setup(-5_000, [0, 0]);
    const lastAlive = nowMs() - 3_000; // found dead 3 s after it last showed life
    outage.disconnected(0, [0, 1], lastAlive);
    const before = nowMs();
    outage.reconnected(0, [0, 1]);
    const after = nowMs();
    for (const a of aggs) {
      expect(a.gaps).toHaveLength(1);
      expect(a.gaps[0]![0]).toBe(lastAlive - 5_000);
      expect(a.gaps[0]![1]).toBeGreaterThanOrEqual(before - 5_000);
      expect(a.gaps[0]![1]).toBeLessThanOrEqual(after - 5_000);
    }
    const outageMs = logged.find((r) => r.event === 'gap.marked')!.fields!['outageMs'] as number;
    expect(outageMs).toBeGreaterThanOrEqual(3_000);
    expect(outageMs).toBeLessThan(3_000 + (after - lastAlive));
  });

  it('never starts before the newest trade the connection delivered, nor ends before it starts', () => {
    // The data's clock runs a minute ahead of the estimate (a replay sent faster than it happened).
    const ahead = nowMs() + 60_000;
    const { outage, aggs } = setup(0, [ahead - 10, ahead]);
    outage.disconnected(0, [0, 1], nowMs());
    outage.reconnected(0, [0, 1]);
    for (const a of aggs) expect(a.gaps).toEqual([[ahead, ahead]]);
  });

  it('a last sign of life not yet known (0) or later than now counts from now', () => {
    const { outage, aggs } = setup(0, [0]);
    const before = nowMs();
    outage.disconnected(0, [0], 0);
    outage.reconnected(0, [0]);
    expect(aggs[0]!.gaps[0]![0]).toBeGreaterThanOrEqual(before);
  });
});

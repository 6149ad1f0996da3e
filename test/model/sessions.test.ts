import { describe, expect, it } from 'vitest';
import { BarAggregator, BarEvent } from '../../src/bars/aggregator.ts';
import { usEquitySession } from '../../src/model/sessions.ts';
import { CollectingSink } from '../support/collect.ts';

const MIN = 60_000;
const at = (iso: string) => Date.parse(iso);

describe('usEquitySession', () => {
  it('is the regular 09:30–16:00 New York session, daylight saving included', () => {
    expect(usEquitySession(at('2026-01-09T14:29:00Z'), MIN)).toBe(false); // 09:29 EST
    expect(usEquitySession(at('2026-01-09T14:30:00Z'), MIN)).toBe(true); // 09:30 EST
    expect(usEquitySession(at('2026-01-09T20:59:00Z'), MIN)).toBe(true); // 15:59 EST
    expect(usEquitySession(at('2026-01-09T21:00:00Z'), MIN)).toBe(false); // 16:00 EST
    expect(usEquitySession(at('2026-03-09T13:30:00Z'), MIN)).toBe(true); // 09:30 EDT, the Monday after the change
    expect(usEquitySession(at('2026-03-09T13:29:00Z'), MIN)).toBe(false);
    expect(usEquitySession(at('2026-03-09T20:00:00Z'), MIN)).toBe(false); // 16:00 EDT
  });

  it('is shut on weekends and NYSE holidays; day and week buckets overlap a session when any day trades', () => {
    expect(usEquitySession(at('2026-01-10T15:00:00Z'), MIN)).toBe(false); // Saturday
    expect(usEquitySession(at('2026-07-03T15:00:00Z'), MIN)).toBe(false); // Independence Day observed
    expect(usEquitySession(at('2026-11-26T15:00:00Z'), MIN)).toBe(false); // Thanksgiving
    expect(usEquitySession(at('2026-01-09T00:00:00Z'), 86_400_000)).toBe(true); // a Friday
    expect(usEquitySession(at('2026-01-10T00:00:00Z'), 86_400_000)).toBe(false); // a Saturday
    expect(usEquitySession(at('2026-01-05T00:00:00Z'), 7 * 86_400_000)).toBe(true); // a week
  });
});

describe('bars of a market with sessions', () => {
  it('no flat bars while the market is shut; they resume at the open, at the last close', () => {
    const sink = new CollectingSink();
    const agg = new BarAggregator(['1m'], sink, { session: usEquitySession, graceMs: 0 });
    agg.addTrade(at('2026-01-09T20:58:30Z'), 250, 10, 0, 1); // Friday 15:58:30 New York
    for (let t = at('2026-01-09T20:59:00Z'); t <= at('2026-01-12T14:33:00Z'); t += MIN) agg.advance(t); // over the weekend
    const bars = sink.closedBars(0);
    expect(bars.map((b) => new Date(b.openTime).toISOString())).toEqual([
      '2026-01-09T20:58:00.000Z', // the traded bar
      '2026-01-09T20:59:00.000Z', // a flat bar before the close
      '2026-01-12T14:30:00.000Z', // Monday 09:30: flat bars again
      '2026-01-12T14:31:00.000Z',
      '2026-01-12T14:32:00.000Z',
    ]);
    expect(bars.slice(1).every((b) => b.open === 250 && b.close === 250 && b.trades === 0)).toBe(true);
    expect(sink.formingBars[0]).toMatchObject({ openTime: at('2026-01-12T14:33:00Z'), close: 250 });
  });

  it('a trade outside the session still makes its bar (after-hours)', () => {
    const sink = new CollectingSink();
    const agg = new BarAggregator(['1m'], sink, { session: usEquitySession });
    agg.addTrade(at('2026-01-09T20:58:30Z'), 250, 10, 0, 1);
    agg.addTrade(at('2026-01-09T22:10:05Z'), 251, 1, 0, 2); // 17:10 New York
    expect(sink.closedBars(0).map((b) => new Date(b.openTime).toISOString())).toEqual(['2026-01-09T20:58:00.000Z', '2026-01-09T20:59:00.000Z']);
    expect(sink.formingBars[0]).toMatchObject({ openTime: at('2026-01-09T22:10:00Z'), open: 251, trades: 1 });
    expect(sink.eventsOf(BarEvent.CLOSED)).toHaveLength(2);
  });
});

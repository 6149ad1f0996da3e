import { describe, expect, it } from 'vitest';
import type { RecoveredTrade } from '../../src/exchanges/adapter.ts';
import { GapRecovery } from '../../src/feed/gap-recovery.ts';
import { until } from '../support/until.ts';

const trade = (id: number): RecoveredTrade => ({ ts: id * 10, price: 100, size: 1, side: 1, id });

function setup(venue: RecoveredTrade[], pageSize = 3) {
  const delivered: number[] = [];
  const done: (string | undefined)[] = [];
  const pages: number[] = [];
  const r = new GapRecovery(
    2,
    {
      fetchPage: async (_s, fromId) => {
        pages.push(fromId);
        return venue.filter((t) => t.id >= fromId).slice(0, pageSize);
      },
      deliver: (_s, t) => delivered.push(t.id),
      done: (_s, _n, error) => done.push(error),
    },
    { pageSize, waitForLiveMs: 30 },
  );
  return { r, delivered, done, pages };
}

describe('GapRecovery', () => {
  it('pauses a disconnected symbol, then fetches from the last id up to the first held live trade and delivers in order', async () => {
    const venue = Array.from({ length: 20 }, (_, i) => trade(i + 1));
    const { r, delivered, done, pages } = setup(venue);
    r.lastId[0] = 4;
    r.disconnected([0, 1]);
    expect([r.paused[0], r.paused[1]]).toEqual([1, 0]); // symbol 1 never traded: nothing to recover
    r.reconnected([0, 1]);
    expect(r.holding[0]).toBe(1);
    r.hold(0, 120, 100, 1, 1, 12); // the first live trade: ids 5–11 are the gap
    r.hold(0, 130, 100, 1, 1, 13);
    await until(() => done.length === 1, 2_000, 'recovery');
    expect(pages).toEqual([5, 8, 11]);
    expect(delivered).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 12, 13]); // the overlap is the aggregator's to drop
    expect(done).toEqual([undefined]);
    expect([r.paused[0], r.holding[0], r.recovered]).toEqual([0, 0, 9]);
  });

  it('a quiet symbol is recovered after waitForLiveMs without a live trade', async () => {
    const { r, delivered, done } = setup([trade(5), trade(6)]);
    r.lastId[0] = 4;
    r.disconnected([0]);
    r.reconnected([0]);
    await until(() => done.length === 1, 2_000, 'the timed recovery');
    expect(delivered).toEqual([5, 6]);
    expect(r.paused[0]).toBe(0);
  });

  it('a failing fetch is counted and the held trades still flow', async () => {
    const delivered: number[] = [];
    const errors: (string | undefined)[] = [];
    const r = new GapRecovery(
      1,
      { fetchPage: async () => Promise.reject(new Error('HTTP 500')), deliver: (_s, t) => delivered.push(t.id), done: (_s, _n, e) => errors.push(e) },
      { pageSize: 100 },
    );
    r.lastId[0] = 1;
    r.disconnected([0]);
    r.reconnected([0]);
    r.hold(0, 1, 1, 1, 1, 9);
    await until(() => errors.length === 1, 2_000, 'the failure');
    expect(errors[0]).toMatch(/gap recovery failed: HTTP 500/);
    expect(delivered).toEqual([9]);
    expect(r.failures).toBe(1);
    r.stop();
  });
});

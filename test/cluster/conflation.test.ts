/**
 * Scale-out, feed conflation (docs/scale-out.md, "Conflation"): per channel
 * the feed publishes at most one quote or forming-bar update per
 * `cluster.conflate` window — the first at once, the newest of the rest at
 * the window's end; closed bars and amendments are never conflated and come
 * before any later forming update of their channel; seqs stay contiguous
 * (a conflated-away update takes none). Real nats-server, a feed driven by
 * hand (every update of a test case is emitted in one turn, so no window
 * can end in between), an edge and a subscriber.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeedPublisher } from '../../src/cluster/feed-publisher.ts';
import type { ClusterConnection } from '../../src/cluster/nats.ts';
import type { TickwireConfig } from '../../src/config/types.ts';
import type { BarUpdate, QuoteEvent } from '../../src/model/events.ts';
import { startNats, stopAll } from '../support/nats.ts';
import { until } from '../support/until.ts';
import { clusterConfig, ManualSource, RawSubscriber, startEdge, startLeadingFeed, trade, type Edge } from './support.ts';

const MINUTE = 60_000;
const T0 = 1_765_000_020_000 - (1_765_000_020_000 % MINUTE);
const BARS = 'bars:simulated:SIM-BTC:1m';
const QUOTES = 'quotes:simulated:SIM-BTC';
const TRADES = 'trades:simulated:SIM-BTC';

/** SIM-BTC's 1m bar opening at `openTime` after `trades` trades; closed or forming, at `revision`. */
function bar(openTime: number, trades: number, closed = false, revision = 0): BarUpdate {
  const price = 60_000 + trades;
  return {
    exchange: 'simulated',
    symbol: 'SIM-BTC',
    timeframe: '1m',
    bar: {
      openTime, closeTime: openTime + MINUTE - 1, open: 60_000, high: price, low: 60_000, close: price,
      volume: trades, quoteVolume: trades * price, buyVolume: trades, sellVolume: 0, trades,
      firstTradeId: 1, lastTradeId: trades, vwap: price, spread: null, closed, revision,
    },
  };
}

function quote(i: number): QuoteEvent {
  return { exchange: 'simulated', symbol: 'SIM-BTC', bidPrice: 60_000 + i, bidSize: 1, askPrice: 60_001 + i, askSize: 1, ts: T0 + i, recvTs: T0 + i };
}

type Msg = { type: string; channel: string; seq: number; openTime: number; trades: number; closed: boolean; revision: number; bidPrice: number; tradeId: number };

describe('cluster: the feed conflates quotes and forming bars', () => {
  let config: TickwireConfig;
  let feed: ClusterConnection;
  let source: ManualSource;
  let publisher: FeedPublisher;
  let edge: Edge;
  let sub: RawSubscriber;

  beforeAll(async () => {
    const nats = await startNats();
    config = clusterConfig([nats.url], 'conflate', { conflate: '200ms' });
    ({ feed, source, publisher } = await startLeadingFeed(config));
    edge = await startEdge(config);
    sub = await RawSubscriber.open(edge.port);
    await sub.subscribe([BARS, QUOTES, TRADES]);
  }, 60_000);

  afterAll(async () => {
    sub?.close();
    await edge?.stop().catch(() => undefined);
    publisher?.close();
    await feed?.close();
    await stopAll();
  });

  /** Everything the subscriber got on `channel`, parsed, in arrival order. */
  const got = (channel: string): Msg[] => sub.frames.map((f) => JSON.parse(f) as Msg).filter((m) => m.channel === channel);

  it('publishes one forming update and one quote per window, the first at once and the newest at its end, with contiguous seqs', async () => {
    const before = publisher.counters.published;
    const conflatedBefore = publisher.conflated;
    // One turn: 100 forming updates of one bar and 100 quotes.
    for (let i = 1; i <= 100; i++) {
      source.emit('bar', bar(T0, i));
      source.emit('quote', quote(i));
    }
    expect(publisher.counters.published - before).toBe(2); // the window's first of each, at once
    await until(() => got(BARS).length >= 2 && got(QUOTES).length >= 2, 30_000, 'the window-end updates');
    expect(got(BARS).map((m) => [m.seq, m.trades])).toEqual([[1, 1], [2, 100]]);
    expect(got(QUOTES).map((m) => [m.seq, m.bidPrice])).toEqual([[1, 60_001], [2, 60_100]]);
    expect(publisher.conflated - conflatedBefore).toBe(2 * 98);
    expect(publisher.counters.published - before).toBe(4);
  });

  it('never conflates trades or closed bars: every one, in order, before any later forming update of their channel', async () => {
    const bars0 = got(BARS).length;
    const seq0 = got(BARS).at(-1)!.seq;
    // One turn: forming updates of bar T0, its close, forming updates of the next bar, an amendment of T0, more forming updates, trades throughout.
    const published = publisher.counters.published;
    source.emit('bar', bar(T0, 101)); // at once if the last window ended with nothing to publish (a loaded machine), else it waits
    const first = publisher.counters.published - published === 1 ? [[0, 101, false, 0]] : [];
    for (let i = 102; i <= 150; i++) source.emit('bar', bar(T0, i));
    source.emit('bar', bar(T0, 150, true));
    for (let i = 1; i <= 30; i++) {
      source.emit('bar', bar(T0 + MINUTE, i));
      source.emit('trade', trade(i));
    }
    source.emit('bar', bar(T0, 151, true, 1)); // a late trade amended the closed bar
    for (let i = 31; i <= 60; i++) {
      source.emit('bar', bar(T0 + MINUTE, i));
      source.emit('trade', trade(i));
    }
    await until(() => got(TRADES).length >= 60 && got(BARS).length >= bars0 + first.length + 3, 30_000, 'trades, the close, the amendment and the newest forming bar');
    await feed.nc.flush();
    const bars = got(BARS).slice(bars0);
    // The waiting forming update of T0 (trades 150) was superseded by T0's close: it takes no seq.
    expect(bars.map((m) => [m.openTime - T0, m.trades, m.closed, m.revision])).toEqual([
      ...first,
      [0, 150, true, 0],
      [0, 151, true, 1],
      [MINUTE, 60, false, 0],
    ]);
    expect(bars.map((m) => m.seq)).toEqual(bars.map((_, i) => seq0 + 1 + i));
    const trades = got(TRADES);
    expect(trades.map((m) => m.tradeId)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(trades.map((m) => m.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  });

  it('publishes a quiet channel’s update at once once a window passed with nothing to publish', async () => {
    const quotes0 = got(QUOTES);
    await new Promise((r) => setTimeout(r, 500)); // the last window ends (two windows of 200 ms: one published, one empty)
    const before = publisher.counters.published;
    source.emit('quote', quote(500));
    expect(publisher.counters.published - before).toBe(1);
    await until(() => got(QUOTES).length > quotes0.length, 30_000, 'the quote');
    expect(got(QUOTES).at(-1)).toMatchObject({ seq: quotes0.at(-1)!.seq + 1, bidPrice: 60_500 });
  });
});

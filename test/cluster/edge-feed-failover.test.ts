/**
 * Scale-out: a price feed fails over on an edge when the leading feed loses
 * its primary venue, through the whole path: fake Binance (primary) and fake
 * Coinbase on loopback → a feed process's runtime and workers → FeedNode
 * (lease, publisher, status relay) → real nats-server → an edge. Killing
 * the fake Binance makes the feed's worker report `reconnecting`; the edge
 * takes that state from the relayed status and switches the feed to
 * Coinbase with reason `disconnected` (staleMs is far longer than the test,
 * so staleness cannot be what moved it), and never prices from Binance
 * after the switch. The second venue starts trading once the primary serves
 * the feed, so which venue starts the feed is not a race.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TickwireRuntime } from '../../src/api/tickwire.ts';
import { FeedNode, feedRuntimeConfig } from '../../src/cluster/feed-node.ts';
import { openCluster } from '../../src/cluster/nats.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { TickwireConfig } from '../../src/config/types.ts';
import type { PriceEvent, SourceEvent } from '../../src/model/events.ts';
import { BinanceProtocolServer } from '../../src/sim/binance-protocol-server.ts';
import { FakeCoinbase } from '../support/fake-coinbase.ts';
import { startNats, stopAll } from '../support/nats.ts';
import { tradeBtcOnBoth } from '../support/btc-trades.ts';
import { until } from '../support/until.ts';
import { startEdge, type Edge } from './support.ts';

describe('cluster: price feed failover on an edge when the leading feed loses a venue', () => {
  let binance: BinanceProtocolServer;
  let coinbase: FakeCoinbase;
  let feed: FeedNode | undefined;
  let edge: Edge | undefined;
  let config: TickwireConfig;
  let pump: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    binance = new BinanceProtocolServer({ pingIntervalMs: 1_000 });
    await binance.start();
    coinbase = await new FakeCoinbase().start();
    const nats = await startNats();
    config = parseConfig({
      server: { host: '127.0.0.1', port: 0 },
      timeframes: ['1m'],
      history: 10,
      storage: false,
      exchanges: { binance: { url: binance.url, symbols: ['BTCUSDT'] }, coinbase: { url: coinbase.url, symbols: ['BTC-USD'] } },
      feeds: { 'BTC-USD': { sources: ['binance:BTCUSDT', 'coinbase:BTC-USD'], staleMs: 600_000, switchBackMs: 86_400_000 } },
      cluster: { servers: [nats.url], name: 'edgefailover', leaseTtl: '2s' },
    });
    const runtime = new TickwireRuntime(feedRuntimeConfig(config), { statusMs: 200, tickMs: 50, connection: { backoffBaseMs: 100, backoffMaxMs: 300 } });
    feed = new FeedNode(runtime, await openCluster(config.cluster!, 'test-feed'));
    await feed.start();
    edge = await startEdge(config);
  }, 60_000);

  afterAll(async () => {
    clearInterval(pump);
    await edge?.stop().catch(() => undefined);
    await feed?.stop().catch(() => undefined);
    await binance?.stop();
    await coinbase?.close();
    await stopAll();
  });

  it('switches to the next venue with reason disconnected, as one process does', async () => {
    const e = edge!;
    const prices: PriceEvent[] = [];
    const switches: SourceEvent[] = [];
    e.runtime.on('price', (p) => void prices.push(p));
    e.runtime.on('source', (s) => void switches.push(s));
    await until(() => binance.hasSubscribers('btcusdt@trade') && coinbase.subscribers('matches', 'BTC-USD') === 1, 30_000, 'both venues subscribed');
    // The primary trades alone until it serves the feed: with no active source the first venue whose trade
    // reaches the router takes the feed (feed-router.ts, `started`), and with switchBackMs of a day a second
    // venue that won that race would keep it (under load its trade reached the edge first about 1 run in 5).
    let secondVenueTrades = false;
    pump = tradeBtcOnBoth(binance, coinbase, 50, () => secondVenueTrades);
    const active = () => e.runtime.feed('BTC-USD').active;
    await until(() => active() === 'binance:BTCUSDT' && e.runtime.status().exchanges['binance']?.state === 'connected', 30_000, 'the primary serving the feed on the edge');
    expect(switches.map((s) => [s.from, s.to, s.reason])).toEqual([[null, 'binance:BTCUSDT', 'started']]);
    secondVenueTrades = true;
    // A failover goes to a healthy source only: the second venue's trades must have reached the edge first.
    await until(() => e.runtime.feed('BTC-USD').sources[1]!.healthy, 20_000, 'the second venue healthy on the edge');

    await binance.stop();
    await until(() => active() === 'coinbase:BTC-USD', 30_000, 'the edge failed over to the second venue');
    const failover = switches.find((s) => s.from === 'binance:BTCUSDT' && s.to === 'coinbase:BTC-USD')!;
    expect(failover.reason).toBe('disconnected');
    expect(e.runtime.status().exchanges['binance']!.state).not.toBe('connected');
    await until(() => prices.some((p) => p.source === 'coinbase:BTC-USD' && p.ts > failover.ts), 20_000, 'prices from the second venue on the edge');
    expect(prices.filter((p) => p.ts > failover.ts && p.source === 'binance:BTCUSDT')).toEqual([]);
  });
});

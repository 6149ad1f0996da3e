/**
 * Scale-out: an edge started after the venues stopped trading replays each
 * venue's last trade from the live stream (edge-runtime.ts, start-up step 2)
 * into its price feeds; trades older than `staleMs` must show as the
 * sources' last prices but must not start the feed or publish a price
 * (feed-router.ts, docs/feeds-portfolios-alerts.md). Real nats-server; a
 * feed publishing by hand for two venues whose last trades were received two
 * minutes ago (staleMs is one minute, so neither the hop nor a loaded
 * machine can make them fresh). An edge already running when they arrive
 * takes them the same way. The first fresh trade, of the second venue,
 * starts the feed on both edges, and is the only price published.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterConnection } from '../../src/cluster/nats.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { TickwireConfig } from '../../src/config/types.ts';
import type { PriceEvent, SourceEvent, TradeEvent } from '../../src/model/events.ts';
import { startNats, stopAll } from '../support/nats.ts';
import { until } from '../support/until.ts';
import { ManualSource, startEdge, startLeadingFeed, StatusRelay, type Edge } from './support.ts';

const STALE_MS = 60_000;

let tradeId = 0;
/** A trade of `exchange`'s `symbol` received by its feed `ageMs` ago. */
function tradeAged(exchange: string, symbol: string, price: number, ageMs: number): TradeEvent {
  const at = Date.now() - ageMs;
  return { exchange, symbol, tradeId: ++tradeId, price, size: 0.01, side: 'buy', ts: at, recvTs: at + 0.25 };
}

describe('cluster: an edge started after trades stopped publishes no price until a fresh trade', () => {
  let config: TickwireConfig;
  let feed: ClusterConnection;
  let source: ManualSource;
  let relay: StatusRelay | undefined;
  const edges: Edge[] = [];

  beforeAll(async () => {
    const nats = await startNats();
    config = parseConfig({
      server: { host: '127.0.0.1', port: 0 },
      timeframes: ['1m'],
      history: 100,
      exchanges: { simulated: { symbols: ['SIM-BTC'] }, binance: { symbols: ['BTCUSDT'] } },
      feeds: { 'BTC-USD': { sources: ['simulated:SIM-BTC', 'binance:BTCUSDT'], staleMs: STALE_MS, switchBackMs: 86_400_000 } },
      cluster: { servers: [nats.url], name: 'edgestalereplay', leaseTtl: '2s', conflate: '0ms' },
    });
    let publisher;
    ({ feed, source, publisher } = await startLeadingFeed(config));
    if (!(await publisher.lead('binance', 1, () => true))) throw new Error('the test feed did not get the binance lease');
    relay = new StatusRelay(feed, config);
    relay.set('simulated', 'connected');
    relay.set('binance', 'connected');
  }, 60_000);

  afterAll(async () => {
    relay?.close();
    for (const e of edges) await e.stop().catch(() => undefined);
    await feed?.close();
    await stopAll();
  });

  it('shows the replayed last prices, starts on the first fresh trade and publishes only its price', async () => {
    const running = await startEdge(config);
    edges.push(running);
    const runningPrices: PriceEvent[] = [];
    running.runtime.on('price', (p) => void runningPrices.push(p));

    // The venues' last trades, two minutes old: the quieter primary's first, as stream order replays them.
    source.emit('trade', tradeAged('simulated', 'SIM-BTC', 58_000, 2 * STALE_MS + 1_000));
    source.emit('trade', tradeAged('binance', 'BTCUSDT', 58_500, 2 * STALE_MS));
    const shown = (e: Edge) => e.runtime.feed('BTC-USD').sources.map((s) => s.price);
    await until(() => shown(running).join() === '58000,58500', 20_000, 'the running edge took the old trades');

    // An edge started now reads them back as the last message of each subject (start waits until it caught up).
    const started = await startEdge(config);
    edges.push(started);
    const prices: PriceEvent[] = [];
    const switches: SourceEvent[] = [];
    started.runtime.on('price', (p) => void prices.push(p));
    started.runtime.on('source', (s) => void switches.push(s));
    for (const e of [running, started]) {
      const report = e.runtime.feed('BTC-USD');
      expect(report).toMatchObject({ active: null, price: null, ts: null, prices: 0, switches: 0 });
      expect(report.sources.map((s) => [s.source, s.price, s.healthy])).toEqual([
        ['simulated:SIM-BTC', 58_000, false],
        ['binance:BTCUSDT', 58_500, false],
      ]);
      expect(report.sources[0]!.ageMs).toBeGreaterThan(STALE_MS);
    }
    expect(runningPrices).toEqual([]);

    // The second venue's fresh trade starts the feed on both edges, and its price is the first one published.
    source.emit('trade', tradeAged('binance', 'BTCUSDT', 60_000, 0));
    for (const e of [running, started]) await until(() => e.runtime.feed('BTC-USD').active === 'binance:BTCUSDT', 20_000, 'the fresh trade started the feed');
    await until(() => prices.length === 1 && switches.length === 1, 20_000, 'the started edge published the fresh price');
    expect(prices.map((p) => [p.source, p.price])).toEqual([['binance:BTCUSDT', 60_000]]);
    expect(switches.map((s) => [s.from, s.to, s.reason])).toEqual([[null, 'binance:BTCUSDT', 'started']]);
    expect(runningPrices.map((p) => p.price)).toEqual([60_000]);
    expect(started.runtime.feed('BTC-USD')).toMatchObject({ price: 60_000, prices: 1, switches: 1 });
  });
});

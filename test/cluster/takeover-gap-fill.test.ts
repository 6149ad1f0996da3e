/**
 * Scale-out, item 4: a standby whose own connection missed trades the old
 * leader never published fills them over the venue's REST API at takeover
 * (the gap recovery's `tradesFrom`, here Binance's historicalTrades from a
 * local fake) before it publishes what it kept, so an edge's subscriber sees
 * every trade once, in order, with contiguous seqs. A fetch that fails is
 * counted and named, and the kept trades still go out. Real nats-server;
 * the feeds are FeedPublishers driven by hand (the old leader stops
 * publishing at once, as a killed one does).
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeedPublisher } from '../../src/cluster/feed-publisher.ts';
import { openCluster, type ClusterConnection } from '../../src/cluster/nats.ts';
import { restTradeFetcher } from '../../src/cluster/trade-fetcher.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { TickwireConfig } from '../../src/config/types.ts';
import type { TradeEvent } from '../../src/model/events.ts';
import { startNats, stopAll } from '../support/nats.ts';
import { until } from '../support/until.ts';
import { ManualSource, RawSubscriber, startEdge, trade, type Edge } from './support.ts';

const BTC = 'trades:binance:BTCUSDT';
const ETH = 'trades:binance:ETHUSDT';
/** The venue's page size here: small, so a fill takes several pages. */
const PAGE = 4;

/** The i-th trade on Binance's `symbol`, received now (a standby keeps only recently received trades). */
function binanceTrade(i: number, symbol: string): TradeEvent {
  return { ...trade(i), exchange: 'binance', symbol, recvTs: Date.now() };
}

describe('cluster: a standby fills the trades it missed over REST at takeover', () => {
  let rest: Server;
  let restUrl: string;
  const requests: string[] = [];
  let failing = false;
  let config: TickwireConfig;
  const conns: ClusterConnection[] = [];
  let edge: Edge | undefined;

  beforeAll(async () => {
    // GET /api/v3/historicalTrades?symbol=&fromId=&limit=: trade(i) for every id, PAGE at a time.
    rest = createServer((req, res) => {
      requests.push(req.url ?? '');
      const u = new URL(req.url ?? '/', 'http://x');
      if (failing || u.pathname !== '/api/v3/historicalTrades') {
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"code":-1,"msg":"unavailable"}');
        return;
      }
      const from = Number(u.searchParams.get('fromId'));
      const page = Array.from({ length: PAGE }, (_, k) => {
        const t = trade(from + k);
        return { id: t.tradeId, price: String(t.price), qty: String(t.size), quoteQty: '0', time: t.ts, isBuyerMaker: t.side === 'sell', isBestMatch: true };
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(page));
    });
    await new Promise<void>((r) => rest.listen(0, '127.0.0.1', () => r()));
    restUrl = `http://127.0.0.1:${(rest.address() as { port: number }).port}`;
    const nats = await startNats();
    config = parseConfig({
      server: { host: '127.0.0.1', port: 0 },
      timeframes: ['1m'],
      history: 100,
      exchanges: { binance: { url: 'ws://127.0.0.1:9/unused', restUrl, symbols: ['BTCUSDT', 'ETHUSDT'], channels: ['trades'] } },
      cluster: { servers: [nats.url], name: 'fill', leaseTtl: '2s' },
    });
    edge = await startEdge(config);
  }, 60_000);

  afterAll(async () => {
    await edge?.stop().catch(() => undefined);
    for (const c of conns) await c.close().catch(() => undefined);
    await new Promise<void>((r) => rest.close(() => r()));
    await stopAll();
  });

  async function feed(name: string): Promise<{ publisher: FeedPublisher; source: ManualSource }> {
    const conn = await openCluster(config.cluster!, name);
    conns.push(conn);
    const source = new ManualSource(config);
    const fetcher = restTradeFetcher('binance', config.exchanges['binance']!);
    const publisher = new FeedPublisher(conn, source, () => true, () => fetcher);
    publisher.listen();
    return { publisher, source };
  }

  it('publishes the missed trades first, then the kept ones, then live: no gap, none twice', async () => {
    const sub = await RawSubscriber.open(edge!.port);
    await sub.subscribe([BTC, ETH]);
    const leader = await feed('feed-a');
    const standby = await feed('feed-b');
    await leader.publisher.lead('binance', 1, () => true);
    // Both feeds see the venue; the standby's connection drops BTC 61–80 and ETH 41–50.
    for (let i = 1; i <= 120; i++) {
      for (const [symbol, missed] of [['BTCUSDT', i > 60 && i <= 80], ['ETHUSDT', i > 40 && i <= 50]] as const) {
        const e = binanceTrade(i, symbol);
        if (i <= 70) leader.source.emit('trade', e); // the leader dies after trade 70 (nothing more published)
        if (!missed) standby.source.emit('trade', e);
      }
    }
    await until(() => sub.messages('trade').length === 140, 30_000, "the old leader's trades at the edge");
    leader.publisher.close();

    expect(await standby.publisher.lead('binance', 2, () => true)).toBe(true);
    for (let i = 121; i <= 130; i++) for (const symbol of ['BTCUSDT', 'ETHUSDT']) standby.source.emit('trade', binanceTrade(i, symbol));
    await until(() => sub.messages('trade').length === 260, 30_000, 'every trade at the edge');

    expect(sub.messages('gap')).toEqual([]);
    for (const channel of [BTC, ETH]) {
      const trades = sub.messages('trade').filter((m) => m.channel === channel);
      expect(trades.map((m) => m.seq)).toEqual(Array.from({ length: 130 }, (_, i) => i + 1));
      expect(trades.map((m) => m.tradeId)).toEqual(Array.from({ length: 130 }, (_, i) => i + 1));
    }
    // BTC: 71–80 fetched (ETH's missed ones the old leader had published: nothing to fetch).
    const btc = sub.messages('trade').filter((m) => m.channel === BTC && m.tradeId === 75)[0]!;
    expect(btc).toMatchObject({ price: trade(75).price, size: trade(75).size, side: trade(75).side, ts: trade(75).ts });
    expect(standby.publisher.counters).toMatchObject({ filled: 10, fillFailures: 0, replayed: 40 + 50 }); // kept: BTC 81–120, ETH 71–120
    expect(requests.some((r) => r.includes('symbol=BTCUSDT') && r.includes('fromId=71'))).toBe(true);
    expect(requests.some((r) => r.includes('symbol=ETHUSDT'))).toBe(false);
    sub.close();
  }, 90_000);

  it('a fill that fails is counted and named; the kept trades still go out in seq', async () => {
    const sub = await RawSubscriber.open(edge!.port);
    await sub.subscribe([BTC]);
    const standby = await feed('feed-c');
    // The stream's last BTC trade is 130 (the previous test); this feed missed 131–135.
    for (let i = 136; i <= 140; i++) standby.source.emit('trade', binanceTrade(i, 'BTCUSDT'));
    failing = true;
    expect(await standby.publisher.lead('binance', 3, () => true)).toBe(true);
    await until(() => sub.messages('trade').length === 5, 30_000, 'the kept trades at the edge');
    expect(standby.publisher.counters).toMatchObject({ filled: 0, fillFailures: 1 });
    expect(standby.publisher.lastFillError).toMatch(/^trades:binance:BTCUSDT: .*500/);
    expect(sub.messages('trade').map((m) => [m.seq, m.tradeId])).toEqual([131, 132, 133, 134, 135].map((seq, k) => [seq, 136 + k]));
    sub.close();
  }, 60_000);
});

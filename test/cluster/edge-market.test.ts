/**
 * Scale-out: an edge serves price feeds, portfolios and alert rules from the
 * cluster's data, same contract as one process (docs/scale-out.md, "What
 * runs where"). Real nats-server; a feed publishing by hand for two venues
 * (simulated SIM-BTC, primary; binance BTCUSDT, second) and relaying their
 * exchange states as a leading feed does. Two edges must agree with each
 * other and with values computed by hand: the feed's price and active
 * source, the failover when the primary venue disconnects, the portfolio's
 * value, the alert rule that fires; and a subscriber gets them on the
 * `prices:`, `portfolio:` and `alerts` channels. Holdings set over HTTP stay
 * on the edge that took them; a venue no feed reports any more is stopped
 * on every edge and its feed fails over.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeedReport } from '../../src/api/price-feeds.ts';
import type { ClusterConnection } from '../../src/cluster/nats.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { TickwireConfig } from '../../src/config/types.ts';
import type { PortfolioEvent, TradeEvent } from '../../src/model/events.ts';
import { hashToken } from '../../src/server/auth.ts';
import { startNats, stopAll } from '../support/nats.ts';
import { until } from '../support/until.ts';
import { ManualSource, RawSubscriber, startEdge, startLeadingFeed, StatusRelay, type Edge } from './support.ts';

const TOKEN = 'edge-market-admin-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const HOLDINGS = { BTC: 2, USD: 100 };

function marketConfig(servers: string[]): TickwireConfig {
  return parseConfig({
    server: { host: '127.0.0.1', port: 0 },
    timeframes: ['1m'],
    history: 100,
    exchanges: { simulated: { symbols: ['SIM-BTC'] }, binance: { symbols: ['BTCUSDT'] } },
    // Generous staleness: the hop to the edge counts as age, and this machine may be loaded.
    feeds: { 'BTC-USD': { sources: ['simulated:SIM-BTC', 'binance:BTCUSDT'], staleMs: 600_000, switchBackMs: 86_400_000 } },
    portfolios: { main: { quote: 'USD', holdings: HOLDINGS, minChangeBps: 0 } },
    alerts: { rules: [{ id: 'btc-high', type: 'price', feed: 'BTC-USD', above: 70_000, level: 'critical' }] },
    auth: { tokens: [{ name: 'ops', sha256: hashToken(TOKEN), scopes: ['admin'] }] },
    cluster: { servers, name: 'edgemarket', leaseTtl: '2s', conflate: '0ms' },
  });
}

let tradeId = 0;
/** A trade received now (the feed's receive time is what the edge's feeds judge staleness by). */
function tradeNow(exchange: string, symbol: string, price: number): TradeEvent {
  const now = Date.now();
  return { exchange, symbol, tradeId: ++tradeId, price, size: 0.01, side: 'buy', ts: now, recvTs: now + 0.25 };
}

/** GET `path` on the edge on `port` with the test's token (every route needs one once tokens are configured). */
async function getJson<T>(port: number, path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: AUTH });
  return { status: res.status, body: (await res.json()) as T };
}

/** A feed's report without what depends on when it is read (ages, health's clock). */
function settled(r: FeedReport): unknown {
  return { active: r.active, price: r.price, prices: r.prices, switches: r.switches, sources: r.sources.map((s) => ({ source: s.source, connected: s.connected, price: s.price })) };
}

describe('cluster: price feeds, portfolios and alerts on an edge', () => {
  let config: TickwireConfig;
  let feed: ClusterConnection;
  let source: ManualSource;
  const edges: Edge[] = [];
  let sub: RawSubscriber | undefined;
  /** The venues' states the test feed reports, as a leading feed does. */
  let relay: StatusRelay | undefined;

  beforeAll(async () => {
    const nats = await startNats();
    config = marketConfig([nats.url]);
    let publisher;
    ({ feed, source, publisher } = await startLeadingFeed(config));
    if (!(await publisher.lead('binance', 1, () => true))) throw new Error('the test feed did not get the binance lease');
    edges.push(await startEdge(config), await startEdge(config));
    relay = new StatusRelay(feed, config);
  }, 60_000);

  afterAll(async () => {
    relay?.close();
    sub?.close();
    for (const e of edges) await e.stop().catch(() => undefined);
    await feed?.close();
    await stopAll();
  });

  it('computes the same feed price, failover, portfolio value and alert on every edge as by hand, and streams them', async () => {
    const [a, b] = edges as [Edge, Edge];
    sub = await RawSubscriber.open(a.port, AUTH);
    await sub.subscribe(['prices:BTC-USD', 'portfolio:main', 'alerts']);
    relay!.set('simulated', 'connected');
    relay!.set('binance', 'connected');

    // The primary venue's trades first: it takes the feed; the second venue's are healthy standby.
    for (const p of [60_000, 60_100, 60_200]) source.emit('trade', tradeNow('simulated', 'SIM-BTC', p));
    for (const p of [59_000, 59_100]) source.emit('trade', tradeNow('binance', 'BTCUSDT', p));
    for (const e of [a, b]) {
      await until(() => e.runtime.feed('BTC-USD').sources[1]!.price === 59_100 && e.runtime.portfolio('main').value === 2 * 60_200 + 100, 20_000, 'the edge valued the first trades');
      const feedNow = (await getJson<FeedReport>(e.port, '/v1/feeds/BTC-USD')).body;
      expect(feedNow).toMatchObject({ feed: 'BTC-USD', active: 'simulated:SIM-BTC', price: 60_200, base: 'BTC', quote: 'USD' });
    }
    // Portfolios are valued and published on a 100 ms tick: a value that held for less than a tick is never
    // streamed. Wait for edge A's stream to carry this one before the next price replaces it (on a quiet
    // machine the switch below can follow within a tick).
    await until(() => sub!.messages('portfolio').some((m) => m.value === 2 * 60_200 + 100), 20_000, 'the stream carried the first value');

    // The primary venue disconnects (as its leading feed reports it): the feed moves to the second venue at once.
    relay!.set('simulated', 'reconnecting');
    for (const e of [a, b]) await until(() => e.runtime.feed('BTC-USD').active === 'binance:BTCUSDT', 20_000, 'the feed switched source');
    source.emit('trade', tradeNow('simulated', 'SIM-BTC', 61_000)); // a late trade of the venue judged down: never a price
    source.emit('trade', tradeNow('binance', 'BTCUSDT', 70_500)); // above the rule's level
    for (const e of [a, b]) await until(() => e.runtime.alerts().recent.length === 1 && e.runtime.portfolio('main').value === 2 * 70_500 + 100, 20_000, 'the edge took the second venue\'s trade');

    const reports = await Promise.all([a, b].map(async (e) => (await getJson<FeedReport>(e.port, '/v1/feeds/BTC-USD')).body));
    expect(reports[0]).toMatchObject({ active: 'binance:BTCUSDT', price: 70_500, switches: 2 });
    expect(settled(reports[0]!)).toEqual(settled(reports[1]!));

    const valued = await Promise.all([a, b].map(async (e) => getJson<PortfolioEvent>(e.port, '/v1/portfolios/main')));
    for (const v of valued) {
      expect(v.status).toBe(200);
      expect(v.body).toMatchObject({ id: 'main', quote: 'USD', value: 141_100, stale: [] });
      expect(v.body.holdings.find((h) => h.asset === 'BTC')).toMatchObject({ amount: 2, price: 70_500, value: 141_000, source: 'feed:BTC-USD' });
    }

    for (const e of [a, b]) {
      const { body } = await getJson<{ rules: { id: string; fired: number; state: string }[]; recent: { source: string; level: string }[] }>(e.port, '/v1/alerts');
      expect(body.rules).toEqual([expect.objectContaining({ id: 'btc-high', fired: 1, state: 'active' })]);
      expect(body.recent).toEqual([expect.objectContaining({ source: 'btc-high', level: 'critical' })]);
    }

    // The subscriber on edge A: every price of the active source in order, the switch, the portfolio's values, the alert.
    await until(() => sub!.messages('alert').length === 1 && sub!.messages('portfolio').some((m) => m.value === 141_100), 20_000, 'the stream carried the alert and the new value');
    expect(sub.messages('price').map((m) => m.price)).toEqual([60_000, 60_100, 60_200, 70_500]);
    expect(sub.messages('source')).toEqual([
      expect.objectContaining({ channel: 'prices:BTC-USD', from: null, to: 'simulated:SIM-BTC', reason: 'started' }),
      expect.objectContaining({ channel: 'prices:BTC-USD', from: 'simulated:SIM-BTC', to: 'binance:BTCUSDT', reason: 'disconnected' }),
    ]);
    expect(sub.messages('alert')[0]).toMatchObject({ channel: 'alerts', source: 'btc-high', level: 'critical' });

    // The feeds' metrics, as one process exposes them.
    const metrics = await (await fetch(`http://127.0.0.1:${a.port}/metrics`, { headers: AUTH })).text();
    for (const line of [
      'tickwire_feed_switches_total{reason="started"} 1',
      'tickwire_feed_switches_total{reason="disconnected"} 1',
      'tickwire_feed_active_source{feed="BTC-USD",source="binance:BTCUSDT"} 1',
      'tickwire_feed_active_source{feed="BTC-USD",source="simulated:SIM-BTC"} 0',
      'tickwire_feed_prices_total{feed="BTC-USD"} 4',
    ]) expect(metrics).toContain(line);
  });

  it('keeps holdings set over HTTP on the edge that took them', async () => {
    const [a, b] = edges as [Edge, Edge];
    const put = await fetch(`http://127.0.0.1:${a.port}/v1/portfolios/main/holdings`, {
      method: 'PUT',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ BTC: 1, USD: 0 }),
    });
    expect(put.status).toBe(200);
    expect(((await put.json()) as PortfolioEvent).value).toBe(70_500);
    expect((await getJson<PortfolioEvent>(a.port, '/v1/portfolios/main')).body.value).toBe(70_500);
    expect((await getJson<PortfolioEvent>(b.port, '/v1/portfolios/main')).body.value).toBe(141_100);
  });

  it('stops an exchange no feed reports any more, and fails its price feed over on every edge', async () => {
    relay!.states.delete('binance'); // its leading feed died and no standby took over: the reports stop
    for (const e of edges) {
      await until(() => e.runtime.status().exchanges['binance']?.state === 'stopped', 30_000, 'the edge noticed the silence');
      await until(() => e.runtime.feed('BTC-USD').active === null, 10_000, 'the feed lost its last healthy source');
    }
    const { body } = await getJson<{ exchanges: Record<string, { state: string; lastError: string }> }>(edges[0]!.port, '/v1/status');
    expect(body.exchanges['binance']).toMatchObject({ state: 'stopped', lastError: expect.stringContaining('no feed has reported binance') });
    expect(body.exchanges['simulated']!.state).toBe('reconnecting'); // still reported
    await until(() => sub!.messages('source').length === 3, 20_000, 'the stream carried the switch');
    expect(sub!.messages('source')[2]).toMatchObject({ from: 'binance:BTCUSDT', to: null, reason: 'disconnected' });
  });
});

/**
 * Price feeds on the server: the `prices:<feed>` channel (prices and source
 * switches, with seq), switches on the `system` room (a `json_only` gap for
 * binary subscribers), binary subscribes refused, token patterns naming
 * feeds, and GET /v1/feeds, /v1/feeds/:feed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FeedReport } from '../../src/api/price-feeds.ts';
import { matchesChannel, parseChannelPattern, type ChannelPattern } from '../../src/wire/channels.ts';
import { fakeConfig, FakeTickwire } from '../support/fake-tickwire.ts';
import { Client, startServer, type Running } from './helpers.ts';

let r: Running;
let tw: FakeTickwire;
let clients: Client[] = [];

const FEED = {
  name: 'BTC-USD', base: 'BTC', quote: 'USD', staleMs: 3000, maxDeviationBps: 50, switchBackMs: 30_000,
  sources: [{ exchange: 'binance', symbol: 'BTCUSDT', key: 'binance:BTCUSDT' }, { exchange: 'kraken', symbol: 'XBT/USD', key: 'kraken:XBT/USD' }],
};

beforeEach(async () => {
  tw = new FakeTickwire({ ...fakeConfig(), feeds: { 'BTC-USD': FEED } });
  r = await startServer({}, tw);
});

afterEach(async () => {
  for (const c of clients) c.ws.terminate();
  clients = [];
  await r.server.close();
});

async function connect(url = r.wsUrl): Promise<Client> {
  const c = await Client.connect(url);
  clients.push(c);
  return c;
}

describe('prices:<feed>', () => {
  it('carries prices and source switches with one seq; switches also reach the system room', async () => {
    const c = await connect();
    await c.subscribe(['prices:BTC-USD']);
    const sys = await connect();
    await sys.subscribe(['system']);
    await sys.sync(); // the exchanges' current states
    tw.events.emit('source', { feed: 'BTC-USD', from: null, to: 'binance:BTCUSDT', reason: 'started', ts: 1 });
    tw.events.emit('price', { feed: 'BTC-USD', price: 50000, bid: 49999, ask: 50001, source: 'binance:BTCUSDT', ts: 2, sourceTs: 3 });
    tw.events.emit('source', { feed: 'BTC-USD', from: 'binance:BTCUSDT', to: 'kraken:XBT/USD', reason: 'disconnected', ts: 4 });
    expect(await c.take(3)).toEqual([
      { type: 'source', channel: 'prices:BTC-USD', seq: 1, feed: 'BTC-USD', from: null, to: 'binance:BTCUSDT', reason: 'started', ts: 1 },
      { type: 'price', channel: 'prices:BTC-USD', seq: 2, feed: 'BTC-USD', price: 50000, bid: 49999, ask: 50001, source: 'binance:BTCUSDT', ts: 2, sourceTs: 3 },
      { type: 'source', channel: 'prices:BTC-USD', seq: 3, feed: 'BTC-USD', from: 'binance:BTCUSDT', to: 'kraken:XBT/USD', reason: 'disconnected', ts: 4 },
    ]);
    const onSystem = await sys.take(2);
    expect(onSystem.map((m) => [m.type, m.channel, m.reason])).toEqual([['source', 'system', 'started'], ['source', 'system', 'disconnected']]);
    expect(onSystem[1].seq).toBe(onSystem[0].seq + 1);
  });

  it('a binary subscriber of system is told of a switch by a json_only gap; prices channels refuse binary', async () => {
    const bin = await connect(`${r.wsUrl}?format=fbs`);
    await bin.subscribe(['system']);
    await bin.sync();
    tw.events.emit('source', { feed: 'BTC-USD', from: null, to: 'binance:BTCUSDT', reason: 'started', ts: 1 });
    const gap = await bin.next();
    expect(gap).toMatchObject({ type: 'gap', channel: 'system', reason: 'json_only' });
    expect(gap.fromSeq).toBe(gap.toSeq);
    const refused = await bin.subscribe(['prices:BTC-USD']);
    expect(refused).toMatchObject({ type: 'error', code: 'UNKNOWN_CHANNEL' });
  });

  it('an unknown feed is UNKNOWN_CHANNEL', async () => {
    const c = await connect();
    expect(await c.subscribe(['prices:ETH-USD'])).toMatchObject({ type: 'error', code: 'UNKNOWN_CHANNEL' });
  });

  it('token patterns can name feeds and portfolios', () => {
    const p = parseChannelPattern('prices:BTC-USD') as ChannelPattern;
    expect(matchesChannel(p, 'prices:BTC-USD')).toBe(true);
    expect(matchesChannel(p, 'prices:ETH-USD')).toBe(false);
    const any = parseChannelPattern('portfolio:*') as ChannelPattern;
    expect(matchesChannel(any, 'portfolio:main')).toBe(true);
    expect(matchesChannel(any, 'prices:BTC-USD')).toBe(false);
    expect(typeof parseChannelPattern('prices:BTC USD')).toBe('string');
  });
});

describe('GET /v1/feeds', () => {
  it('lists the feeds and answers one by name; an unknown one is 404 NOT_FOUND', async () => {
    const report = {
      feed: 'BTC-USD', base: 'BTC', quote: 'USD', active: 'binance:BTCUSDT', price: 1, bid: null, ask: null, ts: 1, prices: 1, switches: 1,
      sources: [], daySource: 'binance:BTCUSDT',
      day: { last: 1, open: 1, change: 0, changePct: 0, high: 1, low: 1, volume: 1, quoteVolume: 1, from: 0, bars: 1 },
    } satisfies FeedReport;
    tw.feedReports = [report];
    const all = await fetch(`${r.base}/v1/feeds`);
    expect(all.status).toBe(200);
    expect(await all.json()).toEqual({ feeds: [report] });
    const one = await fetch(`${r.base}/v1/feeds/BTC-USD`);
    expect(await one.json()).toEqual(report);
    const missing = await fetch(`${r.base}/v1/feeds/ETH-USD`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });
});

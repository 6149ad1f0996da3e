/** TickwireClient against the real uWebSockets.js server on loopback (JSON): subscribe, handlers, snapshots, refusals. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { TickwireClient, type StateChange, type TickwireClientOptions } from '../../src/client/index.ts';
import { ErrorCode, InvalidParameterError, TickwireError } from '../../src/errors.ts';
import { makeBar } from '../support/fake-tickwire.ts';
import { until } from '../support/until.ts';
import { startServer, type Running } from '../server/helpers.ts';
import { Recorder } from './support.ts';

const MIN = 60_000;
const T0 = Date.UTC(2024, 7, 9, 0, 0);

let r: Running;
let clients: TickwireClient[];

function client(options: Partial<TickwireClientOptions> = {}): TickwireClient {
  const c = new TickwireClient({ url: r.base, reconnect: { initialMs: 20, maxMs: 200 }, ...options });
  clients.push(c);
  return c;
}

/** The server's `tickwire_subscribers` gauge. */
async function subscribers(): Promise<number> {
  const text = await (await fetch(`${r.base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('tickwire_subscribers '));
  return Number(line?.split(' ')[1]);
}

/** Resolves once `rec` saw its subscription acknowledged `n` times. */
async function acked(rec: Recorder, n = 1): Promise<void> {
  await until(() => rec.count('subscribed') >= n, 5000, 'the subscription to be acknowledged');
}

beforeEach(async () => {
  clients = [];
  r = await startServer();
});

afterEach(async () => {
  for (const c of clients) await c.close();
  await r.server.close();
});

describe('TickwireClient stream (JSON)', () => {
  it('delivers trades, quotes and bars to their handlers, once each, in seq order, in the protocol shape', async () => {
    const c = client();
    const rec = new Recorder();
    c.subscribe(['trades:binance:BTC-USDT', 'quotes:binance:BTCUSDT', 'bars:binance:BTCUSDT:M1'], rec.handlers());
    await acked(rec);
    expect(rec.of('subscribed')[0]).toMatchObject({
      channels: ['trades:binance:BTCUSDT', 'quotes:binance:BTCUSDT', 'bars:binance:BTCUSDT:1m'],
      resumed: false,
    });
    expect(c.state).toBe('open');
    const sent = [];
    for (let i = 0; i < 30; i++) {
      sent.push(r.tw.trade('binance', 'BTCUSDT', { price: 100 + i, side: i % 2 === 0 ? 'buy' : 'sell' }));
      if (i % 3 === 0) r.tw.quote('binance', 'BTCUSDT', { bidPrice: 99 + i, askPrice: 101 + i });
    }
    const bar = makeBar(T0, MIN, 100, false);
    r.tw.bar('binance', 'BTCUSDT', '1m', bar);
    await until(() => rec.count('trade') === 30 && rec.count('quote') === 10 && rec.count('bar') === 1, 5000, 'every message');
    const trades = rec.of('trade');
    expect(trades.map((m) => m.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(trades.map((m) => m.price)).toEqual(sent.map((e) => e.price));
    expect(trades[1]).toEqual({
      type: 'trade', channel: 'trades:binance:BTCUSDT', seq: 2, exchange: 'binance', symbol: 'BTCUSDT',
      tradeId: sent[1]!.tradeId, price: 101, size: 0.5, side: 'sell', ts: sent[1]!.ts, recvTs: sent[1]!.recvTs,
    });
    expect(rec.of('quote').map((m) => m.bidPrice)).toEqual(Array.from({ length: 10 }, (_, i) => 99 + 3 * i));
    expect(rec.of('bar')[0]).toMatchObject({ type: 'bar', channel: 'bars:binance:BTCUSDT:1m', seq: 1, openTime: T0, close: bar.close, closed: false });
    expect(rec.count('gap')).toBe(0);
    expect(rec.count('error')).toBe(0);
  });

  it('a snapshot comes first, then the live stream continues at snapshot seq + 1; it equals HTTP candles', async () => {
    const seeded = r.tw.seed('binance', 'BTCUSDT', '1m', 8, T0);
    const c = client();
    const rec = new Recorder();
    c.subscribe('bars:binance:BTCUSDT:1m', rec.handlers(), { snapshot: 5 });
    await until(() => rec.count('snapshot') === 1, 5000, 'the snapshot');
    const snap = rec.of('snapshot')[0];
    expect(snap.resync).toBeUndefined();
    expect(snap.bars.map((b: { openTime: number }) => b.openTime)).toEqual(seeded.slice(-5).map((b) => b.openTime));
    const http = await c.candles('binance', 'BTCUSDT', '1m', { limit: 5 });
    expect(http.source).toBe('http');
    expect(snap.bars).toEqual(http.candles);

    const next = makeBar(seeded.at(-1)!.openTime, MIN, 500, false);
    r.tw.bar('binance', 'BTCUSDT', '1m', next);
    await until(() => rec.count('bar') === 1, 5000, 'the live bar');
    expect(rec.of('bar')[0]).toMatchObject({ seq: snap.seq + 1, openTime: next.openTime, open: 500 });
    // Order of the calls: subscribed, snapshot, bar.
    expect(rec.calls.map((x) => x.handler)).toEqual(['subscribed', 'snapshot', 'bar']);
  });

  it('without a snapshot handler, the snapshot bars arrive one by one at the bar handler', async () => {
    const seeded = r.tw.seed('binance', 'ETHUSDT', '5m', 3, T0);
    const c = client();
    const rec = new Recorder();
    c.subscribe('bars:binance:ETHUSDT:5m', rec.handlers(['subscribed', 'bar']), { snapshot: 10 });
    await until(() => rec.count('bar') === 4, 5000, 'the snapshot bars');
    const bars = rec.of('bar');
    expect(bars.map((b) => b.openTime)).toEqual(seeded.map((b) => b.openTime));
    expect(bars[3]).toMatchObject({ type: 'bar', channel: 'bars:binance:ETHUSDT:5m', exchange: 'binance', symbol: 'ETHUSDT', timeframe: '5m', closed: false });
    expect(Object.keys(bars[0]).slice(0, 7)).toEqual(['type', 'channel', 'seq', 'exchange', 'symbol', 'timeframe', 'openTime']);
  });

  it('two subscriptions on one channel both receive; unsubscribing one keeps the other; the last one stops delivery', async () => {
    const c = client();
    const a = new Recorder();
    const b = new Recorder();
    const offA = c.subscribe('trades:kraken:XBT/USD', a.handlers());
    const offB = c.subscribe(['trades:kraken:XBT/USD', 'trades:kraken:ETH/USD'], b.handlers());
    await acked(a);
    await acked(b);
    r.tw.trade('kraken', 'XBT/USD');
    await until(() => a.count('trade') === 1 && b.count('trade') === 1, 5000, 'both');
    offA();
    offA(); // idempotent
    r.tw.trade('kraken', 'XBT/USD');
    r.tw.trade('kraken', 'ETH/USD');
    await until(() => b.count('trade') === 3, 5000, 'b to get both channels');
    expect(a.count('trade')).toBe(1);
    expect(b.of('trade').map((m) => `${m.channel}#${m.seq}`)).toEqual(['trades:kraken:XBT/USD#1', 'trades:kraken:XBT/USD#2', 'trades:kraken:ETH/USD#1']);
    expect(await subscribers()).toBe(2);
    offB();
    // The server drops both channels (the connection stays).
    const deadline = Date.now() + 3000;
    while ((await subscribers()) !== 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    expect(await subscribers()).toBe(0);
    expect(r.server.connections).toBe(1);
    r.tw.trade('kraken', 'ETH/USD');
    expect(b.count('trade')).toBe(3);
  });

  it('a refused subscription ends through its error handler with the server code; the others go on', async () => {
    const c = client();
    const bad = new Recorder();
    const good = new Recorder();
    c.subscribe(['trades:binance:BTCUSDT', 'trades:nowhere:BTCUSDT'], bad.handlers());
    c.subscribe('trades:binance:ETHUSDT', good.handlers());
    await until(() => bad.count('error') === 1, 5000, 'the refusal');
    const err = bad.of('error')[0];
    expect(err).toBeInstanceOf(TickwireError);
    expect(err.code).toBe(ErrorCode.EXCHANGE_NOT_FOUND);
    await acked(good);
    r.tw.trade('binance', 'BTCUSDT');
    r.tw.trade('binance', 'ETHUSDT');
    await until(() => good.count('trade') === 1, 5000, 'the good one');
    expect(bad.count('trade')).toBe(0);
    expect(bad.count('subscribed')).toBe(0);
  });

  it('a refusal without an error handler goes to the client error event', async () => {
    const c = client();
    const errors: Error[] = [];
    c.on('error', (e) => errors.push(e));
    c.subscribe('bars:binance:BTCUSDT:1h', {});
    await until(() => errors.length === 1, 5000, 'the error event');
    expect((errors[0] as TickwireError).code).toBe(ErrorCode.INVALID_TIMEFRAME);
  });

  it('a handler that throws is reported on the error event and delivery goes on', async () => {
    const c = client();
    const errors: Error[] = [];
    c.on('error', (e) => errors.push(e));
    const prices: number[] = [];
    const rec = new Recorder();
    c.subscribe('trades:binance:BTCUSDT', {
      ...rec.handlers(['subscribed']),
      trade: (m) => {
        prices.push(m.price);
        if (m.seq === 2) throw new Error('boom');
      },
    });
    await acked(rec);
    for (let i = 0; i < 4; i++) r.tw.trade('binance', 'BTCUSDT', { price: i });
    await until(() => prices.length === 4, 5000, 'all trades');
    expect(prices).toEqual([0, 1, 2, 3]);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/trades:binance:BTCUSDT threw: boom/);
    expect((errors[0] as TickwireError).cause).toBeInstanceOf(Error);
  });

  it('reports state changes: connecting, open, closed; close() is idempotent and final', async () => {
    const c = client();
    const states: StateChange[] = [];
    c.on('state', (s) => states.push(s));
    expect(c.state).toBe('idle');
    await c.connect();
    expect(states.map((s) => s.state)).toEqual(['connecting', 'open']);
    await Promise.all([c.close(), c.close()]);
    expect(states.map((s) => s.state)).toEqual(['connecting', 'open', 'closed']);
    await until(() => r.server.connections === 0, 2000, 'the server to see the close');
    expect(() => c.subscribe('trades:binance:BTCUSDT', {})).toThrow(/closed/);
    await expect(c.connect()).rejects.toThrow(/closed/);
  });

  it('validates options and arguments up front with InvalidParameterError', () => {
    expect(() => new TickwireClient({ url: 'ftp://x' })).toThrow(InvalidParameterError);
    expect(() => new TickwireClient({ url: 'http://127.0.0.1:1?x=1' })).toThrow(/url/);
    expect(() => new TickwireClient({ url: r.base, format: 'xml' as 'json' })).toThrow(/format/);
    expect(() => new TickwireClient({ url: r.base, reconnect: { initialMs: 0 } })).toThrow(/reconnect.initialMs/);
    expect(() => new TickwireClient({ url: r.base, reconnect: { initialMs: 100, maxMs: 50 } })).toThrow(/reconnect.maxMs/);
    expect(() => new TickwireClient({ url: r.base, token: '' })).toThrow(/token/);
    const c = client();
    expect(() => c.subscribe([], {})).toThrow(/channels/);
    expect(() => c.subscribe('trades:binance:BTCUSDT', { trade: 5 as never })).toThrow(/handlers.trade/);
    expect(() => c.subscribe('trades:binance:BTCUSDT', { onTrade: () => {} } as never)).toThrow(/handlers.onTrade/);
    expect(() => c.subscribe('bars:binance:BTCUSDT:1m', {}, { snapshot: 1001 })).toThrow(/snapshot/);
    expect(c.state).toBe('idle'); // nothing valid was subscribed: no connection
  });

  it('uses an injected WebSocket class (the browser path: no headers)', async () => {
    const made: string[] = [];
    class Counting extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols);
        made.push(url);
      }
    }
    const c = client({ WebSocket: Counting as never });
    const rec = new Recorder();
    c.subscribe('trades:binance:BTCUSDT', rec.handlers());
    await acked(rec);
    r.tw.trade('binance', 'BTCUSDT', { price: 42 });
    await until(() => rec.count('trade') === 1, 5000, 'the trade');
    expect(rec.of('trade')[0].price).toBe(42);
    expect(made).toEqual([`ws://127.0.0.1:${r.port}/v1/stream`]);
  });
});

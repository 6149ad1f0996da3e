/** The binary format through the SDK: a FlatBuffers client and a JSON client on the same channels get equal messages; candles too. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { TickwireClient } from '../../src/client/index.ts';
import { LiveFakeTickwire, startServer, type Running } from '../server/helpers.ts';
import { makeBar } from '../support/fake-tickwire.ts';
import { until } from '../support/until.ts';
import { Recorder } from './support.ts';

const MIN = 60_000;
const T0 = Date.UTC(2024, 7, 9, 0, 0);
const CHANNELS = ['trades:binance:BTCUSDT', 'quotes:binance:BTCUSDT', 'bars:binance:BTCUSDT:1m', 'trades:kraken:*'];

let r: Running;
let clients: TickwireClient[];

beforeEach(async () => {
  clients = [];
  frames.binary = 0;
  frames.text = 0;
  r = await startServer({}, new LiveFakeTickwire());
});

afterEach(async () => {
  for (const c of clients) await c.close();
  await r.server.close();
});

/** Frames received as binary / as text by the clients' sockets. */
const frames = { binary: 0, text: 0 };

/** `ws`, counting frame kinds (injected: the SDK then uses it as it would a browser's WebSocket). */
class CountingWebSocket extends WebSocket {
  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols);
    this.addEventListener('message', (ev) => {
      if (typeof ev.data === 'string') frames.text++;
      else frames.binary++;
    });
  }
}

function client(format: 'json' | 'fbs'): TickwireClient {
  const c = new TickwireClient({ url: r.base, format, reconnect: { initialMs: 20, maxMs: 100 }, WebSocket: CountingWebSocket as never });
  clients.push(c);
  return c;
}

describe('format fbs', () => {
  it('a binary and a JSON subscriber see the same values, message for message (snapshot, trades, quotes, bars, a wildcard, alerts)', async () => {
    r.tw.seed('binance', 'BTCUSDT', '1m', 4, T0);
    const bin = client('fbs');
    const text = client('json');
    const b = new Recorder();
    const j = new Recorder();
    bin.subscribe([...CHANNELS, 'alerts'], b.handlers(), { snapshot: 3 });
    text.subscribe([...CHANNELS, 'alerts'], j.handlers(), { snapshot: 3 });
    await until(() => b.count('snapshot') === 1 && j.count('snapshot') === 1, 5000, 'both snapshots');

    for (let i = 0; i < 25; i++) {
      r.tw.trade('binance', 'BTCUSDT', { price: 61837.63 + i / 100, size: 0.001 * (i + 1), side: i % 3 === 0 ? 'sell' : 'buy' });
      if (i % 5 === 0) r.tw.quote('binance', 'BTCUSDT', { bidPrice: 61837.62 + i, askPrice: 61837.64 + i, bidSize: 1.5, askSize: 0.25 });
      if (i % 7 === 0) r.tw.trade('kraken', 'ETH/USD', { tradeId: null, side: 'unknown', price: 3000.5 });
    }
    r.tw.bar('binance', 'BTCUSDT', '1m', makeBar(T0 + 4 * MIN, MIN, 110, false, { vwap: null, spread: 0.125 }));
    r.tw.bar('binance', 'BTCUSDT', '1m', makeBar(T0 + 3 * MIN, MIN, 103, true, { revision: 1, gapped: true }));
    r.server.publishAlert({ level: 'warning', source: 'test', message: 'spread wide on BTCUSDT' });
    const done = (x: Recorder) => x.count('trade') === 29 && x.count('quote') === 5 && x.count('bar') === 2 && x.count('alert') === 1;
    await until(() => done(b) && done(j), 5000, 'every message in both formats');

    const strip = (x: Recorder) => x.calls.map((c) => (c.handler === 'subscribed' ? { handler: c.handler, channels: c.m.channels } : c));
    expect(strip(b)).toEqual(strip(j));
    expect(b.of('trade').find((m) => m.exchange === 'kraken')).toMatchObject({ tradeId: null, side: 'unknown', symbol: 'ETH/USD' });
    expect(b.of('bar')[0]).toMatchObject({ vwap: null, spread: 0.125, closed: false });
    expect(b.of('bar')[1]).toMatchObject({ gapped: true, revision: 1 });
    expect(bin.stats.malformed).toBe(0);
    // Each client got every message in its own format (one subscribed reply, one snapshot, 37 live messages).
    expect(frames.binary).toBe(bin.stats.messages);
    expect(frames.text).toBe(text.stats.messages);
    expect(frames.binary).toBeGreaterThanOrEqual(39);
  });

  it('candles over HTTP as FlatBuffers equal the JSON answer', async () => {
    r.tw.seed('binance', 'ETHUSDT', '5m', 20, T0);
    const bin = await client('fbs').candles('binance', 'ETH-USDT', '5m', { limit: 10 });
    const text = await client('json').candles('binance', 'ETH-USDT', '5m', { limit: 10 });
    expect(bin.source).toBe('http');
    expect(bin.count).toBe(10);
    expect(bin).toEqual(text);
  });
});

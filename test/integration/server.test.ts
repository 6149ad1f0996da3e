/**
 * End to end over real loopback sockets: fake Binance → worker → shared
 * memory → pump → uWebSockets.js server → a WebSocket subscriber and HTTP.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTickwire } from '../../src/api/tickwire.ts';
import type { Tickwire } from '../../src/api/types.ts';
import { createServer, type TickwireServer } from '../../src/server/server.ts';
import type { BinanceProtocolServer } from '../../src/sim/binance-protocol-server.ts';
import { binanceDerived1mBars } from '../support/fixtures.ts';
import { bookTickerFrames, longTradeFrames, startFakeBinance } from '../support/fake-binance.ts';
import { until } from '../support/until.ts';

const frames = longTradeFrames();
const derived = binanceDerived1mBars();

let fake: BinanceProtocolServer | undefined;
let tickwire: Tickwire | undefined;
let server: TickwireServer | undefined;
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await server?.close();
  await tickwire?.stop();
  await fake?.stop();
  server = undefined;
  tickwire = undefined;
  fake = undefined;
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Msg = any;

async function setup() {
  fake = await startFakeBinance();
  tickwire = createTickwire(
    { timeframes: ['1m', '5m'], exchanges: { binance: { url: fake.url, symbols: ['BTCUSDT'] } } },
    { statusMs: 100, tickMs: 50, connection: { backoffBaseMs: 20, backoffMaxMs: 200 } },
  );
  await tickwire.start();
  server = createServer(tickwire, { host: '127.0.0.1', port: 0 });
  const { port } = await server.listen();
  const f = fake;
  await until(() => f.subscriptions().some((s) => s.includes('btcusdt@trade')), 10_000, 'the worker to subscribe');
  return { fake: f, tickwire, base: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/v1/stream` };
}

async function subscriber(url: string): Promise<{ ws: WebSocket; messages: Msg[] }> {
  const ws = new WebSocket(url);
  sockets.push(ws);
  const messages: Msg[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(data.toString())));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return { ws, messages };
}

describe('end to end: exchange frames to subscribers and HTTP', () => {
  it('a subscriber receives every trade once, contiguous seq, aggressor side right; HTTP candles equal the klines', async () => {
    const { fake, base, wsUrl } = await setup();
    const { ws, messages } = await subscriber(wsUrl);
    ws.send(JSON.stringify({ op: 'subscribe', id: 1, channels: ['trades:binance:BTC-USDT', 'quotes:binance:BTCUSDT'] }));
    await until(() => messages.some((m) => m.type === 'subscribed'), 5_000, 'subscribed');
    expect(messages[0]).toEqual({ type: 'subscribed', id: 1, channels: ['trades:binance:BTCUSDT', 'quotes:binance:BTCUSDT'], epoch: expect.any(String) });

    for (const f of frames) fake.sendRaw(f);
    const tickers = bookTickerFrames();
    for (const f of tickers) fake.sendRaw(f);
    const trades = () => messages.filter((m) => m.type === 'trade');
    await until(() => trades().length >= frames.length && messages.filter((m) => m.type === 'quote').length >= tickers.length, 20_000, 'every trade and quote');
    const got = trades();
    expect(got).toHaveLength(frames.length);
    expect(got.map((m) => m.seq)).toEqual(got.map((_, i) => got[0].seq + i));
    const sent = frames.map((f) => JSON.parse(f).data);
    expect(got.map((m) => m.tradeId)).toEqual(sent.map((d) => d.t));
    expect(got.map((m) => m.side)).toEqual(sent.map((d) => (d.m ? 'sell' : 'buy')));
    expect(got[0]).toMatchObject({ channel: 'trades:binance:BTCUSDT', exchange: 'binance', symbol: 'BTCUSDT', price: 61837.63, size: 0.02, ts: sent[0].T });

    const quote = messages.find((m) => m.type === 'quote');
    expect(quote).toMatchObject({ channel: 'quotes:binance:BTCUSDT', bidPrice: Number(JSON.parse(tickers[0]!).data.b) });

    const res = await fetch(`${base}/v1/candles/binance/BTCUSDT/1m?closed=true`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Msg;
    expect(body).toMatchObject({ exchange: 'binance', symbol: 'BTCUSDT', timeframe: '1m' });
    for (const want of derived.filter((b) => b.complete)) {
      const bar = body.candles.find((c: Msg) => c.openTime === want.openTime);
      expect(bar).toMatchObject({
        closeTime: want.closeTime, open: want.open, high: want.high, low: want.low, close: want.close,
        volume: want.volume, quoteVolume: want.quoteVolume, buyVolume: want.buyVolume, trades: want.trades, closed: true, revision: 0,
      });
    }
  });

  it('snapshot then live bars for a subscriber joining mid-stream', async () => {
    const { fake, wsUrl } = await setup();
    for (const f of frames.slice(0, 4_000)) fake.sendRaw(f);
    await until(() => tickwire!.status().exchanges['binance']!.trades >= 4_000, 10_000, 'first trades');
    const { ws, messages } = await subscriber(wsUrl);
    ws.send(JSON.stringify({ op: 'subscribe', id: 9, channels: ['bars:binance:BTCUSDT:M1'], snapshot: 3 }));
    await until(() => messages.some((m) => m.type === 'snapshot'), 5_000, 'snapshot');
    const snapshot = messages.find((m) => m.type === 'snapshot');
    expect(snapshot.channel).toBe('bars:binance:BTCUSDT:1m');
    expect(snapshot.bars).toHaveLength(3);
    expect(snapshot.bars.at(-1).closed).toBe(false);
    for (const f of frames.slice(4_000)) fake.sendRaw(f);
    await until(() => messages.some((m) => m.type === 'bar' && m.closed && m.openTime === derived[5]!.openTime), 10_000, 'a live close');
    const live = messages.filter((m) => m.type === 'bar');
    expect(live[0].seq).toBeGreaterThan(snapshot.seq);
    expect(live.map((m) => m.seq)).toEqual(live.map((_, i) => live[0].seq + i));
  });

  it('garbage on the stream gets an error code and the connection keeps working; 4 MiB closes only that connection', async () => {
    const { fake, wsUrl } = await setup();
    const { ws, messages } = await subscriber(wsUrl);
    ws.send('{"op": "subscribe", "channels": ');
    ws.send(JSON.stringify({ op: 'subscribe', id: 2, channels: ['trades:nowhere:BTCUSDT'] }));
    ws.send(JSON.stringify({ op: 'dance', id: 3 }));
    await until(() => messages.filter((m) => m.type === 'error').length === 3, 5_000, 'three errors');
    expect(messages.map((m) => m.code)).toEqual(['INVALID_PARAMETER', 'EXCHANGE_NOT_FOUND', 'INVALID_PARAMETER']);
    ws.send(JSON.stringify({ op: 'ping', id: 4 }));
    ws.send(JSON.stringify({ op: 'subscribe', id: 5, channels: ['trades:binance:BTCUSDT'] }));
    await until(() => messages.some((m) => m.type === 'subscribed' && m.id === 5), 5_000, 'subscribed after garbage');
    expect(messages).toContainEqual({ type: 'pong', id: 4 });

    const big = await subscriber(wsUrl);
    const bigClosed = new Promise((resolve) => big.ws.once('close', resolve));
    big.ws.send('x'.repeat(4 * 1024 * 1024));
    await bigClosed;

    for (const f of frames.slice(0, 50)) fake.sendRaw(f);
    await until(() => messages.filter((m) => m.type === 'trade').length === 50, 10_000, 'trades after the big message');
    expect(ws.readyState).toBe(WebSocket.OPEN);
  });
});

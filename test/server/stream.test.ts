/** The /v1/stream protocol over real loopback sockets with the `ws` client. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { TimeframeName } from '../../src/model/timeframes.ts';
import { FakeTickwire, fakeConfig, makeBar } from '../support/fake-tickwire.ts';
import { Client, startServer, tick, waitFor, type Msg, type Running } from './helpers.ts';

const MIN = 60_000;
const T0 = Date.UTC(2024, 7, 9, 0, 0);
const BAR_KEYS = [
  'openTime', 'closeTime', 'open', 'high', 'low', 'close', 'volume', 'quoteVolume', 'buyVolume', 'sellVolume',
  'trades', 'vwap', 'spread', 'closed', 'revision',
];

let r: Running;
let clients: Client[];

async function connect(url = r.wsUrl, protocols?: string | string[]): Promise<Client> {
  const c = await Client.connect(url, protocols);
  clients.push(c);
  return c;
}

beforeEach(async () => {
  clients = [];
  r = await startServer();
});

afterEach(async () => {
  for (const c of clients) c.ws.terminate();
  await r.server.close();
});

describe('subscribe, live messages, seq', () => {
  it('acks with canonical channel names (native symbol, canonical timeframe)', async () => {
    const c = await connect();
    const ack = await c.subscribe(['trades:binance:BTC-USDT', 'bars:kraken:XBT/USD:M1', 'quotes:binance:ethusdt', 'bars:kraken:BTC-USD:5m']);
    expect(ack).toEqual({
      type: 'subscribed',
      id: 1,
      channels: ['trades:binance:BTCUSDT', 'bars:kraken:XBT/USD:1m', 'quotes:binance:ETHUSDT', 'bars:kraken:XBT/USD:5m'],
      epoch: r.server.epoch,
    });
    expect(r.server.epoch).toMatch(/^[0-9a-f]{16}$/);
  });

  it('a new server has a new epoch', async () => {
    const other = await startServer();
    try {
      expect(other.server.epoch).not.toBe(r.server.epoch);
    } finally {
      await other.server.close();
    }
  });

  it('delivers live trades with a contiguous seq per channel, in the documented shape', async () => {
    const c = await connect();
    await c.subscribe(['trades:binance:BTCUSDT', 'trades:kraken:XBT/USD']);
    const sent = [];
    for (let i = 0; i < 20; i++) {
      sent.push(r.tw.trade('binance', 'BTCUSDT', { price: 100 + i, side: i % 3 === 0 ? 'sell' : 'buy' }));
      if (i % 2 === 0) r.tw.trade('kraken', 'XBT/USD', { tradeId: null, side: 'unknown' });
    }
    const got = await c.take(30);
    const binance = got.filter((m) => m.channel === 'trades:binance:BTCUSDT');
    const kraken = got.filter((m) => m.channel === 'trades:kraken:XBT/USD');
    expect(binance.map((m) => m.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(kraken.map((m) => m.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    const e = sent[3]!;
    expect(binance[3]).toEqual({
      type: 'trade', channel: 'trades:binance:BTCUSDT', seq: 4, exchange: 'binance', symbol: 'BTCUSDT',
      tradeId: e.tradeId, price: 103, size: 0.5, side: 'sell', ts: e.ts, recvTs: e.recvTs,
    });
    expect(Object.keys(binance[3])).toEqual(['type', 'channel', 'seq', 'exchange', 'symbol', 'tradeId', 'price', 'size', 'side', 'ts', 'recvTs']);
    expect(kraken[0]).toMatchObject({ tradeId: null, side: 'unknown', symbol: 'XBT/USD' });
  });

  it('delivers quotes and bars in their shapes', async () => {
    const c = await connect();
    await c.subscribe(['quotes:binance:BTCUSDT', 'bars:binance:BTCUSDT:1m']);
    const q = r.tw.quote('binance', 'BTCUSDT', { bidPrice: 1.5, askPrice: 1.75 });
    const bar = makeBar(T0, MIN, 100, false, { vwap: null });
    r.tw.bar('binance', 'BTCUSDT', '1m', bar);
    const [quote, barMsg] = await c.take(2);
    expect(quote).toEqual({
      type: 'quote', channel: 'quotes:binance:BTCUSDT', seq: 1, exchange: 'binance', symbol: 'BTCUSDT',
      bidPrice: 1.5, bidSize: 1, askPrice: 1.75, askSize: 2, ts: q.ts, recvTs: q.recvTs,
    });
    expect(Object.keys(barMsg)).toEqual(['type', 'channel', 'seq', 'exchange', 'symbol', 'timeframe', ...BAR_KEYS]);
    expect(barMsg).toMatchObject({ type: 'bar', channel: 'bars:binance:BTCUSDT:1m', seq: 1, timeframe: '1m', openTime: T0, closed: false, vwap: null, spread: null });
  });

  it('a channel seq counts every message since the server started, subscribed or not', async () => {
    // Before anyone subscribes: seqs 1..3 happen unseen.
    for (let i = 0; i < 3; i++) r.tw.trade('binance', 'BTCUSDT');
    const c = await connect();
    await c.subscribe(['trades:binance:BTCUSDT']);
    r.tw.trade('binance', 'BTCUSDT');
    r.tw.trade('binance', 'BTCUSDT');
    expect((await c.take(2)).map((m) => m.seq)).toEqual([4, 5]);
    expect(await c.request({ op: 'unsubscribe', channels: ['trades:binance:BTCUSDT'] })).toEqual({
      type: 'unsubscribed', id: 2, channels: ['trades:binance:BTCUSDT'],
    });
    for (let i = 0; i < 5; i++) r.tw.trade('binance', 'BTCUSDT');
    await c.subscribe(['trades:binance:BTCUSDT']);
    r.tw.trade('binance', 'BTCUSDT');
    // The client can tell it missed exactly 6..10.
    expect((await c.next()).seq).toBe(11);
  });

  it('unsubscribe stops that channel only', async () => {
    const c = await connect();
    await c.subscribe(['trades:binance:BTCUSDT', 'trades:binance:ETHUSDT']);
    await c.request({ op: 'unsubscribe', channels: ['trades:binance:BTC-USDT'] });
    r.tw.trade('binance', 'BTCUSDT');
    r.tw.trade('binance', 'ETHUSDT');
    r.tw.trade('binance', 'BTCUSDT');
    const before = await c.sync();
    expect(before.map((m) => m.channel)).toEqual(['trades:binance:ETHUSDT']);
  });

  it('answers ping with pong and the same id (number or string)', async () => {
    const c = await connect();
    c.send({ op: 'ping', id: 3 });
    expect(await c.next()).toEqual({ type: 'pong', id: 3 });
    c.send({ op: 'ping', id: 'abc' });
    expect(await c.next()).toEqual({ type: 'pong', id: 'abc' });
    c.send({ op: 'ping' });
    expect(await c.next()).toEqual({ type: 'pong', id: null });
  });

  it('two clients on one channel see the same seqs', async () => {
    const a = await connect();
    const b = await connect();
    await a.subscribe(['trades:binance:BTCUSDT']);
    r.tw.trade('binance', 'BTCUSDT');
    await b.subscribe(['trades:binance:BTCUSDT']);
    r.tw.trade('binance', 'BTCUSDT');
    expect((await a.take(2)).map((m) => m.seq)).toEqual([1, 2]);
    expect((await b.take(1)).map((m) => m.seq)).toEqual([2]);
  });
});

describe('snapshots', () => {
  it('sends the last N bars (forming last) at the channel seq, then live from seq + 1 with no gap or duplicate', async () => {
    r.tw.seed('binance', 'BTCUSDT', '1m', 10, T0);
    const first = await connect();
    await first.subscribe(['bars:binance:BTCUSDT:1m']);
    // Traffic before the second client: seq 1..4 (updates of the forming bar, then it closes and a new one forms).
    const forming = T0 + 10 * MIN;
    r.tw.bar('binance', 'BTCUSDT', '1m', makeBar(forming, MIN, 111, false, { trades: 4 }));
    r.tw.bar('binance', 'BTCUSDT', '1m', makeBar(forming, MIN, 111, false, { trades: 5 }));
    r.tw.bar('binance', 'BTCUSDT', '1m', makeBar(forming, MIN, 111, true, { trades: 6 }));
    r.tw.bar('binance', 'BTCUSDT', '1m', makeBar(forming + MIN, MIN, 112, false, { trades: 1 }));
    expect((await first.take(4)).map((m) => m.seq)).toEqual([1, 2, 3, 4]);

    const c = await connect();
    c.send({ op: 'subscribe', id: 7, channels: ['bars:binance:BTC-USDT:M1', 'trades:binance:BTCUSDT'], snapshot: 3 });
    expect(await c.next()).toEqual({ type: 'subscribed', id: 7, channels: ['bars:binance:BTCUSDT:1m', 'trades:binance:BTCUSDT'], epoch: r.server.epoch });
    const snap = await c.next();
    expect(snap.type).toBe('snapshot');
    expect(snap.channel).toBe('bars:binance:BTCUSDT:1m');
    expect(snap.seq).toBe(4);
    expect(snap.bars.map((b: Msg) => [b.openTime, b.closed, b.trades])).toEqual([
      [forming - MIN, true, 3],
      [forming, true, 6],
      [forming + MIN, false, 1],
    ]);
    for (const b of snap.bars) expect(Object.keys(b)).toEqual(BAR_KEYS);

    r.tw.bar('binance', 'BTCUSDT', '1m', makeBar(forming + MIN, MIN, 112, false, { trades: 2 }));
    r.tw.bar('binance', 'BTCUSDT', '1m', makeBar(forming + MIN, MIN, 112, false, { trades: 3 }));
    const live = await c.take(2);
    expect(live.map((m) => [m.seq, m.trades])).toEqual([[5, 2], [6, 3]]);
    expect((await first.take(2)).map((m) => m.seq)).toEqual([5, 6]);
  });

  it('snapshots interleaved with a busy channel never skip or repeat a seq', async () => {
    r.tw.seed('binance', 'ETHUSDT', '1m', 3, T0);
    const busy = await connect();
    await busy.subscribe(['bars:binance:ETHUSDT:1m']);
    const seen = new Map<Client, Msg[]>();
    let bars = 0;
    const emit = (n: number): void => {
      for (let i = 0; i < n; i++) r.tw.bar('binance', 'ETHUSDT', '1m', makeBar(T0 + 3 * MIN, MIN, 50, false, { trades: ++bars }));
    };
    emit(3);
    const late: Client[] = [];
    for (let k = 0; k < 5; k++) {
      const c = await connect();
      c.send({ op: 'subscribe', id: k, channels: ['bars:binance:ETHUSDT:1m'], snapshot: 2 });
      late.push(c);
      // Keep publishing while the subscribe is in flight, so it lands somewhere among the bars.
      for (let j = 0; j < 4; j++) {
        emit(1);
        await tick();
      }
    }
    emit(2);
    for (const c of late) {
      const msgs: Msg[] = [];
      while (msgs.length < 2 || (msgs[msgs.length - 1].seq ?? 0) < bars) msgs.push(await c.next());
      seen.set(c, msgs);
    }
    for (const msgs of seen.values()) {
      expect(msgs[0].type).toBe('subscribed');
      const snap = msgs[1];
      expect(snap.type).toBe('snapshot');
      // The snapshot's forming bar is the state after its seq; live continues at seq + 1.
      expect(snap.bars[snap.bars.length - 1].trades).toBe(snap.seq);
      const live = msgs.slice(2);
      expect(live.map((m) => m.seq)).toEqual(Array.from({ length: live.length }, (_, i) => snap.seq + 1 + i));
      expect(live.map((m) => m.trades)).toEqual(live.map((m) => m.seq));
      expect(snap.seq + live.length).toBe(bars);
    }
    const snapSeqs = [...seen.values()].map((msgs) => msgs[1].seq);
    expect(new Set(snapSeqs).size).toBeGreaterThan(1); // the subscribes did land at different points
    expect((await busy.take(bars)).map((m) => m.seq)).toEqual(Array.from({ length: bars }, (_, i) => i + 1));
  });
});

describe('bad client messages: answered, counted, connection still usable', () => {
  const cases: [string, unknown, string, unknown][] = [
    ['not JSON', 'hello', 'INVALID_PARAMETER', null],
    ['a JSON array', '[1,2]', 'INVALID_PARAMETER', null],
    ['a JSON number', '42', 'INVALID_PARAMETER', null],
    ['missing op', { id: 5 }, 'INVALID_PARAMETER', 5],
    ['unknown op', { op: 'dance', id: 6 }, 'INVALID_PARAMETER', 6],
    ['op of a wrong type', { op: 1, id: 7 }, 'INVALID_PARAMETER', 7],
    ['id of a wrong type', { op: 'ping', id: { a: 1 } }, 'INVALID_PARAMETER', null],
    ['channels not an array', { op: 'subscribe', id: 8, channels: 'trades:binance:BTCUSDT' }, 'INVALID_PARAMETER', 8],
    ['channels missing', { op: 'subscribe', id: 9 }, 'INVALID_PARAMETER', 9],
    ['no channels', { op: 'subscribe', id: 10, channels: [] }, 'INVALID_PARAMETER', 10],
    ['a channel not a string', { op: 'subscribe', id: 11, channels: [42] }, 'INVALID_PARAMETER', 11],
    ['too many channels in one message', { op: 'subscribe', id: 12, channels: Array(501).fill('trades:binance:BTCUSDT') }, 'INVALID_PARAMETER', 12],
    ['snapshot 0', { op: 'subscribe', id: 13, channels: ['bars:binance:BTCUSDT:1m'], snapshot: 0 }, 'INVALID_PARAMETER', 13],
    ['snapshot 1001', { op: 'subscribe', id: 14, channels: ['bars:binance:BTCUSDT:1m'], snapshot: 1001 }, 'INVALID_PARAMETER', 14],
    ['snapshot not a number', { op: 'subscribe', id: 15, channels: ['bars:binance:BTCUSDT:1m'], snapshot: '5' }, 'INVALID_PARAMETER', 15],
    ['an unknown channel type', { op: 'subscribe', id: 16, channels: ['candles:binance:BTCUSDT'] }, 'UNKNOWN_CHANNEL', 16],
    ['a channel without symbol', { op: 'subscribe', id: 17, channels: ['trades:binance'] }, 'UNKNOWN_CHANNEL', 17],
    ['a bars channel without timeframe', { op: 'subscribe', id: 18, channels: ['bars:binance:BTCUSDT'] }, 'UNKNOWN_CHANNEL', 18],
    ['quotes of an exchange without quotes', { op: 'subscribe', id: 19, channels: ['quotes:kraken:XBT/USD'] }, 'UNKNOWN_CHANNEL', 19],
    ['an unknown exchange', { op: 'subscribe', id: 20, channels: ['trades:nope:BTCUSDT'] }, 'EXCHANGE_NOT_FOUND', 20],
    ['an unknown symbol', { op: 'subscribe', id: 21, channels: ['trades:binance:DOGEUSDT'] }, 'SYMBOL_NOT_FOUND', 21],
    ['a bad timeframe', { op: 'subscribe', id: 22, channels: ['bars:binance:BTCUSDT:7m'] }, 'INVALID_TIMEFRAME', 22],
    ['a timeframe not kept', { op: 'subscribe', id: 23, channels: ['bars:binance:BTCUSDT:1h'] }, 'INVALID_TIMEFRAME', 23],
    ['unsubscribe with a bad channel', { op: 'unsubscribe', id: 24, channels: ['trades:binance:DOGEUSDT'] }, 'SYMBOL_NOT_FOUND', 24],
  ];

  it.each(cases)('%s', async (_name, msg, code, id) => {
    const c = await connect();
    c.send(msg);
    const err = await c.next();
    expect(err).toEqual({ type: 'error', id, code, message: expect.any(String) });
    expect(err.message.length).toBeGreaterThan(5);
    // Same connection keeps working.
    c.send({ op: 'ping', id: 'after' });
    expect(await c.next()).toEqual({ type: 'pong', id: 'after' });
    await c.subscribe(['trades:binance:BTCUSDT']);
    r.tw.trade('binance', 'BTCUSDT');
    expect((await c.next()).type).toBe('trade');
  });

  it('a binary frame is rejected', async () => {
    const c = await connect();
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await c.next()).toEqual({ type: 'error', id: null, code: 'INVALID_PARAMETER', message: expect.stringContaining('binary') });
    expect(await c.request({ op: 'ping' })).toMatchObject({ type: 'pong' });
  });

  it('a message with one bad channel is rejected whole, naming the first bad channel', async () => {
    const c = await connect();
    c.send({ op: 'subscribe', id: 1, channels: ['trades:binance:BTCUSDT', 'trades:nope:X', 'trades:binance:DOGE'] });
    const err = await c.next();
    expect(err).toMatchObject({ type: 'error', id: 1, code: 'EXCHANGE_NOT_FOUND' });
    expect(err.message).toContain('nope');
    r.tw.trade('binance', 'BTCUSDT');
    expect(await c.sync()).toEqual([]);
  });

  it('more than 1000 channels on one connection is refused', async () => {
    const cfg = fakeConfig();
    const symbols = Array.from({ length: 600 }, (_, i) => `S${i}USDT`);
    cfg.exchanges = { big: { url: undefined, symbols, channels: ['trades', 'quotes'], rate: 0, seed: 1, restUrl: undefined, key: undefined, secret: undefined, assetClass: 'stocks', feed: undefined } };
    cfg.timeframes = ['1m'];
    cfg.history = { ...cfg.history, '1m': 2 };
    await r.server.close();
    r = await startServer({}, new FakeTickwire(cfg));
    const c = await connect();
    const trades = symbols.map((s) => `trades:big:${s}`);
    const quotes = symbols.map((s) => `quotes:big:${s}`);
    expect((await c.subscribe(trades.slice(0, 500))).type).toBe('subscribed');
    expect((await c.subscribe(quotes.slice(0, 500))).type).toBe('subscribed');
    const err = await c.subscribe([...trades.slice(0, 3), quotes[500]!]);
    expect(err).toMatchObject({ type: 'error', code: 'INVALID_PARAMETER' });
    expect(err.message).toContain('1000');
    // Re-subscribing what it has is fine; after unsubscribing, room again.
    expect((await c.subscribe(trades.slice(0, 3))).type).toBe('subscribed');
    await c.request({ op: 'unsubscribe', channels: trades.slice(0, 1) });
    expect((await c.subscribe([quotes[500]!])).type).toBe('subscribed');
  });

  it('rejections are counted by code in /metrics', async () => {
    const c = await connect();
    c.send('garbage');
    await c.next();
    c.send({ op: 'subscribe', id: 1, channels: ['trades:nope:X'] });
    await c.next();
    const text = await (await fetch(`${r.base}/metrics`)).text();
    expect(text).toMatch(/tickwire_ws_rejected_messages_total\{code="INVALID_PARAMETER"\} 1/);
    expect(text).toMatch(/tickwire_ws_rejected_messages_total\{code="EXCHANGE_NOT_FOUND"\} 1/);
    expect(text).toMatch(/tickwire_ws_connections 1/);
  });
});

describe('limits, formats, isolation', () => {
  it('a 4 MiB message closes only that connection; another client keeps receiving', async () => {
    const big = await connect();
    const other = await connect();
    await other.subscribe(['trades:binance:BTCUSDT']);
    await big.subscribe(['trades:binance:BTCUSDT']);
    await waitFor(() => r.server.connections === 2);
    big.send('x'.repeat(4 * 1024 * 1024));
    const closed = await big.closed;
    expect(closed.code).not.toBe(1000);
    await waitFor(() => r.server.connections === 1, 3000, 'the big client to be closed');
    r.tw.trade('binance', 'BTCUSDT');
    r.tw.trade('binance', 'BTCUSDT');
    expect((await other.take(2)).map((m) => m.seq)).toEqual([1, 2]);
    expect(await other.request({ op: 'ping' })).toMatchObject({ type: 'pong' });
  });

  it('bad format requests are refused with 400 INVALID_PARAMETER; JSON is the default; binary is chosen by query or subprotocol', async () => {
    for (const [url, protocols] of [
      [`${r.wsUrl}?format=xml`, undefined],
      [`${r.wsUrl}?foo=1`, undefined],
      [`${r.wsUrl}?format=fbs`, 'tickwire.json'],
      [`${r.wsUrl}?format=json`, 'tickwire.fbs'],
    ] as const) {
      const ws = new WebSocket(url, protocols);
      ws.on('error', () => undefined); // terminate() below aborts the refused handshake
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        ws.on('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        ws.on('open', () => reject(new Error(`${url} was accepted`)));
      });
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body).error.code).toBe('INVALID_PARAMETER');
      ws.terminate();
    }
    const json = await connect(`${r.wsUrl}?format=json`);
    expect(await json.request({ op: 'ping' })).toMatchObject({ type: 'pong' });
    const sub = await connect(r.wsUrl, ['tickwire.json']);
    expect(sub.ws.protocol).toBe('tickwire.json');
    const plain = await connect();
    expect(await plain.request({ op: 'ping', x: 1 })).toMatchObject({ type: 'pong' });
    expect(plain.textFrames).toBe(1);

    const byQuery = await connect(`${r.wsUrl}?format=fbs`);
    const byProtocol = await connect(r.wsUrl, ['tickwire.fbs']);
    const preferred = await connect(r.wsUrl, ['tickwire.fbs', 'tickwire.json']);
    expect(byProtocol.ws.protocol).toBe('tickwire.fbs');
    expect(preferred.ws.protocol).toBe('tickwire.fbs');
    for (const c of [byQuery, byProtocol, preferred]) {
      expect(await c.request({ op: 'ping' })).toMatchObject({ type: 'pong' });
      expect(c.binaryFrames).toBe(1);
      expect(c.textFrames).toBe(0);
    }
  });

  it('counts connections and subscriptions in /metrics', async () => {
    const a = await connect();
    const b = await connect();
    await a.subscribe(['trades:binance:BTCUSDT', 'bars:binance:BTCUSDT:1m']);
    await b.subscribe(['trades:binance:BTCUSDT']);
    r.tw.trade('binance', 'BTCUSDT');
    r.tw.bar('binance', 'BTCUSDT', '1m' as TimeframeName, makeBar(T0, MIN, 1, false));
    await a.take(2);
    const text = await (await fetch(`${r.base}/metrics`)).text();
    expect(text).toMatch(/tickwire_ws_connections 2/);
    expect(text).toMatch(/tickwire_subscribers 3/);
    expect(text).toMatch(/tickwire_published_messages_total\{channel_type="trades"\} 1/);
    expect(text).toMatch(/tickwire_published_messages_total\{channel_type="bars"\} 1/);
    await b.close();
    await waitFor(() => r.server.connections === 1);
    const after = await (await fetch(`${r.base}/metrics`)).text();
    expect(after).toMatch(/tickwire_subscribers 2/);
  });
});

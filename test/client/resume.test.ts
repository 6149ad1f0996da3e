/**
 * The SDK survives connection loss and server restarts against the real
 * server on loopback: a cut TCP connection (a proxy the test cuts) resumes by
 * `since` with no loss and no duplicate, even mid-burst; a restarted server
 * (new epoch, same port) resyncs bars by snapshot without repeating a bar and
 * reports a `restart` gap for trades.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TickwireClient, type TickwireClientOptions } from '../../src/client/index.ts';
import { createServer, type TickwireServer } from '../../src/server/server.ts';
import type { BarJson } from '../../src/wire/messages.ts';
import { FakeTickwire, makeBar } from '../support/fake-tickwire.ts';
import { until } from '../support/until.ts';
import { startServer, type Running } from '../server/helpers.ts';
import { Recorder, TcpProxy } from './support.ts';

const MIN = 60_000;
const T0 = Date.UTC(2024, 7, 9, 0, 0);
const T = 'trades:binance:BTCUSDT';
const Q = 'quotes:binance:BTCUSDT';
const B = 'bars:binance:BTCUSDT:1m';

let r: Running | undefined;
let proxy: TcpProxy | undefined;
let extra: TickwireServer[] = [];
let clients: TickwireClient[] = [];

afterEach(async () => {
  for (const c of clients) await c.close();
  clients = [];
  await proxy?.close();
  proxy = undefined;
  for (const s of extra) await s.close();
  extra = [];
  await r?.server.close();
  r = undefined;
});

function client(url: string, options: Partial<TickwireClientOptions> = {}): TickwireClient {
  const c = new TickwireClient({ url, reconnect: { initialMs: 20, maxMs: 100 }, ...options });
  clients.push(c);
  return c;
}

/** Listen on `port` again, retrying while the old server's sockets still hold it (a round trip at most). */
async function listenAgain(tw: FakeTickwire, port: number): Promise<TickwireServer> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const server = createServer(tw, { host: '127.0.0.1', port });
    try {
      await server.listen();
      extra.push(server);
      return server;
    } catch (err) {
      await server.close();
      if (Date.now() > deadline) throw err;
      await new Promise((res) => setTimeout(res, 20));
    }
  }
}

/** The newest version of each bar a subscriber was given (snapshots, resyncs and live bars), oldest first. */
function reconstruct(rec: Recorder): BarJson[] {
  const byOpen = new Map<number, BarJson>();
  for (const { handler, m } of rec.calls) {
    if (handler === 'snapshot') for (const b of m.bars) byOpen.set(b.openTime, b);
    if (handler === 'bar') {
      const { type: _t, channel: _c, seq: _s, exchange: _e, symbol: _y, timeframe: _f, ...bar } = m;
      byOpen.set(bar.openTime, bar);
    }
  }
  return [...byOpen.values()].sort((a, b) => a.openTime - b.openTime);
}

describe('a dropped connection resumes by since', () => {
  it('messages published while the connection was down arrive once, in order, with no gap', async () => {
    r = await startServer();
    proxy = await TcpProxy.start(r.port);
    const c = client(`http://127.0.0.1:${proxy.port}`);
    const rec = new Recorder();
    r.tw.seed('binance', 'BTCUSDT', '1m', 3, T0);
    c.subscribe([T, Q, B], rec.handlers(), { snapshot: 3 });
    await until(() => rec.count('snapshot') === 1, 5000, 'the snapshot');
    const sent: number[] = [];
    const emit = (n: number) => {
      for (let i = 0; i < n; i++) sent.push(r!.tw.trade('binance', 'BTCUSDT', { price: 1000 + sent.length }).price);
    };
    emit(20);
    r.tw.quote('binance', 'BTCUSDT', { bidPrice: 0.5 });
    await until(() => rec.count('trade') === 20 && rec.count('quote') === 1, 5000, 'the first trades and quote');

    proxy.cut();
    await until(() => c.state === 'reconnecting', 5000, 'the client to notice');
    emit(30);
    r.tw.quote('binance', 'BTCUSDT', { bidPrice: 1 });
    r.tw.quote('binance', 'BTCUSDT', { bidPrice: 2 });
    r.tw.bar('binance', 'BTCUSDT', '1m', makeBar(T0 + 3 * MIN, MIN, 103, false, { close: 777 }));
    await until(() => rec.of('subscribed').some((m) => m.resumed), 5000, 'the re-subscribe');
    emit(10);
    await until(() => rec.count('trade') === 60, 5000, 'every trade');

    const trades = rec.of('trade');
    expect(trades.map((m) => m.price)).toEqual(sent);
    expect(trades.map((m) => m.seq)).toEqual(trades.map((_, i) => trades[0].seq + i));
    expect(rec.of('quote').map((m) => m.bidPrice)).toEqual([0.5, 1, 2]);
    expect(rec.of('bar').map((m) => m.close)).toEqual([777]);
    expect(rec.count('gap')).toBe(0);
    expect(c.stats.reconnects).toBe(1);
    expect(proxy.accepted).toBe(2);
  });

  it('cut twice in the middle of a steady burst: every trade exactly once, in order', async () => {
    r = await startServer();
    proxy = await TcpProxy.start(r.port);
    const c = client(`http://127.0.0.1:${proxy.port}`);
    const rec = new Recorder();
    c.subscribe(T, rec.handlers());
    await until(() => rec.count('subscribed') === 1, 5000, 'subscribed');
    const sent: number[] = [];
    const timer = setInterval(() => {
      for (let i = 0; i < 3; i++) sent.push(r!.tw.trade('binance', 'BTCUSDT', { price: sent.length }).price);
    }, 2);
    try {
      for (let cut = 1; cut <= 2; cut++) {
        const before = rec.count('trade');
        await until(() => rec.count('trade') > before + 50, 5000, 'trades flowing');
        proxy.cut();
        await until(() => rec.of('subscribed').filter((m) => m.resumed).length === cut, 5000, `resume #${cut}`);
      }
      await until(() => rec.count('trade') > sent.length / 2 + 50, 5000, 'trades flowing after the cuts');
    } finally {
      clearInterval(timer);
    }
    await until(() => rec.count('trade') === sent.length, 5000, 'the last trade');
    expect(rec.of('trade').map((m) => m.price)).toEqual(sent);
    expect(rec.count('gap')).toBe(0);
    expect(c.stats.reconnects).toBe(2);
  });
});

describe('a restarted server (new epoch) on the same port', () => {
  it('bars resync by snapshot with only what changed; trades report a restart gap; the stream goes on', async () => {
    const tw = new FakeTickwire();
    r = await startServer({}, tw);
    const port = r.port;
    const seeded = tw.seed('binance', 'BTCUSDT', '1m', 5, T0);
    const c = client(r.base);
    const bars = new Recorder();
    const trades = new Recorder();
    const epochs: { epoch: string; previous: string | null }[] = [];
    c.on('epoch', (e) => epochs.push(e));
    c.subscribe(B, bars.handlers(), { snapshot: 10 });
    c.subscribe(T, trades.handlers());
    await until(() => bars.count('snapshot') === 1 && trades.count('subscribed') === 1, 5000, 'both subscribed');
    for (let i = 0; i < 3; i++) tw.trade('binance', 'BTCUSDT');
    const forming = seeded.at(-1)!;
    tw.bar('binance', 'BTCUSDT', '1m', { ...forming, close: 201, high: 203 });
    await until(() => trades.count('trade') === 3 && bars.count('bar') === 1, 5000, 'live messages');
    const lastTradeSeq = trades.of('trade').at(-1).seq;

    await r.server.close();
    r = undefined;
    await until(() => c.state === 'reconnecting', 5000, 'the client to notice');
    // While down: a closed bar amended, the forming bar closes, a new one forms.
    tw.bar('binance', 'BTCUSDT', '1m', { ...seeded[3]!, close: 150, revision: 1 });
    tw.bar('binance', 'BTCUSDT', '1m', { ...forming, close: 202, high: 203, closed: true });
    const next = makeBar(forming.openTime + MIN, MIN, 300, false);
    tw.bar('binance', 'BTCUSDT', '1m', next);

    const server2 = await listenAgain(tw, port);
    await until(() => bars.of('snapshot').some((m) => m.resync), 10_000, 'the resync snapshot');
    expect(epochs).toHaveLength(2);
    expect(epochs[1]!.previous).toBe(epochs[0]!.epoch);
    expect(epochs[1]!.epoch).not.toBe(epochs[0]!.epoch);

    expect(trades.of('gap')).toEqual([{ type: 'gap', channel: T, fromSeq: lastTradeSeq + 1, toSeq: null, reason: 'restart' }]);
    const resync = bars.of('snapshot').find((m) => m.resync);
    expect(resync.bars.map((b: BarJson) => [b.openTime, b.close, b.closed, b.revision])).toEqual([
      [seeded[3]!.openTime, 150, true, 1],
      [forming.openTime, 202, true, 0],
      [next.openTime, next.close, false, 0],
    ]);

    // The new epoch's stream continues; the bars the subscriber holds equal the server's candles.
    tw.trade('binance', 'BTCUSDT', { price: 4242 });
    tw.bar('binance', 'BTCUSDT', '1m', { ...next, close: 333, high: 333 });
    await until(() => trades.count('trade') === 4 && bars.count('bar') === 2, 5000, 'new-epoch messages');
    expect(trades.of('trade').at(-1)).toMatchObject({ price: 4242 });
    expect(trades.count('gap')).toBe(1);
    expect(bars.count('gap')).toBe(0);
    const http = await c.candles('binance', 'BTCUSDT', '1m', { limit: 100 });
    expect(reconstruct(bars)).toEqual(http.candles);
    expect(server2.connections).toBe(1);
  });

  it('a subscription resumed across a restart keeps its wildcard: channels in the new server are joined', async () => {
    const tw = new FakeTickwire();
    r = await startServer({}, tw);
    const port = r.port;
    const c = client(r.base);
    const rec = new Recorder();
    c.subscribe('trades:kraken:*', rec.handlers());
    await until(() => rec.count('subscribed') === 1, 5000, 'subscribed');
    expect(rec.of('subscribed')[0].channels).toEqual(['trades:kraken:XBT/USD', 'trades:kraken:ETH/USD']);
    tw.trade('kraken', 'ETH/USD');
    await until(() => rec.count('trade') === 1, 5000, 'a trade');
    await r.server.close();
    r = undefined;
    await listenAgain(tw, port);
    await until(() => rec.of('subscribed').some((m) => m.resumed), 10_000, 'the re-subscribe');
    tw.trade('kraken', 'XBT/USD');
    tw.trade('kraken', 'ETH/USD');
    await until(() => rec.count('trade') === 3, 5000, 'trades on both channels');
    expect(rec.of('gap').map((g) => [g.channel, g.reason])).toEqual([
      ['trades:kraken:XBT/USD', 'restart'],
      ['trades:kraken:ETH/USD', 'restart'],
    ]);
    expect(rec.of('trade').slice(1).map((m) => `${m.symbol}#${m.seq}`)).toEqual(['XBT/USD#1', 'ETH/USD#1']);
  });
});

/**
 * The live path through the library face, over real loopback sockets: a fake
 * Binance replays the recorded frames to the exchange worker; trades, quotes
 * and bars come out of `createTickwire`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Tickwire } from '../../src/api/types.ts';
import type { TradeEvent, QuoteEvent } from '../../src/model/events.ts';
import { createTickwire, type TickwireRuntime } from '../../src/api/tickwire.ts';
import type { BinanceProtocolServer } from '../../src/sim/binance-protocol-server.ts';
import { binanceDerived1mBars } from '../support/fixtures.ts';
import { bookTickerFrames, longTradeFrames, startFakeBinance } from '../support/fake-binance.ts';
import { until } from '../support/until.ts';

const frames = longTradeFrames();
const derived = binanceDerived1mBars();

let fake: BinanceProtocolServer | undefined;
let tickwire: Tickwire | undefined;

afterEach(async () => {
  await tickwire?.stop();
  await fake?.stop();
  tickwire = undefined;
  fake = undefined;
});

async function setup() {
  fake = await startFakeBinance();
  tickwire = createTickwire(
    {
      timeframes: ['1m', '5m'],
      exchanges: { binance: { url: fake.url, symbols: ['BTCUSDT'], channels: ['trades', 'quotes'] } },
    },
    { statusMs: 100, tickMs: 50, connection: { backoffBaseMs: 20, backoffMaxMs: 200 }, supervisor: { restartDelayMs: 20 } },
  );
  const trades: TradeEvent[] = [];
  const quotes: QuoteEvent[] = [];
  tickwire.on('trade', (t) => trades.push(t));
  tickwire.on('quote', (q) => quotes.push(q));
  await tickwire.start();
  const server = fake;
  await until(() => server.subscriptions().some((s) => s.includes('btcusdt@trade')), 10_000, 'the worker to subscribe');
  return { fake: server, tickwire, trades, quotes };
}

describe('live path: fake Binance → worker → shared memory → library face', () => {
  it('delivers every recorded trade once, sides right, and bars equal the exchange klines', async () => {
    const { fake, tickwire, trades } = await setup();
    expect(fake.received.some((m) => m.includes('"SUBSCRIBE"') && m.includes('btcusdt@bookTicker'))).toBe(true);
    for (const f of frames) fake.sendRaw(f);
    await until(() => trades.length >= frames.length, 20_000, 'all trades');
    expect(trades.map((t) => t.tradeId)).toEqual(frames.map((f) => JSON.parse(f).data.t));
    const first = JSON.parse(frames[0]!).data;
    expect(trades[0]).toMatchObject({ exchange: 'binance', symbol: 'BTCUSDT', price: 61837.63, size: 0.02, side: 'sell', ts: first.T });
    expect(trades.filter((t) => t.side === 'buy')).toHaveLength(frames.filter((f) => f.includes('"m":false')).length);

    const closed = tickwire.bars('binance', 'BTC-USDT', '1m', { closed: true });
    for (const want of derived.filter((b) => b.complete)) {
      const got = closed.find((b) => b.openTime === want.openTime);
      expect(got).toMatchObject({
        open: want.open, high: want.high, low: want.low, close: want.close,
        volume: want.volume, quoteVolume: want.quoteVolume, buyVolume: want.buyVolume, trades: want.trades, closed: true,
      });
    }
    expect(tickwire.currentBar('binance', 'BTCUSDT', 'M1')).toMatchObject({ openTime: derived.at(-1)!.openTime, trades: derived.at(-1)!.trades, closed: false });
    await until(() => tickwire.status().exchanges['binance']!.trades === frames.length, 5_000, 'status');
    expect(tickwire.status().exchanges['binance']).toMatchObject({ state: 'connected', reconnects: 0, parseErrors: 0, duplicateTradesDropped: 0 });
  });

  it('quotes flow from bookTicker, stamped with an exchange-time estimate', async () => {
    const { fake, quotes } = await setup();
    const tickers = bookTickerFrames();
    expect(tickers.length).toBeGreaterThan(10);
    for (const f of tickers) fake.sendRaw(f);
    await until(() => quotes.length === tickers.length, 10_000, 'quotes');
    const d = JSON.parse(tickers[0]!).data;
    expect(quotes[0]).toMatchObject({ symbol: 'BTCUSDT', bidPrice: Number(d.b), bidSize: Number(d.B), askPrice: Number(d.a), askSize: Number(d.A) });
    expect(Number.isFinite(quotes[0]!.ts)).toBe(true);
  });

  it('a malformed frame is counted and the stream goes on', async () => {
    const { fake, tickwire, trades } = await setup();
    fake.sendRaw('{"stream":"btcusdt@trade","data":{"e":"trade","s":"BTCUSDT","t":1,"p":"oops","q":"1","T":1,"m":true}}');
    fake.sendRaw('not json at all');
    for (const f of frames.slice(0, 100)) fake.sendRaw(f);
    await until(() => trades.length === 100, 10_000, 'trades after garbage');
    await until(() => tickwire.status().exchanges['binance']!.parseErrors === 2, 5_000, 'parse errors counted');
    expect(await tickwire.metrics()).toMatch(/tickwire_parse_errors_total\{exchange="binance"\} 2/);
  });

  it('a trade stamped far in the future is refused and counted; later trades are not made late by it', async () => {
    const { fake, tickwire, trades } = await setup();
    const future = Date.now() + 3_600_000;
    fake.sendRaw(`{"stream":"btcusdt@trade","data":{"e":"trade","E":${future},"s":"BTCUSDT","t":1,"p":"1","q":"1","T":${future},"m":true}}`);
    const now = Date.now();
    fake.sendRaw(`{"stream":"btcusdt@trade","data":{"e":"trade","E":${now},"s":"BTCUSDT","t":2,"p":"2","q":"1","T":${now},"m":true}}`);
    await until(() => trades.length === 1, 10_000, 'the trade after it');
    expect(trades[0]).toMatchObject({ tradeId: 2, price: 2 });
    await until(() => tickwire.status().exchanges['binance']!.parseErrors === 1, 5_000, 'the future trade counted');
    expect(tickwire.status().exchanges['binance']).toMatchObject({ lateTradesDropped: 0 });
    expect(tickwire.currentBar('binance', 'BTCUSDT', '1m')).toMatchObject({ trades: 1, close: 2 });
  });

  it('the exchange drops the connection mid-stream: reconnect, re-subscribe, overlap de-duplicated', async () => {
    const { fake, tickwire, trades } = await setup();
    const half = 5_000;
    for (const f of frames.slice(0, half)) fake.sendRaw(f);
    await until(() => trades.length === half, 10_000, 'first half');
    fake.dropConnections();
    await until(() => fake.connectionCount === 2 && fake.subscriptions().some((s) => s.includes('btcusdt@trade')), 10_000, 're-subscription');
    // The venue resends the last 300 trades before the drop (a reconnect overlap), then goes on.
    for (const f of frames.slice(half - 300)) fake.sendRaw(f);
    await until(() => trades.length === frames.length, 20_000, 'the rest');
    await new Promise((r) => setTimeout(r, 100));
    expect(trades).toHaveLength(frames.length);
    expect(new Set(trades.map((t) => t.tradeId)).size).toBe(frames.length);
    await until(() => tickwire.status().exchanges['binance']!.duplicateTradesDropped === 300, 5_000, 'duplicates counted');
    expect(tickwire.status().exchanges['binance']!.reconnects).toBe(1);
    const bar = tickwire.bars('binance', 'BTCUSDT', '1m', { closed: true }).find((b) => b.openTime === derived[3]!.openTime);
    expect(bar?.trades).toBe(derived[3]!.trades);
  });

  it('a crashed worker is restarted with the same buffers: bars from before the crash are still there and grow on', async () => {
    const { fake, tickwire, trades } = await setup();
    const runtime = tickwire as TickwireRuntime;
    const cut = 6_000;
    for (const f of frames.slice(0, cut)) fake.sendRaw(f);
    await until(() => trades.length === cut, 10_000, 'trades before the crash');
    const before = tickwire.bars('binance', 'BTCUSDT', '1m');
    runtime.injectWorkerFault('binance', 'crash');
    await until(() => tickwire.status().exchanges['binance']!.restarts === 1, 10_000, 'a restart');
    expect(tickwire.status().exchanges['binance']!.lastCrash).toMatch(/worker crashed: crash requested/);
    await until(() => fake.connectionCount === 2 && fake.subscriptions().some((s) => s.includes('btcusdt@trade')), 10_000, 're-subscription');
    expect(tickwire.bars('binance', 'BTCUSDT', '1m')).toEqual(before);
    for (const f of frames.slice(cut)) fake.sendRaw(f);
    await until(() => trades.length === frames.length, 20_000, 'trades after the restart');
    const closed = tickwire.bars('binance', 'BTCUSDT', '1m', { closed: true });
    for (const want of derived.filter((b) => b.complete)) {
      const got = closed.find((b) => b.openTime === want.openTime)!;
      expect([got.open, got.high, got.low, got.close, got.trades]).toEqual([want.open, want.high, want.low, want.close, want.trades]);
      expect(got.volume.toFixed(8)).toBe(want.volume.toFixed(8));
    }
    expect(tickwire.status().exchanges['binance']!.state).toBe('connected');
  });

  it('a hung worker (no status reports) is replaced', async () => {
    fake = await startFakeBinance();
    const runtime = createTickwire(
      { timeframes: ['1m'], exchanges: { binance: { url: fake.url, symbols: ['BTCUSDT'] } } },
      { statusMs: 100, tickMs: 50, supervisor: { hangTimeoutMs: 500, restartDelayMs: 20 } },
    ) as TickwireRuntime;
    tickwire = runtime;
    await runtime.start();
    const server = fake;
    await until(() => server.connectionCount === 1 && server.subscriptions().length === 1, 10_000, 'first connection');
    runtime.injectWorkerFault('binance', 'hang');
    await until(() => runtime.status().exchanges['binance']!.restarts === 1, 10_000, 'the hung worker to be replaced');
    await until(() => runtime.status().exchanges['binance']!.state === 'connected', 10_000, 'the new worker to connect');
    expect(await runtime.metrics()).toMatch(/tickwire_worker_restarts_total\{exchange="binance"\} 1/);
  });

  it('stop() leaves no handle behind: no socket, timer or worker', async () => {
    const before = process.getActiveResourcesInfo();
    const { fake: server, tickwire: tw, trades } = await setup();
    for (const f of frames.slice(0, 200)) server.sendRaw(f);
    await until(() => trades.length === 200, 10_000, 'trades');
    await tw.stop();
    await server.stop();
    tickwire = undefined;
    fake = undefined;
    await new Promise((r) => setTimeout(r, 50));
    // Nothing more of any kind than before (vitest's own timers may come and go).
    const count = (list: string[]) => list.reduce((m, r) => m.set(r, (m.get(r) ?? 0) + 1), new Map<string, number>());
    const was = count(before);
    for (const [kind, n] of count(process.getActiveResourcesInfo())) expect(n, kind).toBeLessThanOrEqual(was.get(kind) ?? 0);
  });

  it('more streams than one connection may carry: several connections, each within the limits', async () => {
    fake = await startFakeBinance(); // enforces 1024 streams and 5 messages per second per connection
    const symbols = Array.from({ length: 600 }, (_, i) => `S${i}USDT`);
    const trades: TradeEvent[] = [];
    tickwire = createTickwire(
      { timeframes: ['1m'], history: 10, exchanges: { binance: { url: fake.url, symbols } } },
      { statusMs: 100, tickMs: 50 },
    );
    tickwire.on('trade', (t) => trades.push(t));
    await tickwire.start();
    const server = fake;
    const streams = () => server.subscriptions().reduce((n, s) => n + s.length, 0);
    await until(() => streams() === 1200, 10_000, 'every stream subscribed');
    expect(server.subscriptions().map((s) => s.length).sort((a, b) => a - b)).toEqual([176, 1024]);
    expect(server.connections).toBe(2);
    for (const i of [0, 511, 512, 599]) {
      server.publish(`s${i}usdt@trade`, { e: 'trade', E: 1, s: `S${i}USDT`, t: i + 1, p: '10.5', q: '1', T: 1723161255342, m: false, M: true });
    }
    await until(() => trades.length === 4, 5_000, 'trades on both connections');
    expect(trades.map((t) => t.symbol).sort()).toEqual(['S0USDT', 'S511USDT', 'S512USDT', 'S599USDT']);
    await until(() => tickwire!.status().exchanges['binance']!.state === 'connected', 5_000, 'connected');
  });

  it('the venue announces a shutdown: reconnect at once, re-subscribe', async () => {
    const { fake, tickwire, trades } = await setup();
    fake.shutdown();
    await until(() => fake.connectionCount === 2 && fake.subscriptions().some((s) => s.includes('btcusdt@trade')), 5_000, 'reconnect');
    for (const f of frames.slice(0, 10)) fake.sendRaw(f);
    await until(() => trades.length === 10, 5_000, 'trades after the shutdown notice');
    await until(() => tickwire.status().exchanges['binance']!.reconnects === 1, 5_000, 'reconnect counted');
  });

  it('on a shutdown notice the new connection comes up before the old one goes: no trade lost in between', async () => {
    const { fake, tickwire, trades } = await setup();
    const sendTrades = (from: number, to: number) => {
      for (const f of frames.slice(from, to)) fake.publish('btcusdt@trade', JSON.parse(f).data);
    };
    sendTrades(0, 1_000);
    // The notice alone: the venue keeps streaming on the old connection for a while.
    fake.sendRaw('{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1723161255343}}');
    let next = 1_000;
    while (fake.connections < 2 || fake.subscriptions().filter((s) => s.includes('btcusdt@trade')).length < 2) {
      sendTrades(next, next + 20); // trades keep coming on the old connection during the handshake
      next += 20;
      await new Promise((r) => setTimeout(r, 5));
    }
    sendTrades(next, frames.length); // now on both connections until the old one is closed
    await until(() => fake.connections === 1, 5_000, 'the old connection closed');
    await until(() => trades.length === frames.length, 10_000, 'every trade');
    expect(new Set(trades.map((t) => t.tradeId)).size).toBe(frames.length);
    expect(tickwire.status().exchanges['binance']!.state).toBe('connected');
  });

  it('answers lookups with stable error codes', async () => {
    const { tickwire } = await setup();
    expect(() => tickwire.bars('kraken', 'BTCUSDT', '1m')).toThrow(expect.objectContaining({ code: 'EXCHANGE_NOT_FOUND' }));
    expect(() => tickwire.bars('binance', 'ETHUSDT', '1m')).toThrow(expect.objectContaining({ code: 'SYMBOL_NOT_FOUND' }));
    expect(() => tickwire.bars('binance', 'BTCUSDT', '7m')).toThrow(expect.objectContaining({ code: 'INVALID_TIMEFRAME' }));
    expect(() => tickwire.bars('binance', 'BTCUSDT', '1h')).toThrow(expect.objectContaining({ code: 'INVALID_TIMEFRAME' }));
    expect(tickwire.symbols()).toEqual({ binance: { BTCUSDT: ['1m', '5m'] } });
  });
});

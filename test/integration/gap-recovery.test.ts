/**
 * Gap recovery: the venue drops the connection and trades happen that the
 * WebSocket never delivers; after the reconnect they are fetched over REST
 * (a local fake of Binance's historicalTrades) and the bars come out as if
 * nothing had happened.
 */
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createTickwire } from '../../src/api/tickwire.ts';
import type { Tickwire } from '../../src/api/types.ts';
import type { TradeEvent } from '../../src/model/events.ts';
import { BinanceProtocolServer } from '../../src/sim/binance-protocol-server.ts';
import { binanceDerived1mBars } from '../support/fixtures.ts';
import { longTradeFrames, startFakeBinance } from '../support/fake-binance.ts';
import { until } from '../support/until.ts';

const frames = longTradeFrames();
const derived = binanceDerived1mBars();
const restTrades = frames.map((f) => {
  const d = JSON.parse(f).data;
  return { id: d.t, price: d.p, qty: d.q, quoteQty: '0', time: d.T, isBuyerMaker: d.m, isBestMatch: true };
});

let fake: BinanceProtocolServer | undefined;
let rest: Server | undefined;
let tickwire: Tickwire | undefined;

afterEach(async () => {
  await tickwire?.stop();
  await fake?.stop();
  await new Promise<void>((r) => (rest ? rest.close(() => r()) : r()));
  tickwire = undefined;
  fake = undefined;
  rest = undefined;
});

/** A fake REST API: GET /api/v3/historicalTrades?symbol=&fromId=&limit= from the recorded trades. */
async function startRest(failing = false): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  rest = createServer((req, res) => {
    requests.push(req.url ?? '');
    const u = new URL(req.url ?? '/', 'http://x');
    if (failing || u.pathname !== '/api/v3/historicalTrades' || u.searchParams.get('symbol') !== 'BTCUSDT') {
      res.writeHead(failing ? 500 : 404, { 'content-type': 'application/json' }).end('{"code":-1,"msg":"no"}');
      return;
    }
    const fromId = Number(u.searchParams.get('fromId'));
    const limit = Math.min(1000, Number(u.searchParams.get('limit') ?? 500));
    const page = restTrades.filter((t) => t.id >= fromId).slice(0, limit);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(page));
  });
  await new Promise<void>((r) => rest!.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(rest.address() as { port: number }).port}`, requests };
}

async function setup(restUrl: string) {
  fake = await startFakeBinance();
  tickwire = createTickwire(
    { timeframes: ['1m', '5m'], exchanges: { binance: { url: fake.url, restUrl, symbols: ['BTCUSDT'] } } },
    { statusMs: 100, tickMs: 50, connection: { backoffBaseMs: 20, backoffMaxMs: 100 } },
  );
  const trades: TradeEvent[] = [];
  tickwire.on('trade', (t) => trades.push(t));
  await tickwire.start();
  const f = fake;
  await until(() => f.subscriptions().some((s) => s.includes('btcusdt@trade')), 10_000, 'subscription');
  return { fake: f, tickwire, trades };
}

describe('gap recovery over REST', () => {
  it('a reconnect with 2,000 trades missed on the wire yields the same bars as an uninterrupted run', async () => {
    const api = await startRest();
    const { fake, tickwire, trades } = await setup(api.url);
    for (const f of frames.slice(0, 3_000)) fake.sendRaw(f);
    await until(() => trades.length === 3_000, 10_000, 'the first trades');
    fake.dropConnections();
    await until(() => fake.connectionCount === 2 && fake.subscriptions().some((s) => s.includes('btcusdt@trade')), 10_000, 're-subscription');
    for (const f of frames.slice(5_000)) fake.sendRaw(f); // trades 3,000–4,999 happened during the outage
    await until(() => trades.length === frames.length, 15_000, 'every trade, recovered or live');
    expect(trades.map((t) => t.tradeId)).toEqual(restTrades.map((t) => t.id)); // in order, once each
    expect(api.requests.some((r) => r.includes(`fromId=${restTrades[3_000]!.id}`))).toBe(true);
    const closed = tickwire.bars('binance', 'BTCUSDT', '1m', { closed: true });
    for (const want of derived.filter((b) => b.complete)) {
      const got = closed.find((b) => b.openTime === want.openTime);
      expect(got, `bar ${want.openTime}`).toMatchObject({
        open: want.open, high: want.high, low: want.low, close: want.close,
        volume: want.volume, quoteVolume: want.quoteVolume, buyVolume: want.buyVolume, trades: want.trades,
      });
    }
    await until(() => tickwire.status().exchanges['binance']!.recoveredTrades >= 2_000, 5_000, 'recovery counted');
    expect(tickwire.status().exchanges['binance']).toMatchObject({ reconnects: 1, unrecoveredGaps: 0 });
  });

  it('when the REST API fails, the gap is counted and reported, and the live stream goes on', async () => {
    const api = await startRest(true);
    const { fake, tickwire, trades } = await setup(api.url);
    for (const f of frames.slice(0, 1_000)) fake.sendRaw(f);
    await until(() => trades.length === 1_000, 10_000, 'the first trades');
    fake.dropConnections();
    await until(() => fake.connectionCount === 2 && fake.subscriptions().some((s) => s.includes('btcusdt@trade')), 10_000, 're-subscription');
    for (const f of frames.slice(2_000, 3_000)) fake.sendRaw(f);
    await until(() => trades.length === 2_000, 10_000, 'live trades after the failed recovery');
    await until(() => tickwire.status().exchanges['binance']!.unrecoveredGaps === 1, 5_000, 'the unrecovered gap');
    expect(tickwire.status().exchanges['binance']!.lastError).toMatch(/BTCUSDT: gap recovery failed: binance REST 500/);
    expect(await tickwire.metrics()).toMatch(/tickwire_unrecovered_gaps_total\{exchange="binance"\} 1/);
    expect(tickwire.bars('binance', 'BTCUSDT', '1m').some((b) => b.gapped === true)).toBe(true);
  });

  it('a venue with no trade history marks the bars over the outage gapped and says so in its status', async () => {
    fake = await startFakeBinance();
    // `simulated` speaks the Binance protocol but has no REST history to recover from.
    tickwire = createTickwire(
      { timeframes: ['1m'], exchanges: { simulated: { url: fake.url, symbols: ['BTCUSDT'] } } },
      { statusMs: 100, tickMs: 50, connection: { backoffBaseMs: 20, backoffMaxMs: 100 } },
    );
    const statuses: string[] = [];
    tickwire.on('status', (s) => statuses.push(s.lastError ?? ''));
    const trades: TradeEvent[] = [];
    tickwire.on('trade', (t) => trades.push(t));
    await tickwire.start();
    const f = fake;
    await until(() => f.subscriptions().some((s) => s.includes('btcusdt@trade')), 10_000, 'subscription');
    // 4,000 recorded trades span 3.6 minutes of 2024, sent in a burst: the data's clock runs far ahead of the local one.
    for (const fr of frames.slice(0, 4000)) f.sendRaw(fr);
    await until(() => trades.length === 4000, 10_000, 'trades');
    f.dropConnections();
    await until(() => tickwire!.status().exchanges['simulated']!.unrecoveredGaps === 1, 10_000, 'the gap reported');
    expect(statuses.some((s) => /serves no trade history: bars over the outage are marked gapped/.test(s))).toBe(true);
    expect(tickwire.currentBar('simulated', 'BTCUSDT', '1m')?.gapped).toBe(true);
    // The frames are a replay of 2024: the outage is placed after the last trade seen, in the data's own time.
    const lastSeen = JSON.parse(frames[3999]!).data.T as number;
    const bars = tickwire.bars('simulated', 'BTCUSDT', '1m');
    const lossy = bars.find((b) => b.openTime === Math.floor(lastSeen / 60_000) * 60_000);
    expect(lossy?.gapped).toBe(true);
    expect(bars.filter((b) => b.openTime < lossy!.openTime).every((b) => b.gapped !== true)).toBe(true);
  });
  it('the outage starts when the connection dropped, not when the reconnect after the backoff began: the bar forming at the drop is gapped', async () => {
    // Pings once a minute: the last sign of life is the last trade frame.
    fake = new BinanceProtocolServer({ pingIntervalMs: 60_000 });
    await fake.start();
    tickwire = createTickwire(
      { timeframes: ['1s'], exchanges: { simulated: { url: fake.url, symbols: ['BTCUSDT'] } } },
      // The reconnect comes 1.5–3 s after the drop: the 1 s bar forming at the drop has long closed by then.
      { statusMs: 100, tickMs: 50, connection: { backoffBaseMs: 3_000, backoffMaxMs: 3_000, backoffJitter: 'equal' } },
    );
    const trades: TradeEvent[] = [];
    tickwire.on('trade', (t) => trades.push(t));
    await tickwire.start();
    const f = fake;
    await until(() => f.subscriptions().some((s) => s.includes('btcusdt@trade')), 10_000, 'subscription');
    await until(() => Date.now() % 1000 < 200, 2_000, 'the start of a second');
    const second = Math.floor(Date.now() / 1000) * 1000;
    for (let i = 0; i < 10; i++) {
      const ts = Date.now();
      f.sendRaw(`{"stream":"btcusdt@trade","data":{"e":"trade","E":${ts},"s":"BTCUSDT","t":${1000 + i},"p":"50000.00","q":"0.10000000","T":${ts},"m":false,"M":true}}`);
    }
    await until(() => trades.length === 10, 10_000, 'trades');
    f.dropConnections();
    await until(() => tickwire!.status().exchanges['simulated']!.unrecoveredGaps === 1, 10_000, 'the gap reported');
    const bar = tickwire.bars('simulated', 'BTCUSDT', '1s').find((b) => b.openTime === second);
    expect(bar?.trades).toBe(10);
    expect(bar?.gapped).toBe(true);
  });
});

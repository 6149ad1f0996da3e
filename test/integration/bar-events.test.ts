/**
 * Bar events as subscribers see them: every close arrives even when all
 * series close at once, a forming bar never overtakes the close before it,
 * and a snapshot is continued by the live stream with no duplicate.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTickwire } from '../../src/api/tickwire.ts';
import type { Tickwire } from '../../src/api/types.ts';
import type { BarUpdate } from '../../src/model/events.ts';
import { createServer, type TickwireServer } from '../../src/server/server.ts';
import type { BinanceProtocolServer } from '../../src/sim/binance-protocol-server.ts';
import { startFakeBinance } from '../support/fake-binance.ts';
import { until } from '../support/until.ts';

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

function trade(symbol: string, id: number, ts: number, price: number): object {
  return { e: 'trade', E: ts, s: symbol, t: id, p: price.toFixed(8), q: '0.50000000', T: ts, m: id % 2 === 0, M: true };
}

async function start(symbols: string[], timeframes: string[], barRingCapacity?: number) {
  fake = await startFakeBinance();
  tickwire = createTickwire(
    { timeframes, history: 50, bars: { graceMs: 0 }, exchanges: { binance: { url: fake.url, symbols, channels: ['trades'] } } },
    { statusMs: 100, tickMs: 20, ...(barRingCapacity !== undefined ? { barRingCapacity } : {}) },
  );
  await tickwire.start();
  const f = fake;
  const streams = () => f.subscriptions().reduce((n, s) => n + s.length, 0);
  await until(() => streams() === symbols.length, 15_000, 'subscriptions');
  return { fake: f, tickwire };
}

describe('bar events', () => {
  it('800 series closing in the same clock tick through a 64-slot ring: every close arrives, nothing overflows', async () => {
    const symbols = Array.from({ length: 800 }, (_, i) => `S${i}USDT`);
    const { fake, tickwire } = await start(symbols, ['1s'], 64);
    const closes = new Set<string>();
    tickwire.on('barClose', (u) => closes.add(`${u.symbol}:${u.bar.openTime}`));
    const ts = Date.now();
    symbols.forEach((s, i) => fake.publish(`${s.toLowerCase()}@trade`, trade(s, i + 1, ts, 100 + i)));
    await until(() => symbols.every((s) => closes.has(`${s}:${ts - (ts % 1000)}`)), 10_000, 'a close for every series');
    expect(tickwire.status().exchanges['binance']!.ringOverflow).toBe(0);
  });

  it('a forming bar never overtakes the close of the bar before it', async () => {
    const { fake, tickwire } = await start(['BTCUSDT'], ['1s', '5s']);
    const events: BarUpdate[] = [];
    tickwire.on('bar', (u) => events.push(u));
    const t0 = Date.now() - 3_600_000; // an old stretch (all of it in the past), replayed fast: one trade per second bucket
    for (let i = 0; i < 3_000; i++) fake.publish('btcusdt@trade', trade('BTCUSDT', i + 1, t0 + i * 1_000 + 500, 100 + (i % 50)));
    await until(() => tickwire.status().exchanges['binance']!.trades === 3_000, 15_000, 'all trades');
    await new Promise((r) => setTimeout(r, 200));
    for (const tf of ['1s', '5s']) {
      let closedUpTo = -Infinity; // open time of the newest closed bar seen
      let lastForming = -Infinity;
      let inversions = 0;
      for (const e of events.filter((x) => x.timeframe === tf)) {
        if (e.bar.closed) closedUpTo = Math.max(closedUpTo, e.bar.openTime);
        else {
          const ms = tf === '1s' ? 1_000 : 5_000;
          if (lastForming !== -Infinity && e.bar.openTime > lastForming && closedUpTo < e.bar.openTime - ms) inversions++;
          lastForming = Math.max(lastForming, e.bar.openTime);
        }
      }
      expect(inversions, tf).toBe(0);
    }
  });

  it('a snapshot taken during a burst is continued by the live stream with no duplicate', async () => {
    const { fake, tickwire } = await start(['BTCUSDT'], ['1s']);
    server = createServer(tickwire, { host: '127.0.0.1', port: 0 });
    const { port } = await server.listen();
    const t0 = Date.now() - 600_000;
    let id = 0;
    const burst = (n: number) => {
      for (let i = 0; i < n; i++, id++) fake.publish('btcusdt@trade', trade('BTCUSDT', id + 1, t0 + id * 250, 100 + (id % 13)));
    };
    burst(400);
    const clients: { messages: any[] }[] = [];
    for (let c = 0; c < 8; c++) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/stream`);
      sockets.push(ws);
      const messages: any[] = [];
      ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
      await new Promise((r) => ws.once('open', r));
      burst(300); // trades in flight while this client subscribes
      ws.send(JSON.stringify({ op: 'subscribe', id: 1, channels: ['bars:binance:BTCUSDT:1s'], snapshot: 1000 }));
      clients.push({ messages });
      await until(() => messages.some((m) => m.type === 'snapshot'), 5_000, 'snapshot');
    }
    burst(300); // and more after the last one joined
    await until(() => tickwire.status().exchanges['binance']!.trades === id, 10_000, 'all trades');
    await new Promise((r) => setTimeout(r, 300));
    for (const { messages } of clients) {
      const snapshot = messages.find((m) => m.type === 'snapshot');
      expect(snapshot).toBeDefined();
      const key = (b: any) => JSON.stringify({ ...b, type: undefined, channel: undefined, seq: undefined });
      const inSnapshot = new Set(snapshot.bars.map(key));
      const live = messages.filter((m) => m.type === 'bar');
      expect(live.length).toBeGreaterThan(0);
      expect(live.filter((m) => inSnapshot.has(key(m))), 'live bars repeating the snapshot').toEqual([]);
      expect(live[0].seq).toBe(snapshot.seq + 1);
      // Snapshot plus live updates end where the server's candles are.
      const latest = new Map<number, any>();
      for (const b of [...snapshot.bars, ...live]) latest.set(b.openTime, b);
      const http = tickwire.bars('binance', 'BTCUSDT', '1s', snapshot.bars.length > 0 ? { start: snapshot.bars[0].openTime } : {});
      for (const b of http) expect(latest.get(b.openTime)?.trades, `bar ${b.openTime}`).toBe(b.trades);
    }
  });
});

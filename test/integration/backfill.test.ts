/**
 * Backfill after downtime: storage holds bars up to an hour ago; on start the
 * missing closed bars come from a local fake of Binance's klines endpoint and
 * the HTTP API serves the hour complete, each of those bars marked backfilled,
 * without touching or duplicating what storage held.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTickwire } from '../../src/api/tickwire.ts';
import type { Tickwire } from '../../src/api/types.ts';
import { BAR_FIELDS, BarField as F } from '../../src/model/records.ts';
import { createServer, type TickwireServer } from '../../src/server/server.ts';
import type { BinanceProtocolServer } from '../../src/sim/binance-protocol-server.ts';
import { BarDb } from '../../src/storage/bar-db.ts';
import { startFakeBinance } from '../support/fake-binance.ts';

const S = 1_000;
const M = 60_000;
let dir = '';
let rest: Server | undefined;
let fake: BinanceProtocolServer | undefined;
let tickwire: Tickwire | undefined;
let server: TickwireServer | undefined;

afterEach(async () => {
  await server?.close();
  await tickwire?.stop();
  await fake?.stop();
  await new Promise<void>((r) => (rest ? rest.close(() => r()) : r()));
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
  server = tickwire = fake = rest = undefined;
  dir = '';
});

/** The price the fake venue had at `openTime` (deterministic, so expectations can be computed). */
const priceAt = (openTime: number) => 60_000 + ((openTime / S) % 997);

/** A fake GET /api/v3/klines: any symbol, intervals 1s and 1m, pages of at most `limit` (≤ 1000). */
async function startKlines(): Promise<{ url: string; requests: URLSearchParams[] }> {
  const requests: URLSearchParams[] = [];
  rest = createHttpServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    requests.push(u.searchParams);
    const ms = { '1s': S, '1m': M }[u.searchParams.get('interval') ?? ''];
    if (u.pathname !== '/api/v3/klines' || ms === undefined) {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"code":-1120,"msg":"Invalid interval."}');
      return;
    }
    const start = Math.ceil(Number(u.searchParams.get('startTime')) / ms) * ms;
    const end = Number(u.searchParams.get('endTime'));
    const limit = Math.min(1000, Number(u.searchParams.get('limit') ?? 500));
    const page = [];
    for (let t = start; t <= end && page.length < limit; t += ms) {
      const p = priceAt(t);
      page.push([t, p.toFixed(2), (p + 5).toFixed(2), (p - 5).toFixed(2), (p + 1).toFixed(2), '2.00000000', t + ms - 1, (2 * p).toFixed(8), 7, '1.50000000', (1.5 * p).toFixed(8), '0']);
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(page));
  });
  await new Promise<void>((r) => rest!.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(rest.address() as { port: number }).port}`, requests };
}

/** A stored live bar (what the previous process wrote before it went down). */
function liveBar(openTime: number, ms: number): Float64Array {
  const r = new Float64Array(BAR_FIELDS);
  r.set([openTime, openTime + ms - 1, 50, 51, 49, 50, 3, 150, 2, 1, 4, 100, 103, 50, NaN, 1, 0, 0, 0]);
  return r;
}

describe('backfill', () => {
  it('after an hour of downtime, every missing closed bar is fetched, marked backfilled, and served; stored bars stay as they were', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'tickwire-backfill-'));
    const now = Date.now();
    const downSince = Math.floor(now / M) * M - 60 * M; // the previous process wrote its last 1m bar an hour ago
    const db = new BarDb(dir);
    const stored = Array.from({ length: 30 }, (_, i) => downSince - (30 - i) * M);
    await db.write(stored.map((t) => ({ series: 'binance:BTCUSDT:1m', record: liveBar(t, M) })));
    await db.close();

    const klines = await startKlines();
    fake = await startFakeBinance();
    tickwire = createTickwire(
      {
        timeframes: ['1s', '1m'],
        history: { '1s': 1500, '1m': 200 },
        exchanges: { binance: { url: fake.url, restUrl: klines.url, symbols: ['BTCUSDT'] } },
        storage: { path: dir, flushMs: 100 },
      },
      { tickMs: 50, statusMs: 100 },
    );
    server = createServer(tickwire, { port: 0 });
    const { port } = await server.listen();
    await tickwire.start();
    const get = async (q: string) => (await (await fetch(`http://127.0.0.1:${port}/v1/candles/binance/BTCUSDT/${q}`)).json()) as { candles: Record<string, unknown>[] };

    const lastClosed1m = Math.floor(now / M) * M - M;
    const missing1m = (lastClosed1m - downSince) / M + 1; // the hour: 60 bars
    expect(missing1m).toBe(60);
    const all1m = (await get('1m?closed=true&limit=200')).candles;
    const m1 = all1m.filter((c) => (c.openTime as number) <= lastClosed1m);
    // Backfill reads its own clock at start: when a minute turned since `now`, it fetched that minute's bar too.
    const backfilled1m = all1m.filter((c) => c.source === 'backfill').length;
    expect([missing1m, missing1m + 1]).toContain(backfilled1m);
    // Contiguous from the oldest stored bar to the last bucket closed at start: no hole, no duplicate.
    expect(m1.map((c) => c.openTime)).toEqual(Array.from({ length: 30 + missing1m }, (_, i) => stored[0]! + i * M));
    for (const c of m1) {
      if ((c.openTime as number) < downSince) {
        expect(c).toMatchObject({ open: 50, close: 50, trades: 4, revision: 0 });
        expect(c.source).toBeUndefined();
      } else {
        const p = priceAt(c.openTime as number);
        expect(c).toMatchObject({ open: +p.toFixed(2), high: +(p + 5).toFixed(2), low: +(p - 5).toFixed(2), close: +(p + 1).toFixed(2), volume: 2, trades: 7, buyVolume: 1.5, sellVolume: 0.5, closed: true, revision: 0, source: 'backfill' });
      }
    }
    // 1s: 1500 bars of history need two pages of 1000.
    const s1 = (await get('1s?closed=true&limit=1500')).candles.filter((c) => c.source === 'backfill');
    expect(s1.length).toBeGreaterThanOrEqual(1499);
    expect(klines.requests.filter((q) => q.get('interval') === '1s').length).toBe(2);
    expect(tickwire.status().storage).toMatchObject({ backfilledBars: backfilled1m + s1.length, problems: [] });
    expect(await tickwire.metrics()).toContain(`tickwire_bars_backfilled_total ${backfilled1m + s1.length}\n`);

    // The backfilled bars are stored, marked, for the next start.
    await server.close();
    await tickwire.stop();
    server = undefined;
    const again = new BarDb(dir);
    const sources: number[] = [];
    again.load('binance:BTCUSDT:1m', downSince, (r) => sources.push(r[F.SOURCE]!));
    await again.close();
    expect(sources.length).toBeGreaterThanOrEqual(60);
    expect(new Set(sources)).toEqual(new Set([1]));
    tickwire = undefined;
  });

  it('a venue that fails or hangs: start goes on live after the timeout, and status says what is missing', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'tickwire-backfill-'));
    rest = createHttpServer(() => {
      /* never answers */
    });
    await new Promise<void>((r) => rest!.listen(0, '127.0.0.1', () => r()));
    fake = await startFakeBinance();
    tickwire = createTickwire(
      {
        timeframes: ['1m', '5s'],
        exchanges: { binance: { url: fake.url, restUrl: `http://127.0.0.1:${(rest.address() as { port: number }).port}`, symbols: ['BTCUSDT'] } },
        storage: { path: dir, backfillTimeoutMs: 300 },
      },
      { tickMs: 50, statusMs: 100 },
    );
    const t = performance.now();
    await tickwire.start();
    expect(performance.now() - t).toBeLessThan(10_000);
    const problems = tickwire.status().storage!.problems;
    expect(problems).toContain('binance BTCUSDT 1m: timed out after 300 ms');
    expect(problems).toContain('binance BTCUSDT 5s: the venue has no kline interval for it');
  });
});

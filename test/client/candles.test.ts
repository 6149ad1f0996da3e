/** `candles()` through its fallback chain (HTTP API → in-process tickwire → user source) and `health()`, over loopback. */
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CandlesUnavailableError, TickwireClient, type CandleSource } from '../../src/client/index.ts';
import { ErrorCode, InvalidParameterError, InvalidTimeframeError } from '../../src/errors.ts';
import { FakeTickwire } from '../support/fake-tickwire.ts';
import { startServer, type Running } from '../server/helpers.ts';

const MIN = 60_000;
const T0 = Date.UTC(2024, 7, 9, 0, 0);
/** The deadline of the steps that must time out (a black hole, a hanging source). */
const SHORT_TIMEOUT = 300;
/** The deadline of steps that answer: generous, so a loaded machine never turns an answer into a timeout. */
const TIMEOUT = 10_000;

/** A TCP server that accepts connections and never answers: the HTTP step can only time out. */
async function blackHole(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createNetServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port nobody listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const hole = await blackHole();
  await hole.close();
  return hole.port;
}

let r: Running | undefined;
let cleanups: (() => Promise<void>)[];

beforeEach(() => {
  cleanups = [];
});

afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  await r?.server.close();
  r = undefined;
});

function client(url: string, candles: NonNullable<ConstructorParameters<typeof TickwireClient>[0]>['candles'] = {}): TickwireClient {
  const c = new TickwireClient({ url, candles: { timeoutMs: TIMEOUT, ...candles } });
  cleanups.push(() => c.close());
  return c;
}

describe('candles(): HTTP first', () => {
  it('reads the API, honouring limit, start/end and closed; symbols and timeframes in any accepted form', async () => {
    r = await startServer();
    const seeded = r.tw.seed('binance', 'BTCUSDT', '1m', 10, T0);
    const c = client(r.base);
    const all = await c.candles('binance', 'BTC-USDT', 'M1', { limit: 100 });
    expect(all).toMatchObject({ source: 'http', failures: [], exchange: 'binance', symbol: 'BTCUSDT', timeframe: '1m', count: 11 });
    expect(all.candles.map((b) => b.openTime)).toEqual(seeded.map((b) => b.openTime));
    expect(all.candles.at(-1)!.closed).toBe(false);
    expect(all.candles[0]).not.toHaveProperty('firstTradeId');

    const some = await c.candles('binance', 'BTCUSDT', '1m', { start: T0 + 2 * MIN, end: T0 + 4 * MIN });
    expect(some.candles.map((b) => b.openTime)).toEqual([T0 + 2 * MIN, T0 + 3 * MIN, T0 + 4 * MIN]);
    const closed = await c.candles('binance', 'BTCUSDT', '1m', { closed: true, limit: 2 });
    expect(closed.candles.map((b) => [b.openTime, b.closed])).toEqual([[T0 + 8 * MIN, true], [T0 + 9 * MIN, true]]);
  });

  it('a bad query fails at once with its code, and no source is asked', async () => {
    r = await startServer();
    let asked = 0;
    const c = client(r.base, { source: async () => (asked++, []) });
    await expect(c.candles('binance', 'BTCUSDT', '7m')).rejects.toBeInstanceOf(InvalidTimeframeError);
    await expect(c.candles('binance', 'BTCUSDT', '1m', { limit: 0 })).rejects.toBeInstanceOf(InvalidParameterError);
    await expect(c.candles('binance', 'BTCUSDT', '1m', { start: 5, end: 1 })).rejects.toThrow(/start/);
    await expect(c.candles('', 'BTCUSDT', '1m')).rejects.toThrow(/exchange/);
    expect(asked).toBe(0);
  });
});

describe('candles(): the fallback chain', () => {
  it('server stopped: the in-process tickwire answers the same bars, and the result names the HTTP failure', async () => {
    r = await startServer();
    r.tw.seed('binance', 'ETHUSDT', '5m', 4, T0);
    const c = client(r.base, { tickwire: r.tw });
    const viaHttp = await c.candles('binance', 'ETHUSDT', '5m');
    await r.server.close();
    const viaTw = await c.candles('binance', 'ETH-USDT', '5m');
    expect(viaTw.source).toBe('tickwire');
    expect(viaTw.failures).toHaveLength(1);
    expect(viaTw.failures[0]).toMatchObject({ source: 'http', kind: 'error', code: null });
    expect(viaTw.failures[0]!.message).toMatch(/ECONNREFUSED/);
    expect(viaTw.candles).toEqual(viaHttp.candles);
    expect(viaTw.symbol).toBe('ETHUSDT');
  });

  it('an API that never answers times out and hands over; a tickwire that errors hands over; the user source answers (filtered to the query)', async () => {
    const hole = await blackHole();
    cleanups.push(() => hole.close());
    const tw = new FakeTickwire();
    tw.notRunning.add('binance');
    const seen: unknown[] = [];
    const source: CandleSource = async (exchange, symbol, timeframe, query) => {
      seen.push({ exchange, symbol, timeframe, query });
      const bars = new FakeTickwire().seed('binance', 'BTCUSDT', '1m', 6, T0);
      return [...bars].reverse(); // any order: the chain sorts
    };
    const c = client(`http://127.0.0.1:${hole.port}`, { tickwire: tw, source, timeoutMs: SHORT_TIMEOUT });
    const got = await c.candles('binance', 'BTCUSDT', '1m', { limit: 3, closed: true });
    expect(got.source).toBe('custom');
    expect(got.failures.map((f) => [f.source, f.kind, f.code])).toEqual([
      ['http', 'timeout', null],
      ['tickwire', 'error', ErrorCode.EXCHANGE_NOT_RUNNING],
    ]);
    expect(got.candles.map((b) => b.openTime)).toEqual([T0 + 3 * MIN, T0 + 4 * MIN, T0 + 5 * MIN]);
    expect(got.candles.every((b) => b.closed)).toBe(true);
    expect(seen).toEqual([{ exchange: 'binance', symbol: 'BTCUSDT', timeframe: '1m', query: { limit: 3, start: undefined, end: undefined, closed: true } }]);
  });

  it('every step failing (the last one hanging past its deadline) throws CandlesUnavailableError naming each; the hanging source is aborted', async () => {
    const port = await deadPort();
    const tw = new FakeTickwire();
    let aborted = false;
    const source: CandleSource = (_e, _s, _t, _q, signal) =>
      new Promise((resolve) => {
        signal.addEventListener('abort', () => {
          aborted = true;
          resolve([]); // too late: the chain has moved on
        });
      });
    const c = client(`http://127.0.0.1:${port}`, { tickwire: tw, source, timeoutMs: SHORT_TIMEOUT });
    const err = await c.candles('binance', 'NOPE', '1m').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CandlesUnavailableError);
    const e = err as CandlesUnavailableError;
    expect(e.failures.map((f) => [f.source, f.kind, f.code])).toEqual([
      ['http', 'error', null],
      ['tickwire', 'error', ErrorCode.SYMBOL_NOT_FOUND],
      ['custom', 'timeout', null],
    ]);
    expect(e.code).toBe(ErrorCode.EXCHANGE_NOT_RUNNING); // the steps disagree
    expect(e.message).toMatch(/http: .*ECONNREFUSED.*; tickwire: .*NOPE.*; custom: timed out/);
    expect(aborted).toBe(true);
  });

  it('when every step says the same code, that code is the error code; a malformed user answer is a failure naming the field', async () => {
    r = await startServer();
    const c = client(r.base, { tickwire: r.tw });
    const err = (await c.candles('binance', 'DOGEUSDT', '1m').catch((e: unknown) => e)) as CandlesUnavailableError;
    expect(err.code).toBe(ErrorCode.SYMBOL_NOT_FOUND);
    expect(err.failures.map((f) => f.code)).toEqual([ErrorCode.SYMBOL_NOT_FOUND, ErrorCode.SYMBOL_NOT_FOUND]);

    const bad = client(r.base, { source: async () => [{ openTime: T0, open: 1 }] as never });
    const e2 = (await bad.candles('binance', 'DOGEUSDT', '1m').catch((e: unknown) => e)) as CandlesUnavailableError;
    expect(e2.failures[1]).toMatchObject({ source: 'custom', kind: 'error', code: null });
    expect(e2.failures[1]!.message).toMatch(/bar 0: closeTime/);
  });
});

describe('health()', () => {
  it('ok, unavailable with the server reasons, and unreachable', async () => {
    r = await startServer();
    const c = client(r.base);
    expect(await c.health()).toEqual({ status: 'ok', reasons: [], httpStatus: 200 });
    r.tw.healthReport = { status: 'unavailable', reasons: ['binance: not connected for 31 s'] };
    expect(await c.health()).toEqual({ status: 'unavailable', reasons: ['binance: not connected for 31 s'], httpStatus: 503 });
    await r.server.close();
    const down = await c.health();
    expect(down.status).toBe('unavailable');
    expect(down.httpStatus).toBeNull();
    expect(down.reasons[0]).toMatch(/^server unreachable: request failed/);
  });
});

/**
 * `GET /v1/candles/...?format=fbs` over a real uWebSockets.js server on
 * loopback: the FlatBuffers answer decodes to exactly the JSON answer for the
 * same query; errors stay JSON with their codes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCandles } from '../../src/wire/fbs.ts';
import { makeBar } from '../support/fake-tickwire.ts';
import { startServer, type Running } from '../server/helpers.ts';

const MIN = 60_000;
const T0 = Date.UTC(2024, 7, 9, 0, 0);

let r: Running;

beforeAll(async () => {
  r = await startServer();
  r.tw.seed('binance', 'BTCUSDT', '1m', 5, T0, 100); // 5 closed + forming; every other bar has a spread
  r.tw.seed('kraken', 'XBT/USD', '1m', 3, T0, 200);
  // Edge values on the 5m series: no volume (null vwap), gapped, backfilled, amended, forming.
  const tf = 5 * MIN;
  r.tw.putBar('binance', 'ETHUSDT', '5m', makeBar(T0, tf, 3000, true, { vwap: null, volume: 0, quoteVolume: 0, buyVolume: 0, sellVolume: 0, trades: 0 }));
  r.tw.putBar('binance', 'ETHUSDT', '5m', makeBar(T0 + tf, tf, 3001, true, { gapped: true, spread: 0.02 }));
  r.tw.putBar('binance', 'ETHUSDT', '5m', makeBar(T0 + 2 * tf, tf, 3002, true, { source: 'backfill', revision: 2 }));
  r.tw.putBar('binance', 'ETHUSDT', '5m', makeBar(T0 + 3 * tf, tf, 3003.123456789, false, { spread: 1e-9 }));
});

afterAll(async () => {
  await r.server.close();
});

async function fetchBoth(path: string): Promise<{ json: unknown; fbs: ReturnType<typeof decodeCandles>; type: string; bytes: number }> {
  const sep = path.includes('?') ? '&' : '?';
  const [j, f] = await Promise.all([fetch(r.base + path), fetch(r.base + path + sep + 'format=fbs')]);
  expect(j.status, path).toBe(200);
  expect(f.status, path).toBe(200);
  const bytes = new Uint8Array(await f.arrayBuffer());
  return { json: await j.json(), fbs: decodeCandles(bytes), type: f.headers.get('content-type') ?? '', bytes: bytes.length };
}

describe('GET /v1/candles?format=fbs', () => {
  it('answers application/x-flatbuffers equal to the JSON answer', async () => {
    const both = await fetchBoth('/v1/candles/binance/BTCUSDT/1m');
    expect(both.type).toBe('application/x-flatbuffers');
    expect(both.fbs).toStrictEqual(both.json);
    expect(both.fbs.count).toBe(6);
    expect(both.fbs.candles.map((c) => c.spread)).toEqual([0.5, null, 0.5, null, 0.5, null]);
  });

  it('carries null vwap, gapped, backfilled, amended and forming bars as JSON does', async () => {
    const both = await fetchBoth('/v1/candles/binance/ETHUSDT/5m');
    expect(both.fbs).toStrictEqual(both.json);
    const c = both.fbs.candles;
    expect(c.map((b) => [b.vwap === null, b.gapped === true, b.source, b.revision, b.closed])).toEqual([
      [true, false, undefined, 0, true],
      [false, true, undefined, 0, true],
      [false, false, 'backfill', 2, true],
      [false, false, undefined, 0, false],
    ]);
  });

  it('honours limit, start, end and closed exactly as JSON does', async () => {
    for (const query of [
      '?limit=2',
      '?closed=true',
      '?limit=3&closed=true',
      `?start=${T0 + MIN}&end=${T0 + 3 * MIN}`,
      `?start=${T0 + 4 * MIN}`,
      `?end=${T0 - 1}`,
    ]) {
      const both = await fetchBoth('/v1/candles/binance/BTCUSDT/1m' + query);
      expect(both.fbs, query).toStrictEqual(both.json);
    }
    const empty = await fetchBoth(`/v1/candles/binance/BTCUSDT/1m?end=${T0 - 1}`);
    expect(empty.fbs).toMatchObject({ count: 0, candles: [] });
  });

  it('answers with the native symbol and canonical timeframe for other spellings', async () => {
    const normalized = await fetchBoth('/v1/candles/binance/BTC-USDT/M1');
    expect(normalized.fbs).toStrictEqual(normalized.json);
    expect(normalized.fbs).toMatchObject({ symbol: 'BTCUSDT', timeframe: '1m' });
    const encoded = await fetchBoth('/v1/candles/kraken/XBT%2FUSD/1m?limit=1');
    expect(encoded.fbs).toStrictEqual(encoded.json);
    expect(encoded.fbs.symbol).toBe('XBT/USD');
  });

  it('many concurrent requests each get their own, correct answer', async () => {
    const limits = Array.from({ length: 24 }, (_, i) => 1 + (i % 6));
    const answers = await Promise.all(limits.map((limit) => fetch(`${r.base}/v1/candles/binance/BTCUSDT/1m?limit=${limit}&format=fbs`)));
    const decoded = await Promise.all(answers.map(async (a) => decodeCandles(new Uint8Array(await a.arrayBuffer()))));
    decoded.forEach((d, i) => {
      expect(d.count).toBe(limits[i]);
      expect(d.candles.at(-1)!.openTime).toBe(T0 + 5 * MIN);
    });
  });

  it('errors stay JSON with their codes', async () => {
    for (const [path, status, code] of [
      ['/v1/candles/binance/NOPE/1m?format=fbs', 404, 'SYMBOL_NOT_FOUND'],
      ['/v1/candles/nope/BTCUSDT/1m?format=fbs', 404, 'EXCHANGE_NOT_FOUND'],
      ['/v1/candles/binance/BTCUSDT/7m?format=fbs', 400, 'INVALID_TIMEFRAME'],
      ['/v1/candles/binance/BTCUSDT/1m?format=fbs&limit=0', 400, 'INVALID_PARAMETER'],
      ['/v1/candles/binance/BTCUSDT/1m?format=FBS', 400, 'INVALID_PARAMETER'],
    ] as const) {
      const res = await fetch(r.base + path);
      expect(res.status, path).toBe(status);
      expect(res.headers.get('content-type'), path).toContain('application/json');
      expect(((await res.json()) as { error: { code: string } }).error.code, path).toBe(code);
    }
  });
});

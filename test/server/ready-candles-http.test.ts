/**
 * /v1/candles from ready bytes over a real socket: an amended closed bar is
 * answered amended in JSON and FlatBuffers (its kept bytes re-encoded), a
 * kept whole answer is not given once its forming bar moved or a bar closed, and
 * `candleCacheBytes` is checked when the server is created.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../src/index.ts';
import { decodeCandles } from '../../src/wire/fbs.ts';
import { FakeTickwire } from '../support/fake-tickwire.ts';
import { startServer, type Running } from './helpers.ts';

const T0 = Date.UTC(2024, 7, 9, 0, 0);
const PATH = '/v1/candles/binance/BTCUSDT/1m';

let r: Running;
beforeAll(async () => {
  r = await startServer({ candleCacheBytes: 1 << 20 });
});
afterAll(async () => {
  await r.server.close();
});

type Candle = { openTime: number; close: number; revision: number; closed: boolean };
async function json(): Promise<Candle[]> {
  return ((await (await fetch(r.base + PATH + '?limit=50')).json()) as { candles: Candle[] }).candles;
}
async function fbs(): Promise<Candle[]> {
  const bytes = new Uint8Array(await (await fetch(r.base + PATH + '?limit=50&format=fbs')).arrayBuffer());
  return decodeCandles(bytes).candles as Candle[];
}

describe('/v1/candles from ready bytes', () => {
  it('answers an amended closed bar amended, in JSON and FlatBuffers, the other bars unchanged', async () => {
    const bars = r.tw.seed('binance', 'BTCUSDT', '1m', 5, T0, 100);
    const before = await json(); // encodes and keeps the closed bars
    expect(await fbs()).toEqual(before);
    expect(before[2]).toMatchObject({ openTime: T0 + 2 * 60_000, revision: 0 });

    r.tw.putBar('binance', 'BTCUSDT', '1m', { ...bars[2]!, close: 4242.5, high: 4242.5, revision: 1 });
    const after = await json();
    expect(after[2]).toMatchObject({ openTime: T0 + 2 * 60_000, close: 4242.5, revision: 1, closed: true });
    expect(after.filter((_, i) => i !== 2)).toEqual(before.filter((_, i) => i !== 2));
    expect(await fbs()).toEqual(after);
  });

  it('answers the same query again with the forming bar as it is now, and a close as soon as it is stored', async () => {
    const T1 = T0 + 60 * 60_000;
    const bars = r.tw.seed('binance', 'ETHUSDT', '1m', 3, T1, 10);
    const path = r.base + '/v1/candles/binance/ETHUSDT/1m?limit=3';
    const ask = async (): Promise<Candle[]> => ((await (await fetch(path)).json()) as { candles: Candle[] }).candles;
    const first = await ask();
    expect(await ask()).toEqual(first); // given again: nothing moved
    const forming = bars[3]!;
    r.tw.putBar('binance', 'ETHUSDT', '1m', { ...forming, close: 11.25, high: 11.25 });
    const moved = await ask();
    expect(moved[2]).toMatchObject({ openTime: forming.openTime, close: 11.25, closed: false });
    expect(moved.slice(0, 2)).toEqual(first.slice(0, 2));
    r.tw.putBar('binance', 'ETHUSDT', '1m', { ...forming, close: 11.5, high: 11.5, closed: true });
    const closed = await ask();
    expect(closed.map((c) => [c.openTime, c.closed])).toContainEqual([forming.openTime, true]);
    expect((await (await fetch(path + '&format=fbs')).arrayBuffer()).byteLength).toBeGreaterThan(0);
  });

  it('refuses a candleCacheBytes that is not an integer ≥ 0 with INVALID_CONFIG', () => {
    for (const bad of [-1, 1.5, Number.NaN, Infinity]) {
      let err: { code?: string; message?: string } | undefined;
      try {
        createServer(new FakeTickwire(), { host: '127.0.0.1', port: 0, candleCacheBytes: bad });
      } catch (e) {
        err = e as typeof err;
      }
      expect(err?.code, String(bad)).toBe('INVALID_CONFIG');
      expect(err?.message).toContain('candleCacheBytes');
    }
  });
});

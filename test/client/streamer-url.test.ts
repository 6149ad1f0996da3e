/**
 * The SDK's server address and candle deadlines as the older streamer
 * clients have them: `STREAMER_API_URL` when the options name no server,
 * tickwire's default address without it, and 1 s per step of the candle
 * fallback chain unless told otherwise. Sets and restores the variable
 * (a serial file).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TickwireClient, type FetchLike } from '../../src/client/index.ts';
import { DEFAULT_SERVER_URL } from '../../src/client/server-url.ts';
import { startServer, type Running } from '../server/helpers.ts';

const T0 = Date.UTC(2024, 7, 9, 0, 0);
let saved: string | undefined;
let r: Running | undefined;
const clients: TickwireClient[] = [];

beforeEach(() => {
  saved = process.env['STREAMER_API_URL'];
});

afterEach(async () => {
  if (saved === undefined) delete process.env['STREAMER_API_URL'];
  else process.env['STREAMER_API_URL'] = saved;
  for (const c of clients.splice(0)) await c.close();
  await r?.server.close();
  r = undefined;
});

function track(c: TickwireClient): TickwireClient {
  clients.push(c);
  return c;
}

/** A fetch that records each URL and refuses, as a closed port would. */
function recordingFetch(urls: string[]): FetchLike {
  return async (url) => {
    urls.push(url);
    throw new TypeError('fetch failed: connection refused');
  };
}

describe('client server address', () => {
  it('reads STREAMER_API_URL when no url is given', async () => {
    r = await startServer();
    r.tw.seed('binance', 'BTCUSDT', '1m', 3, T0);
    process.env['STREAMER_API_URL'] = r.base;
    const c = track(new TickwireClient());
    const res = await c.candles('binance', 'BTCUSDT', 'M1');
    expect(res).toMatchObject({ source: 'http', failures: [], count: 4 });
  });

  it('a url in the options wins over STREAMER_API_URL', async () => {
    const urls: string[] = [];
    process.env['STREAMER_API_URL'] = 'http://192.0.2.1:9999';
    const c = track(new TickwireClient({ url: 'http://127.0.0.1:1', fetch: recordingFetch(urls), candles: { source: async () => [] } }));
    await c.candles('binance', 'BTCUSDT', 'M1');
    expect(urls).toHaveLength(1);
    expect(urls[0]).toMatch(/^http:\/\/127\.0\.0\.1:1\/v1\/candles\//);
  });

  it('without url and without STREAMER_API_URL (or with it empty): tickwire\'s default address', async () => {
    for (const value of [undefined, '', '  ']) {
      if (value === undefined) delete process.env['STREAMER_API_URL'];
      else process.env['STREAMER_API_URL'] = value;
      const urls: string[] = [];
      const c = track(new TickwireClient({ fetch: recordingFetch(urls), candles: { source: async () => [] } }));
      const res = await c.candles('binance', 'BTCUSDT', 'M1');
      expect(res.source).toBe('custom');
      expect(res.failures).toMatchObject([{ source: 'http', kind: 'error' }]);
      expect(urls[0]!.startsWith(`${DEFAULT_SERVER_URL}/v1/candles/binance/BTCUSDT/1m?`)).toBe(true);
    }
  });

  it('a malformed STREAMER_API_URL is refused at construction, naming url', () => {
    process.env['STREAMER_API_URL'] = 'not a url';
    expect(() => new TickwireClient()).toThrow(/invalid url/);
  });
});

describe('candle chain deadline', () => {
  it('each step has 1 s by default: a server that never answers hands over after about a second', async () => {
    // A fetch that answers only when aborted: the HTTP step can end only by its deadline.
    const hang: FetchLike = (_url, init) =>
      new Promise((_resolve, reject) => init.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
    const c = track(new TickwireClient({ url: 'http://127.0.0.1:1', fetch: hang, candles: { source: async () => [] } }));
    const started = performance.now();
    const res = await c.candles('binance', 'BTCUSDT', 'M1');
    const elapsed = performance.now() - started;
    expect(res.source).toBe('custom');
    expect(res.failures).toEqual([{ source: 'http', kind: 'timeout', code: null, message: 'no answer within 1000 ms' }]);
    expect(elapsed).toBeGreaterThanOrEqual(950);
  });
});

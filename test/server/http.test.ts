/** HTTP routes over a real loopback socket: shapes, every error code and status, CSV, symbol spellings. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startServer, type Running } from './helpers.ts';

const MIN = 60_000;
const T0 = Date.UTC(2024, 7, 9, 0, 0); // aligned to 5m too
const BAR_KEYS = [
  'openTime', 'closeTime', 'open', 'high', 'low', 'close', 'volume', 'quoteVolume', 'buyVolume', 'sellVolume',
  'trades', 'vwap', 'spread', 'closed', 'revision',
];

let r: Running;

beforeAll(async () => {
  r = await startServer();
  r.tw.seed('binance', 'BTCUSDT', '1m', 5, T0, 100); // 5 closed + forming
  r.tw.seed('kraken', 'XBT/USD', '1m', 3, T0, 200);
  r.tw.seed('binance', 'BTCUSDT', '5m', 2, T0, 300);
});

afterAll(async () => {
  await r.server.close();
});

beforeEach(() => {
  r.tw.healthReport = { status: 'ok', reasons: [] };
  r.tw.notRunning.clear();
  r.tw.failure = undefined;
});

async function get(path: string): Promise<{ status: number; type: string; body: any; text: string }> {
  const res = await fetch(r.base + path);
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, type, body, text };
}

async function expectError(path: string, status: number, code: string, mention?: string): Promise<any> {
  const res = await get(path);
  expect(res.status, `${path}: ${res.text}`).toBe(status);
  expect(res.type).toContain('application/json');
  expect(Object.keys(res.body)).toEqual(['error']);
  expect(res.body.error.code).toBe(code);
  expect(typeof res.body.error.message).toBe('string');
  if (mention !== undefined) expect(res.body.error.message).toContain(mention);
  return res.body;
}

describe('health, status, symbols, latency', () => {
  it('GET /health answers ok, then 503 with reasons', async () => {
    expect(await get('/health')).toMatchObject({ status: 200, body: { status: 'ok' } });
    r.tw.healthReport = { status: 'unavailable', reasons: ['binance: not connected'] };
    const down = await get('/health');
    expect(down.status).toBe(503);
    expect(down.body).toEqual({ status: 'unavailable', reasons: ['binance: not connected'] });
  });

  it('GET /v1/status is the library status', async () => {
    const res = await get('/v1/status');
    expect(res.status).toBe(200);
    expect(res.type).toContain('application/json');
    expect(res.body).toEqual(r.tw.status());
    expect(res.body.exchanges.binance.clockOffsetMs).toBe(-1.25);
  });

  it('GET /v1/symbols wraps the symbol map', async () => {
    const res = await get('/v1/symbols');
    expect(res.body).toEqual({ exchanges: r.tw.symbols() });
    expect(res.body.exchanges.kraken['XBT/USD']).toEqual(['1m', '5m']);
  });

  it('GET /v1/latency is the latency report', async () => {
    const res = await get('/v1/latency');
    expect(res.status).toBe(200);
    expect(res.body.parse.binance).toEqual({ p50: 10, p90: 20, p99: 40, p999: 80, max: 120, count: 1000 });
  });

  it('GET /v1/latency?histograms=true carries each stage\'s histogram; another value is a 400', async () => {
    const res = await get('/v1/latency?histograms=true');
    expect(res.status).toBe(200);
    expect(res.body.parse.binance.hdr).toEqual(expect.any(String));
    const bad = await get('/v1/latency?histograms=yes');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_PARAMETER');
  });
});

describe('GET /v1/candles', () => {
  it('answers oldest first, forming bar last, exact keys, numbers as numbers', async () => {
    const res = await get('/v1/candles/binance/BTCUSDT/1m');
    expect(res.status).toBe(200);
    expect(res.type).toContain('application/json');
    const { exchange, symbol, timeframe, count, candles } = res.body;
    expect(Object.keys(res.body)).toEqual(['exchange', 'symbol', 'timeframe', 'count', 'candles']);
    expect([exchange, symbol, timeframe, count]).toEqual(['binance', 'BTCUSDT', '1m', 6]);
    expect(candles).toHaveLength(6);
    for (const c of candles) expect(Object.keys(c)).toEqual(BAR_KEYS);
    expect(candles.map((c: any) => c.openTime)).toEqual([0, 1, 2, 3, 4, 5].map((i) => T0 + i * MIN));
    expect(candles.map((c: any) => c.closed)).toEqual([true, true, true, true, true, false]);
    expect(candles[0]).toEqual({
      openTime: T0, closeTime: T0 + MIN - 1, open: 100, high: 102, low: 99, close: 101, volume: 2, quoteVolume: 201,
      buyVolume: 1.5, sellVolume: 0.5, trades: 3, vwap: 100.5, spread: 0.5, closed: true, revision: 0,
    });
    expect(candles[1].spread).toBeNull();
  });

  it('closed=true leaves the forming bar out; limit keeps the newest', async () => {
    const closed = (await get('/v1/candles/binance/BTCUSDT/1m?closed=true')).body;
    expect(closed.count).toBe(5);
    expect(closed.candles.every((c: any) => c.closed)).toBe(true);
    const two = (await get('/v1/candles/binance/BTCUSDT/1m?limit=2')).body;
    expect(two.candles.map((c: any) => c.openTime)).toEqual([T0 + 4 * MIN, T0 + 5 * MIN]);
    const twoClosed = (await get('/v1/candles/binance/BTCUSDT/1m?limit=2&closed=false')).body;
    expect(twoClosed.count).toBe(2);
  });

  it('start and end select by open time (inclusive)', async () => {
    const res = await get(`/v1/candles/binance/BTCUSDT/1m?start=${T0 + MIN}&end=${T0 + 3 * MIN}`);
    expect(res.body.candles.map((c: any) => c.openTime)).toEqual([T0 + MIN, T0 + 2 * MIN, T0 + 3 * MIN]);
    const from = await get(`/v1/candles/binance/BTCUSDT/1m?start=${T0 + 4 * MIN}`);
    expect(from.body.count).toBe(2);
    const empty = await get(`/v1/candles/binance/BTCUSDT/1m?end=${T0 - 1}`);
    expect(empty.body).toMatchObject({ count: 0, candles: [] });
  });

  it('accepts normalized, url-encoded and MetaTrader spellings and answers with the native symbol, canonical timeframe', async () => {
    const normalized = await get('/v1/candles/binance/BTC-USDT/M1');
    expect(normalized.body).toMatchObject({ exchange: 'binance', symbol: 'BTCUSDT', timeframe: '1m', count: 6 });
    const encoded = await get('/v1/candles/kraken/XBT%2FUSD/1m');
    expect(encoded.body).toMatchObject({ exchange: 'kraken', symbol: 'XBT/USD', count: 4 });
    const krakenNormalized = await get('/v1/candles/kraken/BTC-USD/1m?limit=1');
    expect(krakenNormalized.body).toMatchObject({ symbol: 'XBT/USD', count: 1 });
    expect(krakenNormalized.body.candles[0].open).toBe(203);
    const fiveMin = await get('/v1/candles/binance/btcusdt/5m');
    expect(fiveMin.body).toMatchObject({ symbol: 'BTCUSDT', timeframe: '5m', count: 3 });
  });

  it('format=csv: header, one line per bar, null as an empty field', async () => {
    const res = await get('/v1/candles/binance/BTCUSDT/1m?format=csv&limit=3');
    expect(res.status).toBe(200);
    expect(res.type).toContain('text/csv');
    const lines = res.text.trimEnd().split('\n');
    expect(lines[0]).toBe('openTime,closeTime,open,high,low,close,volume,quoteVolume,buyVolume,sellVolume,trades,vwap,spread,closed,revision,gapped,source');
    expect(lines).toHaveLength(4);
    expect(lines[1]).toBe(`${T0 + 3 * MIN},${T0 + 4 * MIN - 1},103,105,102,104,2,207,1.5,0.5,3,103.5,,true,0,false,live`);
    expect(lines[2]).toBe(`${T0 + 4 * MIN},${T0 + 5 * MIN - 1},104,106,103,105,2,209,1.5,0.5,3,104.5,0.5,true,0,false,live`);
    expect(lines[3]!.endsWith(',false,0,false,live')).toBe(true);
    expect(res.text.endsWith('\n')).toBe(true);
  });

  it('404 for unknown exchange and symbol', async () => {
    await expectError('/v1/candles/nope/BTCUSDT/1m', 404, 'EXCHANGE_NOT_FOUND', 'nope');
    await expectError('/v1/candles/binance/DOGEUSDT/1m', 404, 'SYMBOL_NOT_FOUND', 'DOGEUSDT');
  });

  it('400 INVALID_TIMEFRAME for an unknown or unkept timeframe', async () => {
    await expectError('/v1/candles/binance/BTCUSDT/7m', 400, 'INVALID_TIMEFRAME', '7m');
    await expectError('/v1/candles/binance/BTCUSDT/1h', 400, 'INVALID_TIMEFRAME', '1h');
  });

  it('400 INVALID_PARAMETER for bad limit, start, end, format, closed and unknown or repeated parameters', async () => {
    const base = '/v1/candles/binance/BTCUSDT/1m';
    for (const limit of ['0', '5001', 'abc', '1.5', '-1', '']) await expectError(`${base}?limit=${limit}`, 400, 'INVALID_PARAMETER', 'limit');
    expect((await get(`${base}?limit=5000`)).status).toBe(200);
    await expectError(`${base}?start=-1`, 400, 'INVALID_PARAMETER', 'start');
    await expectError(`${base}?end=x`, 400, 'INVALID_PARAMETER', 'end');
    await expectError(`${base}?start=10&end=9`, 400, 'INVALID_PARAMETER', 'start');
    await expectError(`${base}?format=xml`, 400, 'INVALID_PARAMETER', 'format');
    await expectError(`${base}?closed=yes`, 400, 'INVALID_PARAMETER', 'closed');
    await expectError(`${base}?foo=1`, 400, 'INVALID_PARAMETER', '"foo"');
    await expectError(`${base}?limit=1&limit=2`, 400, 'INVALID_PARAMETER', 'limit');
  });

  it('503 EXCHANGE_NOT_RUNNING; 500 INTERNAL_ERROR without details', async () => {
    r.tw.notRunning.add('binance');
    await expectError('/v1/candles/binance/BTCUSDT/1m', 503, 'EXCHANGE_NOT_RUNNING');
    r.tw.notRunning.clear();
    const secret = new Error('database password is hunter2');
    r.tw.failure = secret;
    const errors: unknown[] = [];
    const quiet = await startServer({ onError: (err) => errors.push(err) }, r.tw);
    try {
      const res = await fetch(`${quiet.base}/v1/candles/binance/BTCUSDT/1m`);
      const text = await res.text();
      expect(res.status).toBe(500);
      expect(JSON.parse(text)).toEqual({ error: { code: 'INTERNAL_ERROR', message: 'internal error' } });
      expect(text).not.toContain('hunter2');
      expect(text).not.toContain('at ');
      expect(errors).toEqual([secret]);
    } finally {
      await quiet.server.close();
    }
  });
});

describe('unknown routes', () => {
  it('404 NOT_FOUND for unknown paths and methods', async () => {
    await expectError('/nope', 404, 'NOT_FOUND');
    await expectError('/v1/candles/binance/BTCUSDT', 404, 'NOT_FOUND');
    await expectError('/v1/candles/binance/BTCUSDT/1m/extra', 404, 'NOT_FOUND');
    const post = await fetch(`${r.base}/health`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(404);
    expect(((await post.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    const del = await fetch(`${r.base}/v1/symbols`, { method: 'DELETE' });
    expect(del.status).toBe(404);
    await del.text();
  });

  it('a 404 quotes the URL cut at 200 characters like every quoted value (a 10 KB URL is not echoed)', async () => {
    const long = '/' + 'a'.repeat(10_000);
    for (const [path, shape] of [[long, 'v1'], ['/streamer' + long, 'streamer']] as const) {
      const res = await get(path);
      expect(res.status).toBe(404);
      const message: string = shape === 'v1' ? res.body.error.message : res.body.error;
      expect(message.startsWith('no route for "GET /')).toBe(true);
      expect(message.endsWith('…')).toBe(true);
      expect(message.length).toBe('no route for '.length + 201);
      expect(Buffer.byteLength(res.text)).toBeLessThan(400);
    }
    expect((await get('/nope')).body.error.message).toBe('no route for "GET /nope"');
  });
});

describe('/metrics, /docs, /', () => {
  it('/metrics: the library registry then the server registry, Prometheus text', async () => {
    await get('/health');
    const res = await get('/metrics');
    expect(res.status).toBe(200);
    expect(res.type).toContain('text/plain; version=0.0.4');
    expect(res.text).toContain('tickwire_fake_up 1');
    for (const name of ['tickwire_subscribers', 'tickwire_ws_connections', 'tickwire_published_messages_total', 'tickwire_ws_rejected_messages_total', 'tickwire_http_requests_total']) {
      expect(res.text).toContain(`# TYPE ${name}`);
    }
    expect(res.text).toMatch(/tickwire_http_requests_total\{route="\/health",status="200"\} \d+/);
    expect(res.text).toMatch(/tickwire_http_requests_total\{route="\/v1\/candles\/:exchange\/:symbol\/:tf",status="404"\} \d+/);
    expect(res.text.indexOf('tickwire_fake_up')).toBeLessThan(res.text.indexOf('tickwire_ws_connections'));
  });

  it('/openapi.json is the OpenAPI 3.1 document describing every route; /docs renders it, or answers it to a JSON Accept', async () => {
    const res = await get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(Object.keys(res.body.paths)).toEqual(expect.arrayContaining([
      '/health', '/v1/status', '/v1/symbols', '/v1/latency', '/v1/candles/{exchange}/{symbol}/{tf}', '/metrics', '/docs', '/',
      '/openapi.json', '/asyncapi.json', '/assets/{file}',
      '/v1/stream', '/streamer/candles/{symbol}/{tf}', '/streamer/status', '/streamer/available', '/streamer/health',
      '/v1/admin/exchanges/{exchange}/symbols/{symbol}', '/v1/admin/reload',
    ]));
    expect(res.body.components.schemas.Bar.required).toEqual(BAR_KEYS);
    const stream = res.body.paths['/v1/stream'].get.responses;
    expect(Object.keys(stream)).toEqual(['101', '400', '401', '429', '503']);
    expect(stream['503'].description).toContain('TOO_MANY_CONNECTIONS');
    expect(res.body.components.schemas.Error.properties.error.properties.code.enum).toEqual(expect.arrayContaining(['UNAUTHORIZED', 'RATE_LIMITED', 'TOO_MANY_CONNECTIONS']));

    const page = await get('/docs');
    expect(page.type).toContain('text/html');
    expect(page.text).toContain('swagger-ui');
    const asJson = await fetch(r.base + '/docs', { headers: { accept: 'application/json' } });
    expect(await asJson.json()).toEqual(res.body);
  });

  it('/ is the dashboard page, loading only this server\'s own assets', async () => {
    const res = await get('/');
    expect(res.status).toBe(200);
    expect(res.type).toContain('text/html');
    const refs = [...res.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    // The stylesheet, the chart library, the analytics panels and the page's script.
    expect(refs.filter((u) => u.startsWith('/assets/'))).toHaveLength(4);
    expect(refs.filter((u) => !u.startsWith('/') && u !== 'data:,')).toEqual([]);
    // The browser loads nothing else either: the page's policy allows only this server.
    const headers = (await fetch(r.base + '/')).headers;
    expect(headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(headers.get('cache-control')).toBe('no-cache');
  });
});

/**
 * `/streamer/*` conformance (docs/streamer-api.md): every field of every
 * answer, checked twice — against the strict schemas the `/docs` document
 * serves (every field required, no other field, each field's type) and by
 * value (epoch-second times, ISO timestamps, timeframes echoed as asked,
 * limits, each error code with its status). Over a real loopback server on a
 * FakeTickwire.
 */
import { Ajv } from 'ajv';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fakeConfig, FakeTickwire } from '../support/fake-tickwire.ts';
import { startServer, type Running } from './helpers.ts';

const MIN = 60_000;
const T0 = Date.UTC(2024, 7, 9, 0, 0); // aligned to 5m too
const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

let r: Running;
let pinned: Running;
let doc: { components: Record<string, unknown> };
const ajv = new Ajv({ strict: false, allErrors: true });

beforeAll(async () => {
  r = await startServer();
  r.tw.seed('binance', 'BTCUSDT', '1m', 60, T0, 100); // 60 closed + forming
  r.tw.seed('binance', 'BTCUSDT', '5m', 2, T0, 300);
  r.tw.seed('kraken', 'XBT/USD', '1m', 3, T0, 200);
  r.tw.seed('bybit', 'BTCUSDT', '1m', 2, T0, 900);
  // A server whose config pins /streamer to bybit (streamer.exchange).
  pinned = await startServer({}, new FakeTickwire({ ...fakeConfig(), streamer: { exchange: 'bybit' } }));
  pinned.tw.seed('bybit', 'BTCUSDT', '1m', 2, T0, 900);
  doc = (await get('/openapi.json')).body;
});

afterAll(async () => {
  await r.server.close();
  await pinned.server.close();
});

beforeEach(() => {
  r.tw.healthReport = { status: 'ok', reasons: [] };
  r.tw.notRunning.clear();
  r.tw.statusPatch.clear();
  r.tw.failure = undefined;
});

async function get(path: string, base = r.base): Promise<{ status: number; type: string; body: any; text: string }> {
  const res = await fetch(base + path);
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, type: res.headers.get('content-type') ?? '', body, text };
}

/** Validate `body` against the named schema of the served OpenAPI document; fails with ajv's errors. */
function conforms(schema: string, body: unknown): void {
  const validate = ajv.compile({ $ref: `#/components/schemas/${schema}`, components: doc.components });
  const ok = validate(body);
  expect(ok ? [] : validate.errors, `${schema}: ${JSON.stringify(body).slice(0, 300)}`).toEqual([]);
}

/** Whether `body` conforms to the named schema (for checking that the schemas refuse what they must). */
function valid(schema: string, body: unknown): boolean {
  return ajv.compile({ $ref: `#/components/schemas/${schema}`, components: doc.components })(body) === true;
}

async function expectError(path: string, status: number, code: string): Promise<any> {
  const res = await get(path);
  expect(res.status, res.text).toBe(status);
  expect(res.type).toContain('application/json');
  expect(Object.keys(res.body)).toEqual(['success', 'error', 'error_code']);
  expect(res.body.success).toBe(false);
  expect(res.body.error_code).toBe(code);
  expect(res.body.error.length).toBeGreaterThan(0);
  conforms('StreamerError', res.body);
  return res.body;
}

describe('/streamer/candles', () => {
  it('answers every field, in order, with the older API types', async () => {
    const before = Math.floor(Date.now() / 1000) * 1000;
    const res = await get('/streamer/candles/BTCUSDT/M1?limit=3&format=dict');
    const after = Date.now();
    expect(res.status).toBe(200);
    expect(res.type).toContain('application/json');
    const b = res.body;
    conforms('StreamerCandles', b);
    expect(Object.keys(b)).toEqual(['success', 'symbol', 'timeframe', 'count', 'candles', 'timestamp', 'source']);
    expect(b).toMatchObject({ success: true, symbol: 'BTCUSDT', timeframe: 'M1', count: 3, source: 'streamer_buffer' });
    expect(b.timestamp).toMatch(ISO_SECONDS);
    const ts = Date.parse(b.timestamp);
    expect(ts).toBeGreaterThanOrEqual(before);
    expect(ts).toBeLessThanOrEqual(after);
    // Oldest first, the forming bar last; time is the open time in epoch seconds.
    expect(b.candles.map((c: any) => c.time)).toEqual([58, 59, 60].map((i) => (T0 + i * MIN) / 1000));
    expect(b.candles[0]).toEqual({ time: (T0 + 58 * MIN) / 1000, open: 158, high: 160, low: 157, close: 159, volume: 2, spread: 0.5 });
    for (const c of b.candles) expect(Object.keys(c)).toEqual(['time', 'open', 'high', 'low', 'close', 'volume', 'spread']);
  });

  it('the served schemas are strict: a missing or extra field, or a wrong type, does not conform', async () => {
    const b = (await get('/streamer/candles/BTCUSDT/M1?limit=1')).body;
    expect(valid('StreamerCandles', b)).toBe(true);
    expect(valid('StreamerCandles', { ...b, exchange: 'binance' })).toBe(false);
    expect(valid('StreamerCandles', { ...b, timestamp: Date.now() })).toBe(false);
    expect(valid('StreamerCandles', { ...b, timestamp: new Date().toISOString() })).toBe(false); // milliseconds: not the streamer's form
    const { source: _, ...noSource } = b;
    expect(valid('StreamerCandles', noSource)).toBe(false);
    expect(valid('StreamerCandles', { ...b, candles: [{ ...b.candles[0], spread: null }] })).toBe(false);
    expect(valid('StreamerCandles', { ...b, candles: [{ ...b.candles[0], time: b.candles[0].time * 1000 + 0.5 }] })).toBe(false);
  });

  it('a bar without quotes has spread 0, a number', async () => {
    const b = (await get('/streamer/candles/BTCUSDT/M1?limit=2')).body;
    expect(b.candles[0].spread).toBe(0); // seed: odd bars carry no spread
    expect(b.candles[1].spread).toBe(0.5);
  });

  it('limit defaults to 50 and goes up to 500', async () => {
    expect((await get('/streamer/candles/BTCUSDT/M1')).body.count).toBe(50);
    expect((await get('/streamer/candles/BTCUSDT/M1?limit=500')).body.count).toBe(61); // all held
    expect((await get('/streamer/candles/BTCUSDT/M1?limit=1')).body.count).toBe(1);
  });

  it('limit over 500 or not a positive integer: INVALID_PARAMETER, 400', async () => {
    for (const limit of ['501', '0', '-1', '1.5', 'abc', '']) {
      const body = await expectError(`/streamer/candles/BTCUSDT/M1?limit=${limit}`, 400, 'INVALID_PARAMETER');
      expect(body.error).toContain('limit');
    }
  });

  it('timeframe echoed as asked, in streamer names and tickwire names', async () => {
    for (const tf of ['M1', 'M5', '1m', '5m']) {
      const b = (await get(`/streamer/candles/BTCUSDT/${tf}?limit=1`)).body;
      expect(b.timeframe).toBe(tf);
    }
    const m5 = (await get('/streamer/candles/BTCUSDT/M5')).body;
    expect(m5.candles.map((c: any) => c.time)).toEqual([0, 1, 2].map((i) => (T0 + i * 5 * MIN) / 1000));
  });

  it('format=list answers each candle as [time, open, high, low, close, volume, spread]; other formats are refused', async () => {
    const b = (await get('/streamer/candles/BTCUSDT/M1?limit=1&format=list')).body;
    conforms('StreamerCandles', b);
    expect(b.candles).toEqual([[(T0 + 60 * MIN) / 1000, 160, 162, 159, 161, 2, 0.5]]);
    const body = await expectError('/streamer/candles/BTCUSDT/M1?format=csv', 400, 'INVALID_PARAMETER');
    expect(body.error).toContain('dict, list');
  });

  it('the symbol is echoed as asked; by default the first exchange in config order serves it', async () => {
    const b = (await get('/streamer/candles/BTC-USD/M1')).body;
    expect(b).toMatchObject({ symbol: 'BTC-USD', count: 4 }); // kraken's XBT/USD
    expect((await get('/streamer/candles/BTCUSDT/M1?limit=1')).body.candles[0].open).toBe(160); // binance, not bybit
  });

  it('streamer.exchange pins the exchange that serves', async () => {
    const b = (await get('/streamer/candles/BTCUSDT/M1?limit=1', pinned.base)).body;
    expect(b.candles[0].open).toBe(902); // bybit's forming bar
    await expectErrorAt(pinned.base, '/streamer/candles/XBT%2FUSD/M1', 404, 'SYMBOL_NOT_FOUND');
    expect(Object.keys((await get('/streamer/available', pinned.base)).body)).toEqual(['BTCUSDT']);
  });

  it('error codes and statuses: INVALID_TIMEFRAME 400, SYMBOL_NOT_FOUND 404, INTERNAL_ERROR 500', async () => {
    await expectError('/streamer/candles/BTCUSDT/M7', 400, 'INVALID_TIMEFRAME');
    await expectError('/streamer/candles/BTCUSDT/H4', 400, 'INVALID_TIMEFRAME'); // a valid name, not kept
    await expectError('/streamer/candles/DOGEUSDT/M1', 404, 'SYMBOL_NOT_FOUND');
    r.tw.failure = new Error('secret detail');
    const body = await expectError('/streamer/candles/BTCUSDT/M1', 500, 'INTERNAL_ERROR');
    expect(body.error).not.toContain('secret');
  });

  it('STREAMER_NOT_INITIALIZED 503 before the exchange delivered its first data', async () => {
    r.tw.statusPatch.set('binance', { state: 'connecting', lastMessageAgeMs: null });
    await expectError('/streamer/candles/BTCUSDT/M1', 503, 'STREAMER_NOT_INITIALIZED');
    // Another exchange's symbol is unaffected.
    expect((await get('/streamer/candles/XBT%2FUSD/M1')).status).toBe(200);
  });

  it('STREAMER_NOT_RUNNING 503: stopped, circuit open, or disconnected past the staleness window', async () => {
    r.tw.statusPatch.set('binance', { state: 'stopped' });
    await expectError('/streamer/candles/BTCUSDT/M1', 503, 'STREAMER_NOT_RUNNING');
    r.tw.statusPatch.set('binance', { state: 'circuit_open', lastMessageAgeMs: null });
    await expectError('/streamer/candles/BTCUSDT/M1', 503, 'STREAMER_NOT_RUNNING');
    r.tw.statusPatch.set('binance', { state: 'reconnecting', lastMessageAgeMs: 61_000 }); // default window: 60 s
    await expectError('/streamer/candles/BTCUSDT/M1', 503, 'STREAMER_NOT_RUNNING');
    // A reconnect within the window still serves the bars held.
    r.tw.statusPatch.set('binance', { state: 'reconnecting', lastMessageAgeMs: 59_000 });
    expect((await get('/streamer/candles/BTCUSDT/M1')).status).toBe(200);
    // The library's own EXCHANGE_NOT_RUNNING is answered in the streamer's code.
    r.tw.statusPatch.clear();
    r.tw.notRunning.add('binance');
    await expectError('/streamer/candles/BTCUSDT/M1', 503, 'STREAMER_NOT_RUNNING');
  });

  it('the staleness window is the exchange\'s reliability.staleAfterMs', async () => {
    const config = fakeConfig();
    config.exchanges['binance'] = { ...config.exchanges['binance']!, reliability: { ...defaultReliabilityFor(5_000) } };
    const short = await startServer({}, new FakeTickwire(config));
    try {
      short.tw.statusPatch.set('binance', { state: 'reconnecting', lastMessageAgeMs: 6_000 });
      await expectErrorAt(short.base, '/streamer/candles/BTCUSDT/M1', 503, 'STREAMER_NOT_RUNNING');
    } finally {
      await short.server.close();
    }
  });
});

async function expectErrorAt(base: string, path: string, status: number, code: string): Promise<void> {
  const res = await get(path, base);
  expect(res.status, res.text).toBe(status);
  expect(res.body).toEqual({ success: false, error: expect.any(String), error_code: code });
}

function defaultReliabilityFor(staleAfterMs: number) {
  return {
    reconnect: { initialMs: 500, maxMs: 30_000, jitter: 'full' as const },
    circuitBreaker: { failures: 10, restMs: 300_000 },
    staleAfterMs,
    rest: { minIntervalMs: 0, maxIntervalMs: 60_000 },
  };
}

describe('/streamer/status, /available, /health', () => {
  it('status: running state, symbols, timeframes (streamer names), metrics', async () => {
    const b = (await get('/streamer/status')).body;
    conforms('StreamerStatus', b);
    expect(Object.keys(b)).toEqual(['success', 'running', 'status', 'symbols', 'timeframes', 'metrics', 'timestamp']);
    expect(b).toMatchObject({ success: true, running: true, status: 'running', timeframes: ['M1', 'M5'] });
    expect(b.symbols).toEqual(['BTCUSDT', 'ETHUSDT', 'XBT/USD', 'ETH/USD']); // bybit's BTCUSDT is binance's name: served once
    expect(b.timestamp).toMatch(ISO_SECONDS);
    expect(b.metrics).toMatchObject({ uptime_seconds: 1, symbols: 4, messages: 300, trades: 240, quotes: 60, reconnects: 0 });
    expect(b.metrics.exchanges.binance).toEqual({
      status: 'running', state: 'connected', last_message_age_ms: 12, message_rate: 3.5, messages: 100, trades: 80, quotes: 20, reconnects: 0,
    });
    r.tw.statusPatch.set('kraken', { state: 'connecting', lastMessageAgeMs: null });
    expect((await get('/streamer/status')).body).toMatchObject({ running: false, status: 'initializing' });
    r.tw.statusPatch.set('bybit', { state: 'stopped' });
    expect((await get('/streamer/status')).body).toMatchObject({ running: false, status: 'degraded' });
  });

  it('available: symbol → timeframes, nothing else', async () => {
    const b = (await get('/streamer/available')).body;
    conforms('StreamerAvailable', b);
    expect(b).toEqual({ BTCUSDT: ['M1', 'M5'], ETHUSDT: ['M1', 'M5'], 'XBT/USD': ['M1', 'M5'], 'ETH/USD': ['M1', 'M5'] });
  });

  it('health: status, buffer status per symbol and timeframe, last check time', async () => {
    const res = await get('/streamer/health');
    expect(res.status).toBe(200);
    const b = res.body;
    conforms('StreamerHealth', b);
    expect(Object.keys(b)).toEqual(['success', 'status', 'buffer_status', 'last_check', 'timestamp']);
    expect(b.buffer_status.BTCUSDT).toEqual({
      M1: { bars: 61, newest_time: (T0 + 60 * MIN) / 1000 },
      M5: { bars: 3, newest_time: (T0 + 10 * MIN) / 1000 },
    });
    expect(b.buffer_status.ETHUSDT).toEqual({ M1: { bars: 0, newest_time: null }, M5: { bars: 0, newest_time: null } });
    expect(b.last_check).toMatch(ISO_SECONDS);
    expect(Date.parse(b.last_check)).toBeLessThanOrEqual(Date.parse(b.timestamp));
  });

  it('health unavailable: 503 with the reason, the streamer code, and the buffers', async () => {
    r.tw.healthReport = { status: 'unavailable', reasons: ['binance: stopped for 9 s'] };
    r.tw.statusPatch.set('binance', { state: 'stopped' });
    const res = await get('/streamer/health');
    expect(res.status).toBe(503);
    conforms('StreamerUnhealthy', res.body);
    expect(res.body).toMatchObject({ success: false, status: 'unavailable', error: 'binance: stopped for 9 s', error_code: 'STREAMER_NOT_RUNNING' });
    r.tw.statusPatch.set('binance', { state: 'connecting', lastMessageAgeMs: null });
    expect((await get('/streamer/health')).body.error_code).toBe('STREAMER_NOT_INITIALIZED');
  });

  it('an unknown /streamer path: NOT_FOUND in the streamer shape', async () => {
    await expectError('/streamer/nope', 404, 'NOT_FOUND');
  });
});

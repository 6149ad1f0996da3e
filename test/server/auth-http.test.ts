/**
 * HTTP authentication and rate limits over the real server on loopback:
 * public routes, 401 for every kind of bad credential (v1 and streamer
 * shapes, counted by reason), per-token channels on the candle routes, 429
 * with Retry-After, and the refusal to start open on a non-loopback host.
 */
import { createHmac } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthConfig } from '../../src/config/types.ts';
import { hashToken } from '../../src/server/auth.ts';
import { createServer } from '../../src/server/server.ts';
import { FakeTickwire } from '../support/fake-tickwire.ts';
import { startServer, type Running } from './helpers.ts';

const MIN = 60_000;
const T0 = Date.UTC(2024, 7, 9, 0, 0);
const SECRET = 'a shared HS256 secret of at least 32 bytes';
const ALICE = 'tw_alice-0123456789abcdefghijklmnopqrstuvwxyzAB';
const BOB = 'tw_bob-0123456789abcdefghijklmnopqrstuvwxyzABCD';

const AUTH: AuthConfig = {
  tokens: [
    { name: 'alice', sha256: hashToken(ALICE), channels: ['*'] },
    { name: 'bob', sha256: hashToken(BOB), channels: ['bars:binance:BTCUSDT:1m', 'trades:binance:*'] },
  ],
  jwt: { secret: SECRET, issuer: 'https://idp.example', audience: 'tickwire' },
  allowOpen: false,
  httpRate: { rate: 1000, burst: 1000 },
};

/** An HS256 JWT made by hand (node:crypto), valid for a minute unless the claims say otherwise. */
function jwt(claims: Record<string, unknown>, header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' }, key = SECRET): string {
  const now = Math.floor(Date.now() / 1000);
  const all = { iss: 'https://idp.example', aud: 'tickwire', exp: now + 60, ...claims };
  const head = Buffer.from(JSON.stringify(header)).toString('base64url') + '.' + Buffer.from(JSON.stringify(all)).toString('base64url');
  return head + '.' + createHmac('sha256', key).update(head).digest('base64url');
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: any;
}

/** A GET (or any method) over node:http, with exactly the headers given. */
function call(base: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(base + path, { method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

let r: Running;
const get = (path: string, headers: Record<string, string> = {}) => call(r.base, path, headers);

/** The value of `tickwire_auth_failures_total` for one transport and reason (0 when absent). */
async function failures(transport: string, reason: string): Promise<number> {
  const m = await get('/metrics', bearer(ALICE));
  expect(m.status).toBe(200);
  const line = m.text.split('\n').find((l) => l.startsWith(`tickwire_auth_failures_total{transport="${transport}",reason="${reason}"}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

async function expect401(path: string, headers: Record<string, string>, mention: string, shape: 'v1' | 'streamer' = 'v1'): Promise<Answer> {
  const res = await get(path, headers);
  expect(res.status, res.text).toBe(401);
  expect(res.headers['www-authenticate']).toBe('Bearer realm="tickwire"');
  if (shape === 'v1') {
    expect(res.body).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.stringContaining(mention) } });
  } else {
    expect(res.body).toEqual({ success: false, error: expect.stringContaining(mention), error_code: 'UNAUTHORIZED' });
  }
  for (const value of Object.values(headers)) {
    const credential = value.replace(/^Bearer /, '');
    if (credential.length > 8) expect(res.text).not.toContain(credential);
  }
  return res;
}

beforeAll(async () => {
  r = await startServer({ auth: AUTH });
  r.tw.seed('binance', 'BTCUSDT', '1m', 3, T0, 100);
  r.tw.seed('binance', 'BTCUSDT', '5m', 2, T0, 300);
  r.tw.seed('kraken', 'XBT/USD', '1m', 2, T0, 200);
});

afterAll(async () => {
  await r.server.close();
});

describe('public routes', () => {
  it('/health, /streamer/health, the API reference and the dashboard page need no credentials', async () => {
    expect((await get('/health')).body).toEqual({ status: 'ok' });
    expect((await get('/streamer/health')).body).toMatchObject({ success: true, status: 'ok' });
    for (const path of ['/docs', '/openapi.json', '/asyncapi.json']) expect((await get(path)).status, path).toBe(200);
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
  });
});

describe('/openapi.json', () => {
  it('declares the bearer and ?token= schemes; public routes need none, private ones list 401 and 429', async () => {
    const doc = (await get('/openapi.json')).body;
    expect(Object.keys(doc.components.securitySchemes)).toEqual(['bearer', 'queryToken']);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const path of ['/health', '/docs', '/openapi.json', '/asyncapi.json', '/', '/assets/{file}', '/streamer/health']) expect(doc.paths[path].get.security, path).toEqual([]);
    for (const path of ['/v1/status', '/v1/candles/{exchange}/{symbol}/{tf}', '/metrics', '/streamer/candles/{symbol}/{tf}']) {
      expect(doc.paths[path].get.security, path).toBeUndefined();
      expect(Object.keys(doc.paths[path].get.responses), path).toEqual(expect.arrayContaining(['401', '429']));
    }
  });
});

describe('401 UNAUTHORIZED', () => {
  it('missing credentials, on every private route, in the route family’s shape', async () => {
    for (const path of ['/v1/status', '/v1/symbols', '/v1/latency', '/v1/candles/binance/BTCUSDT/1m', '/metrics']) {
      await expect401(path, {}, 'missing credentials');
    }
    for (const path of ['/streamer/status', '/streamer/available', '/streamer/candles/BTCUSDT/1m']) {
      await expect401(path, {}, 'missing credentials', 'streamer');
    }
  });

  it('a wrong token, another scheme, and every bad JWT, each with its own reason counted', async () => {
    const before = {
      unknown: await failures('http', 'unknown_token'),
      malformed: await failures('http', 'malformed'),
      signature: await failures('http', 'bad_signature'),
      expired: await failures('http', 'expired'),
      alg: await failures('http', 'unsupported_alg'),
      audience: await failures('http', 'wrong_audience'),
      issuer: await failures('http', 'wrong_issuer'),
      notYet: await failures('http', 'not_yet_valid'),
    };
    const now = Math.floor(Date.now() / 1000);
    await expect401('/v1/status', bearer('tw_wrong-token-0123456789abcdefghijklmnop'), 'neither a known API token nor a JWT');
    await expect401('/v1/status', { authorization: `Basic ${Buffer.from('alice:pw').toString('base64')}` }, 'expected "Bearer <token>"');
    await expect401('/v1/status', bearer(jwt({ sub: 'mallory' }, undefined, 'not the server secret but long enough')), 'signature does not match');
    await expect401('/v1/status', bearer(jwt({ sub: 'carol', exp: now - 120 })), 'JWT expired at');
    await expect401('/v1/status', bearer(jwt({ sub: 'carol', nbf: now + 600 })), 'not valid before');
    await expect401('/v1/status', bearer(jwt({ sub: 'root' }, { alg: 'none', typ: 'JWT' })), 'alg "none" is not accepted');
    await expect401('/v1/status', bearer(jwt({ sub: 'root' }, { alg: 'HS512' })), 'alg "HS512" is not accepted');
    await expect401('/v1/status', bearer(jwt({ sub: 'carol', aud: 'billing' })), 'audience');
    await expect401('/v1/status', bearer(jwt({ sub: 'carol', iss: 'https://other.example' })), 'issuer');
    expect(await failures('http', 'unknown_token')).toBe(before.unknown + 1);
    expect(await failures('http', 'malformed')).toBe(before.malformed + 1);
    expect(await failures('http', 'bad_signature')).toBe(before.signature + 1);
    expect(await failures('http', 'expired')).toBe(before.expired + 1);
    expect(await failures('http', 'not_yet_valid')).toBe(before.notYet + 1);
    expect(await failures('http', 'unsupported_alg')).toBe(before.alg + 2);
    expect(await failures('http', 'wrong_audience')).toBe(before.audience + 1);
    expect(await failures('http', 'wrong_issuer')).toBe(before.issuer + 1);
    const m = await get('/metrics', bearer(ALICE));
    expect(m.text).toMatch(/tickwire_http_requests_total\{route="\/v1\/status",status="401"\} \d+/);
  });

  it('a valid token, JWT or ?token= is let in', async () => {
    expect((await get('/v1/status', bearer(ALICE))).status).toBe(200);
    expect((await get('/v1/symbols', bearer(jwt({ sub: 'carol' })))).body.exchanges.binance).toBeDefined();
    expect((await get(`/v1/symbols?token=${encodeURIComponent(BOB)}`)).status).toBe(200);
    const csv = await get(`/v1/candles/binance/BTCUSDT/1m?format=csv&limit=2&token=${BOB}`);
    expect(csv.status, csv.text).toBe(200);
    expect(csv.text.trim().split('\n')).toHaveLength(3);
  });
});

describe('channels per token on the candle routes', () => {
  it('bob reads bars:binance:BTCUSDT:1m (any spelling of it) and nothing else', async () => {
    const ok = await get('/v1/candles/binance/BTCUSDT/1m?limit=2', bearer(BOB));
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.count).toBe(2);
    expect(ok.body.candles[0].openTime).toBe(T0 + 2 * MIN);
    expect((await get('/v1/candles/binance/BTC-USDT/M1', bearer(BOB))).status).toBe(200);
    expect((await get('/streamer/candles/BTCUSDT/1m', bearer(BOB))).body.success).toBe(true);

    const before = await failures('http', 'forbidden');
    await expect401('/v1/candles/binance/BTCUSDT/5m', bearer(BOB), 'bob may not read bars:binance:BTCUSDT:5m');
    await expect401('/v1/candles/kraken/XBT%2FUSD/1m', bearer(BOB), 'bob may not read bars:kraken:XBT/USD:1m');
    await expect401('/streamer/candles/BTCUSDT/5m', bearer(BOB), 'bob may not read bars:binance:BTCUSDT:5m', 'streamer');
    expect(await failures('http', 'forbidden')).toBe(before + 3);

    // Alice may read everything; a JWT's channels claim restricts like a token's channels.
    expect((await get('/v1/candles/binance/BTCUSDT/5m', bearer(ALICE))).status).toBe(200);
    const dave = jwt({ sub: 'dave', channels: ['bars:*:*:5m'] });
    expect((await get('/v1/candles/binance/BTCUSDT/5m', bearer(dave))).status).toBe(200);
    await expect401('/v1/candles/binance/BTCUSDT/1m', bearer(dave), 'dave may not read bars:binance:BTCUSDT:1m');
  });

  it('bad requests are still 400/404 for an authenticated client', async () => {
    expect((await get('/v1/candles/binance/BTCUSDT/7m', bearer(BOB))).body.error.code).toBe('INVALID_TIMEFRAME');
    expect((await get('/v1/candles/binance/NOPE/1m', bearer(BOB))).body.error.code).toBe('SYMBOL_NOT_FOUND');
  });
});

describe('429 RATE_LIMITED', () => {
  let limited: Running;
  beforeAll(async () => {
    limited = await startServer({ auth: { ...AUTH, httpRate: { rate: 0.2, burst: 3 } } });
  });
  afterAll(async () => {
    await limited.server.close();
  });

  it('past the burst, with Retry-After; per principal; public routes exempt', async () => {
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await call(limited.base, '/v1/status', bearer(ALICE))).status);
    expect(statuses).toEqual([200, 200, 200]);
    const refused = await call(limited.base, '/v1/symbols', bearer(ALICE));
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ error: { code: 'RATE_LIMITED', message: expect.stringContaining('0.2 per second with bursts of 3') } });
    const retryAfter = Number(refused.headers['retry-after']);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(5);
    // The streamer shape too, and /metrics.
    const streamer = await call(limited.base, '/streamer/status', bearer(ALICE));
    expect(streamer.status).toBe(429);
    expect(streamer.body).toMatchObject({ success: false, error_code: 'RATE_LIMITED' });
    expect((await call(limited.base, '/metrics', bearer(ALICE))).status).toBe(429);
    // Bob has his own bucket, the same JWT subject shares one across tokens.
    expect((await call(limited.base, '/v1/status', bearer(BOB))).status).toBe(200);
    expect((await call(limited.base, '/health')).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await call(limited.base, '/health')).status).toBe(200);
    // Unauthenticated requests are refused with 401 before any rate is taken.
    expect((await call(limited.base, '/v1/status')).status).toBe(401);
  });

  it('httpRate null (false in the config): no limit', async () => {
    const unlimited = await startServer({ auth: { ...AUTH, httpRate: null } });
    try {
      const statuses = new Set<number>();
      for (let i = 0; i < 30; i++) statuses.add((await call(unlimited.base, '/v1/status', bearer(ALICE))).status);
      expect([...statuses]).toEqual([200]);
    } finally {
      await unlimited.server.close();
    }
  });

  it('an open server limits by remote address', async () => {
    const open = await startServer({ auth: { tokens: [], jwt: undefined, allowOpen: false, httpRate: { rate: 0.2, burst: 2 } } });
    try {
      expect((await call(open.base, '/v1/status')).status).toBe(200);
      expect((await call(open.base, '/v1/status', bearer('ignored-when-open'))).status).toBe(200);
      const third = await call(open.base, '/v1/status');
      expect(third.status).toBe(429);
      expect(third.headers['retry-after']).toBeDefined();
    } finally {
      await open.server.close();
    }
  });
});

describe('open servers', () => {
  const open: AuthConfig = { tokens: [], jwt: undefined, allowOpen: false, httpRate: { rate: 100, burst: 200 } };

  it('refuse to start on a non-loopback host unless auth.allowOpen', async () => {
    for (const host of ['0.0.0.0', '::', '192.0.2.10', 'gateway.example.com']) {
      let err: any;
      try {
        createServer(new FakeTickwire(), { host, port: 0, auth: open });
      } catch (e) {
        err = e;
      }
      expect(err?.code, host).toBe('INVALID_CONFIG');
      expect(err.message).toContain('auth.allowOpen');
      expect(err.message).toContain(JSON.stringify(host));
    }
    // Loopback is fine open; so is any host with allowOpen, or with credentials configured (not bound here).
    for (const [host, auth] of [['localhost', open], ['::1', open], ['0.0.0.0', { ...open, allowOpen: true }], ['0.0.0.0', AUTH]] as const) {
      const server = createServer(new FakeTickwire(), { host, port: 0, auth });
      await server.close();
    }
  });

  it('the config’s own auth applies when no option overrides it', async () => {
    const tw = new FakeTickwire();
    expect(() => createServer(tw, { host: '0.0.0.0', port: 0 })).toThrow(/auth\.allowOpen/);
    tw.config.auth = AUTH;
    const s = await startServer({}, tw);
    try {
      expect((await call(s.base, '/v1/status')).status).toBe(401);
      expect((await call(s.base, '/v1/status', bearer(ALICE))).status).toBe(200);
    } finally {
      await s.server.close();
    }
  });
});

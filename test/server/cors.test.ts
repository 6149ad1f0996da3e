/** CORS over the real server on loopback: preflights, simple requests, errors a page must be able to read, disallowed origins, `*`, and CORS off. */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthConfig } from '../../src/config/types.ts';
import { hashToken } from '../../src/server/auth.ts';
import { CorsPolicy } from '../../src/server/cors.ts';
import { normalizeOrigin, ownOrigins } from '../../src/security/origin.ts';
import { startServer, type Running } from './helpers.ts';

const TOKEN = 'tw_cors-0123456789abcdefghijklmnopqrstuvwxyzABC';
const APP = 'https://app.example.com';
const AUTH: AuthConfig = {
  tokens: [{ name: 'web', sha256: hashToken(TOKEN), channels: ['*'] }],
  jwt: undefined,
  allowOpen: false,
  httpRate: { rate: 0.1, burst: 4 },
};

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

function call(base: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(base + path, { method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

const CORS_HEADERS = ['access-control-allow-origin', 'access-control-allow-methods', 'access-control-allow-headers', 'access-control-max-age', 'access-control-expose-headers'];
const corsHeadersOf = (a: Answer) => CORS_HEADERS.filter((h) => a.headers[h] !== undefined);
const preflight = (origin: string) => ({ origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' });

let r: Running;

beforeAll(async () => {
  r = await startServer({ auth: AUTH, cors: { origins: [APP, 'http://localhost:3000'] } });
});

afterAll(async () => {
  await r.server.close();
});

describe('preflight', () => {
  it('an allowed origin gets 204 with methods, the Authorization header, the echoed origin and Vary: Origin, on any path', async () => {
    for (const path of ['/v1/candles/binance/BTCUSDT/1m', '/streamer/candles/BTCUSDT/1m', '/v1/status', '/anything']) {
      const a = await call(r.base, path, preflight(APP), 'OPTIONS');
      expect(a.status, path).toBe(204);
      expect(a.text).toBe('');
      expect(a.headers['content-length']).toBeUndefined();
      expect(a.headers['access-control-allow-origin']).toBe(APP);
      expect(a.headers['vary']).toBe('Origin');
      expect(a.headers['access-control-allow-methods']).toBe('GET, OPTIONS');
      expect(a.headers['access-control-allow-headers']).toBe('Authorization');
      expect(a.headers['access-control-max-age']).toBe('600');
    }
    // Needs no credentials and takes no rate.
    for (let i = 0; i < 6; i++) expect((await call(r.base, '/v1/status', preflight('http://localhost:3000'), 'OPTIONS')).status).toBe(204);
  });

  it('a disallowed origin gets no CORS headers (the browser then refuses)', async () => {
    for (const origin of ['https://evil.example', 'https://app.example.com.evil.example', 'http://app.example.com', 'null']) {
      const a = await call(r.base, '/v1/status', preflight(origin), 'OPTIONS');
      expect(a.status).toBe(204);
      expect(corsHeadersOf(a), origin).toEqual([]);
    }
  });
});

describe('actual requests', () => {
  it('an allowed origin reads answers, errors included (401 and 429 with Retry-After exposed)', async () => {
    const ok = await call(r.base, '/v1/symbols', { origin: APP, authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe(APP);
    expect(ok.headers['vary']).toBe('Origin');
    expect(ok.headers['access-control-expose-headers']).toBe('Retry-After');

    const unauthorized = await call(r.base, '/v1/symbols', { origin: APP });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers['access-control-allow-origin']).toBe(APP);

    const notFound = await call(r.base, '/nope', { origin: APP });
    expect(notFound.status).toBe(404);
    expect(notFound.headers['access-control-allow-origin']).toBe(APP);

    const metrics = await call(r.base, '/metrics', { origin: APP, authorization: `Bearer ${TOKEN}` });
    expect(metrics.status).toBe(200);
    expect(metrics.headers['access-control-allow-origin']).toBe(APP);

    // Burst of 4: two used above, two more, then refused.
    await call(r.base, '/v1/status', { origin: APP, authorization: `Bearer ${TOKEN}` });
    await call(r.base, '/v1/status', { origin: APP, authorization: `Bearer ${TOKEN}` });
    const limited = await call(r.base, '/v1/status', { origin: APP, authorization: `Bearer ${TOKEN}` });
    expect(limited.status).toBe(429);
    expect(limited.headers['access-control-allow-origin']).toBe(APP);
    expect(limited.headers['access-control-expose-headers']).toBe('Retry-After');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });

  it('public routes carry CORS headers too', async () => {
    const health = await call(r.base, '/health', { origin: 'http://localhost:3000' });
    expect(health.status).toBe(200);
    expect(health.headers['access-control-allow-origin']).toBe('http://localhost:3000');
  });

  it('a disallowed origin is refused (401, origin) with no CORS headers; no Origin at all is a non-browser client', async () => {
    const refused = await call(r.base, '/v1/symbols', { origin: 'https://evil.example', authorization: `Bearer ${TOKEN}` });
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.text)).toEqual({ error: { code: 'UNAUTHORIZED', message: 'origin "https://evil.example" is not allowed (server.cors.origins)' } });
    expect(corsHeadersOf(refused)).toEqual([]);
    const evil = await call(r.base, '/health', { origin: 'https://evil.example' });
    expect(evil.status).toBe(200); // public: nothing to protect, and no headers: the page cannot read it
    expect(corsHeadersOf(evil)).toEqual([]);
    expect(evil.headers['vary']).toBe('Origin');
    const none = await call(r.base, '/health');
    expect(corsHeadersOf(none)).toEqual([]);
    expect(none.headers['vary']).toBe('Origin');
  });
});

describe('DNS rebinding', () => {
  it('a page on a rebinding name (Origin and Host both naming it) is refused on HTTP and the upgrade; the server’s own page is not', async () => {
    const own = await startServer({ auth: { ...AUTH, httpRate: null }, cors: { origins: [APP] } });
    try {
      const host = `evil.example:${own.port}`;
      const evil = `http://${host}`;
      const bearer = `Bearer ${TOKEN}`;
      const refusedHttp = await call(own.base, '/v1/symbols', { origin: evil, host, authorization: bearer });
      expect(refusedHttp.status).toBe(401);
      expect(JSON.parse(refusedHttp.text).error.message).toBe(`origin "${evil}" is not allowed (server.cors.origins)`);
      const upgrade = await call(own.base, '/v1/stream', {
        origin: evil, host, authorization: bearer, connection: 'Upgrade', upgrade: 'websocket',
        'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      });
      expect(upgrade.status).toBe(401);
      expect(JSON.parse(upgrade.text).error.code).toBe('UNAUTHORIZED');
      // The dashboard, served by this server on its loopback address, whatever Host says.
      for (const origin of [`http://127.0.0.1:${own.port}`, `http://localhost:${own.port}`]) {
        expect((await call(own.base, '/v1/symbols', { origin, host, authorization: bearer })).status, origin).toBe(200);
      }
    } finally {
      await own.server.close();
    }
  });
});

describe('other configurations', () => {
  it('[*] echoes any origin', async () => {
    const any = await startServer({ cors: { origins: ['*'] } });
    try {
      const a = await call(any.base, '/v1/status', { origin: 'https://whoever.example' });
      expect(a.status).toBe(200);
      expect(a.headers['access-control-allow-origin']).toBe('https://whoever.example');
      const p = await call(any.base, '/v1/status', preflight('https://whoever.example'), 'OPTIONS');
      expect(p.headers['access-control-allow-origin']).toBe('https://whoever.example');
    } finally {
      await any.server.close();
    }
  });

  it('without origins (the default) no CORS header and no Vary at all', async () => {
    const off = await startServer();
    try {
      const a = await call(off.base, '/v1/status', { origin: APP });
      expect(a.status).toBe(200);
      expect(corsHeadersOf(a)).toEqual([]);
      expect(a.headers['vary']).toBeUndefined();
      const p = await call(off.base, '/v1/status', preflight(APP), 'OPTIONS');
      expect(p.status).toBe(204);
      expect(corsHeadersOf(p)).toEqual([]);
    } finally {
      await off.server.close();
    }
  });
});

describe('CorsPolicy and origins', () => {
  it('normalizes origins and refuses anything else', () => {
    expect(normalizeOrigin('https://App.Example.com:443/')).toBe('https://app.example.com');
    expect(normalizeOrigin('http://localhost:3000')).toBe('http://localhost:3000');
    for (const bad of ['app.example.com', 'https://app.example.com/path', 'https://u:p@app.example.com', 'ftp://x', 'https://a.com?', 'https://a.com#x', '*']) {
      expect(normalizeOrigin(bad), bad).toBeUndefined();
    }
  });

  it('matches an origin as the browser sends it, and the server’s own pages by the bound address, never by Host', () => {
    const p = new CorsPolicy({ origins: ['https://app.example.com'] });
    expect(p.allowsOrigin('https://app.example.com')).toBe(true);
    expect(p.allowsOrigin('https://APP.example.com:443')).toBe(true);
    expect(p.allowsOrigin('https://app.example.com:8443')).toBe(false);
    expect(p.allowsOrigin('')).toBe(true);
    expect(p.allowsOrigin('http://127.0.0.1:8080')).toBe(false); // not listening yet
    p.listening('127.0.0.1', 8080);
    for (const own of ['http://127.0.0.1:8080', 'http://localhost:8080', 'http://[::1]:8080', 'http://LOCALHOST:8080/']) expect(p.allowsOrigin(own), own).toBe(true);
    for (const other of ['http://127.0.0.1:8081', 'https://127.0.0.1:8080', 'http://gw:8080', 'null']) expect(p.allowsOrigin(other), other).toBe(false);
    expect(new CorsPolicy({ origins: [] }).allowsOrigin('https://anything.example')).toBe(true);
  });

  it('private origins: own pages and origins listed by name; * and no list let no page in', () => {
    const named = new CorsPolicy({ origins: ['https://app.example.com'] });
    named.listening('::1', 9000);
    expect(named.allowsPrivateOrigin('')).toBe(true);
    expect(named.allowsPrivateOrigin('https://app.example.com')).toBe(true);
    expect(named.allowsPrivateOrigin('http://[::1]:9000')).toBe(true);
    expect(named.allowsPrivateOrigin('https://evil.example')).toBe(false);
    const star = new CorsPolicy({ origins: ['*'] });
    expect(star.allowsOrigin('https://evil.example')).toBe(true);
    expect(star.allowsPrivateOrigin('https://evil.example')).toBe(false);
    expect(new CorsPolicy({ origins: [] }).allowsPrivateOrigin('https://evil.example')).toBe(false);
  });

  it('own origins follow the bound address: loopback and every-interface binds, one IP literal, never a name', () => {
    expect(ownOrigins('127.0.0.1', 8080)).toEqual(['http://localhost:8080', 'http://127.0.0.1:8080', 'http://[::1]:8080']);
    expect(ownOrigins('0.0.0.0', 80)).toEqual(['http://localhost', 'http://127.0.0.1', 'http://[::1]']);
    expect(ownOrigins('[::]', 8080)).toEqual(['http://localhost:8080', 'http://127.0.0.1:8080', 'http://[::1]:8080']);
    expect(ownOrigins('127.0.0.2', 8080)).toEqual(['http://localhost:8080', 'http://127.0.0.1:8080', 'http://[::1]:8080', 'http://127.0.0.2:8080']);
    expect(ownOrigins('10.1.2.3', 8080)).toEqual(['http://10.1.2.3:8080']);
    expect(ownOrigins('fd00::1', 8080)).toEqual(['http://[fd00::1]:8080']);
    expect(ownOrigins('gateway.example.com', 8080)).toEqual([]);
  });
});

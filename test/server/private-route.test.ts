/**
 * The private-route mechanism (state, holdings: admin, portfolios and
 * strategies are coming), on a test-only route registered through the same
 * `route()` the server's own routes use, over a real loopback socket: a
 * credential always (open server or not), in the Authorization header only,
 * a JSON content type for anything but GET, and no browser origin but the
 * server's own and those listed by name. Every refusal is a 401 counted by
 * reason.
 */
import { request } from 'node:http';
import { ConnectionLimits, connectionCaps } from '../../src/server/connection-limits.ts';
import uWS from 'uWebSockets.js';
import type { us_listen_socket, us_socket } from 'uWebSockets.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthConfig, CorsConfig } from '../../src/config/types.ts';
import { createAuthenticator, hashToken } from '../../src/server/auth.ts';
import { CorsPolicy } from '../../src/server/cors.ts';
import { route, type HttpContext } from '../../src/server/http-routes.ts';
import { ServerMetrics } from '../../src/server/metrics.ts';
import { FakeTickwire } from '../support/fake-tickwire.ts';

const TOKEN = 'tw_private-0123456789abcdefghijklmnopqrstuvwxyz';
const APP = 'https://app.example.com';
const WITH_TOKENS: AuthConfig = { tokens: [{ name: 'ops', sha256: hashToken(TOKEN), channels: ['*'] }], jwt: undefined, allowOpen: false, httpRate: null };
const OPEN: AuthConfig = { tokens: [], jwt: undefined, allowOpen: false, httpRate: null };

interface Served {
  base: string;
  port: number;
  metrics: ServerMetrics;
  close(): void;
}

/** A uWS app with one market route and one private route (GET and POST), both through `route()`. */
async function serve(auth: AuthConfig, corsConfig: CorsConfig): Promise<Served> {
  const app = uWS.App();
  const metrics = new ServerMetrics({ connections: () => 0, subscriptions: () => 0 });
  const cors = new CorsPolicy(corsConfig);
  const ctx: HttpContext = {
    tickwire: new FakeTickwire(),
    metrics,
    onError: (err) => {
      throw err;
    },
    authenticate: createAuthenticator(auth, { cors }),
    rateLimiter: undefined,
    connections: new ConnectionLimits(connectionCaps({}, undefined)),
    keepAliveNeedsCredential: false,
    candleCacheBytes: 0,
    cors,
  };
  const answer = (what: string) => (_req: unknown, who: { name: string }) => ({ status: 200, body: JSON.stringify({ what, who: who.name }) });
  route(app, ctx, 'get', '/test/market', 'v1', 'market', answer('market'));
  route(app, ctx, 'get', '/test/private', 'v1', 'private', answer('private read'));
  route(app, ctx, 'post', '/test/private', 'v1', 'private', answer('private change'));
  const listen = (app as unknown as { listen(h: string, p: number, o: number, cb: (s: us_listen_socket | false) => void): void }).listen;
  const socket = await new Promise<us_listen_socket>((resolve, reject) =>
    listen.call(app, '127.0.0.1', 0, 1, (s) => (s === false ? reject(new Error('listen failed')) : resolve(s))),
  );
  const port = uWS.us_socket_local_port(socket as unknown as us_socket);
  cors.listening('127.0.0.1', port);
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    metrics,
    close() {
      uWS.us_listen_socket_close(socket);
      (app as unknown as { close(): void }).close();
    },
  };
}

interface Answer {
  status: number;
  body: { what?: string; who?: string; error?: { code: string; message: string } };
}

function call(base: string, path: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(base + path, { method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function failures(s: Served, reason: string): Promise<number> {
  const text = await s.metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`tickwire_auth_failures_total{transport="http",reason="${reason}"}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

let tokens: Served;
let open: Served;

beforeAll(async () => {
  tokens = await serve(WITH_TOKENS, { origins: [APP] });
  open = await serve(OPEN, { origins: [] });
});

afterAll(() => {
  tokens.close();
  open.close();
});

describe('private routes on an open server', () => {
  it('are refused (401, private), whatever is sent; market routes stay open', async () => {
    expect(await call(open.base, '/test/market')).toEqual({ status: 200, body: { what: 'market', who: 'anonymous' } });
    for (const headers of [{}, { authorization: `Bearer ${TOKEN}` }] as Record<string, string>[]) {
      const a = await call(open.base, '/test/private', headers);
      expect(a.status).toBe(401);
      expect(a.body.error).toEqual({ code: 'UNAUTHORIZED', message: 'private route: this server has no credentials configured (auth.tokens or auth.jwt)' });
    }
    expect((await call(open.base, '/test/private', { 'content-type': 'application/json' }, 'POST', '{}')).status).toBe(401);
    expect(await failures(open, 'private')).toBe(3);
  });
});

describe('private routes on a server with credentials', () => {
  const bearer = { authorization: `Bearer ${TOKEN}` };
  const json = { 'content-type': 'application/json' };

  it('answer a credential in the Authorization header, from no origin, the server’s own page or a listed origin', async () => {
    expect(await call(tokens.base, '/test/private', bearer)).toEqual({ status: 200, body: { what: 'private read', who: 'ops' } });
    for (const origin of [`http://127.0.0.1:${tokens.port}`, `http://localhost:${tokens.port}`, APP]) {
      expect((await call(tokens.base, '/test/private', { ...bearer, origin })).status, origin).toBe(200);
    }
    const change = await call(tokens.base, '/test/private', { ...bearer, 'content-type': 'application/json; charset=utf-8' }, 'POST', '{"x":1}');
    expect(change).toEqual({ status: 200, body: { what: 'private change', who: 'ops' } });
  });

  it('refuse ?token= (a form or an <img> could send it), missing credentials and simple content types', async () => {
    const before = { private: await failures(tokens, 'private'), missing: await failures(tokens, 'missing') };
    const query = await call(tokens.base, `/test/private?token=${TOKEN}`);
    expect(query.status).toBe(401);
    expect(query.body.error?.message).toContain('never ?token=');
    expect((await call(tokens.base, `/test/market?token=${TOKEN}`)).status).toBe(200); // market data takes it
    expect((await call(tokens.base, '/test/private')).status).toBe(401);
    // What an HTML form can send: refused even with the credential.
    for (const type of ['application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/plain', '']) {
      const headers: Record<string, string> = type === '' ? { ...bearer } : { ...bearer, 'content-type': type };
      const a = await call(tokens.base, '/test/private', headers, 'POST', 'x=1');
      expect(a.status, type).toBe(401);
      expect(a.body.error?.message).toBe('private route: send Content-Type: application/json (a form or simple request is refused)');
    }
    expect(await failures(tokens, 'private')).toBe(before.private + 5);
    expect(await failures(tokens, 'missing')).toBe(before.missing + 1);
  });

  it('refuse other origins, a DNS-rebinding page (Origin and Host naming it) included, before reading the credential', async () => {
    const before = await failures(tokens, 'origin');
    const host = `evil.example:${tokens.port}`;
    for (const headers of [{ origin: 'https://evil.example' }, { origin: `http://${host}`, host }, { origin: 'null' }] as Record<string, string>[]) {
      const a = await call(tokens.base, '/test/private', { ...bearer, ...json, ...headers }, 'POST', '{}');
      expect(a.status).toBe(401);
      expect(a.body.error?.message).toContain('may not reach private routes');
    }
    expect(await failures(tokens, 'origin')).toBe(before + 3);
  });

  it('with server.cors.origins [*], any page reads market data and none reaches a private route', async () => {
    const star = await serve(WITH_TOKENS, { origins: ['*'] });
    try {
      expect((await call(star.base, '/test/market', { ...bearer, origin: 'https://whoever.example' })).status).toBe(200);
      expect((await call(star.base, '/test/private', { ...bearer, origin: 'https://whoever.example' })).status).toBe(401);
    } finally {
      star.close();
    }
  });
});

/**
 * JWTs from an identity provider over the real server on loopback: a local
 * node:http server publishes a JSON Web Key Set of keys generated here
 * (jose), tokens are signed with them, and the gateway verifies them on HTTP
 * routes and on the WebSocket upgrade. Covered: RS256, ES256 and EdDSA
 * accepted; wrong key, unknown kid, expired, missing exp, alg outside the
 * list refused (401, counted by reason); a key rotation picked up by a
 * refetch; the provider down or hanging refused with a clear reason while
 * the server keeps serving; a client that leaves while its token is being
 * checked; the cached path answering synchronously.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { AuthConfig, JwtConfig } from '../../src/config/types.ts';
import { createAuthenticator } from '../../src/server/auth.ts';
import type { AuthRequest } from '../../src/server/principal.ts';
import { Client, startServer, waitFor, type Running } from './helpers.ts';

interface Signer {
  readonly alg: string;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

async function signer(alg: string, kid: string): Promise<Signer> {
  const { publicKey, privateKey } = await generateKeyPair(alg);
  return { alg, kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

const NOW = () => Math.floor(Date.now() / 1000);

/** A JWT signed by `s` (its kid unless another is given); an hour's exp unless `claims` names exp. */
function token(s: Signer, claims: Record<string, unknown> = {}, header: { kid?: string; alg?: string } = {}): Promise<string> {
  const full = 'exp' in claims ? claims : { exp: NOW() + 3600, ...claims };
  const defined = Object.fromEntries(Object.entries({ aud: 'tickwire', ...full }).filter(([, v]) => v !== undefined));
  return new SignJWT(defined).setProtectedHeader({ alg: header.alg ?? s.alg, kid: header.kid ?? s.kid, typ: 'JWT' }).sign(s.privateKey);
}

/** The identity provider: serves `keys` at /jwks, counts fetches, can hold answers back. */
class Provider {
  keys: JWK[] = [];
  fetches = 0;
  #held: ServerResponse[] = [];
  hold = false;
  readonly server: Server;

  constructor() {
    this.server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
      if (req.url !== '/jwks') {
        res.writeHead(404).end();
        return;
      }
      this.fetches++;
      if (this.hold) this.#held.push(res);
      else this.#answer(res);
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/jwks`;
  }

  release(): void {
    this.hold = false;
    for (const res of this.#held.splice(0)) this.#answer(res);
  }

  #answer(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: this.keys }));
  }

  close(): Promise<void> {
    for (const res of this.#held.splice(0)) res.destroy();
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function auth(jwt: Omit<JwtConfig, 'issuer' | 'audience'>): AuthConfig {
  return { tokens: [], jwt: { issuer: undefined, audience: 'tickwire', ...jwt }, allowOpen: false, httpRate: null };
}

async function httpGet(base: string, path: string, bearer?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(base + path, { headers: bearer === undefined ? {} : { authorization: `Bearer ${bearer}` } });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
}

/** Try an upgrade; the open socket, or the refusal's status and body. */
function upgrade(url: string, options: WebSocket.ClientOptions & { protocols?: string[] } = {}): Promise<{ open: WebSocket } | { status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], options);
    ws.once('open', () => resolve({ open: ws }));
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        ws.terminate();
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
      });
    });
    ws.once('error', (err) => {
      if (ws.readyState !== WebSocket.CLOSED) reject(err);
    });
  });
}

let provider: Provider;
let jwksUrl: string;
let rs: Signer;
let es: Signer;
let ed: Signer;
let stranger: Signer;
let r: Running;
/** A token /metrics accepts, verified once at the start (cached after). */
let admin: string;

async function counter(reason: string, transport = 'http'): Promise<number> {
  const text = (await httpGet(r.base, '/metrics', admin)).body as string;
  const line = text.split('\n').find((l) => l.startsWith(`tickwire_auth_failures_total{transport="${transport}",reason="${reason}"}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

beforeAll(async () => {
  [rs, es, ed, stranger] = await Promise.all([signer('RS256', 'rs-1'), signer('ES256', 'es-1'), signer('EdDSA', 'ed-1'), signer('RS256', 'rs-1')]);
  provider = new Provider();
  jwksUrl = await provider.listen();
  provider.keys = [rs.jwk, es.jwk, ed.jwk];
  r = await startServer({ auth: auth({ jwksUrl, algorithms: ['RS256', 'ES256', 'EdDSA'], jwksCooldownS: 0 }) });
  admin = await token(rs, { sub: 'admin' });
  expect((await httpGet(r.base, '/v1/status', admin)).status).toBe(200);
});

afterAll(async () => {
  await r.server.close();
  await provider.close();
});

describe('tokens signed with the provider’s keys', () => {
  it('RS256, ES256 and EdDSA are accepted on HTTP, the subject naming the client and channels restricting it', async () => {
    for (const s of [rs, es, ed]) {
      const t = await token(s, { sub: `user-${s.alg}` });
      expect((await httpGet(r.base, '/v1/symbols', t)).status, s.alg).toBe(200);
    }
    const narrow = await token(es, { sub: 'narrow', channels: ['bars:binance:BTCUSDT:1m'] });
    expect((await httpGet(r.base, '/v1/candles/binance/BTCUSDT/1m', narrow)).status).toBe(200);
    const forbidden = await httpGet(r.base, '/v1/candles/binance/BTCUSDT/5m', narrow);
    expect(forbidden.status).toBe(401);
    expect(forbidden.body.error.message).toBe('narrow may not read bars:binance:BTCUSDT:5m');
  });

  it('are accepted on the WebSocket upgrade, by header and by subprotocol, first sight (awaited) and cached', async () => {
    for (const s of [rs, es, ed]) {
      const t = await token(s, { sub: `ws-${s.alg}`, channels: ['trades:binance:*'] });
      const byHeader = await Client.connect(r.wsUrl, [], { headers: { authorization: `Bearer ${t}` } });
      const bySubprotocol = await Client.connect(r.wsUrl, ['tickwire.json', `bearer.${t}`]);
      try {
        expect(await byHeader.subscribe(['trades:binance:BTCUSDT'])).toMatchObject({ type: 'subscribed' });
        expect(await bySubprotocol.subscribe(['quotes:binance:BTCUSDT'])).toMatchObject({ type: 'error', code: 'UNAUTHORIZED', message: `ws-${s.alg} may not read quotes:binance:BTCUSDT` });
      } finally {
        await byHeader.close();
        await bySubprotocol.close();
      }
    }
  });
});

describe('refusals', () => {
  it('wrong key, unknown kid, expired, missing exp and an alg outside the list: 401 UNAUTHORIZED, counted by reason', async () => {
    const cases: [string, Promise<string>, string, string][] = [
      ['wrong key', token(stranger), 'bad_signature', 'JWT signature does not match'],
      ['unknown kid', token(stranger, {}, { kid: 'nobody' }), 'unknown_key', 'matches no single key published at auth.jwt.jwksUrl'],
      ['expired', token(rs, { exp: NOW() - 120 }), 'expired', 'JWT expired at'],
      ['missing exp', token(es, { exp: undefined }), 'missing_exp', 'JWT has no exp claim'],
      ['alg outside the list', token(await signer('PS256', 'rs-1')), 'unsupported_alg', 'is not accepted, expected one of RS256, ES256, EdDSA'],
      ['wrong audience', token(rs, { aud: 'billing' }), 'wrong_audience', 'audience'],
    ];
    for (const [what, pending, reason, mention] of cases) {
      const t = await pending;
      const before = await counter(reason);
      const a = await httpGet(r.base, '/v1/symbols', t);
      expect(a.status, what).toBe(401);
      expect(a.body.error.code).toBe('UNAUTHORIZED');
      expect(a.body.error.message, what).toContain(mention);
      expect(await counter(reason), what).toBe(before + 1);
      const ws = await upgrade(r.wsUrl, { headers: { authorization: `Bearer ${t}` } });
      expect('status' in ws && ws.status, what).toBe(401);
    }
    // An HS256 token when only a JWKS is configured: refused for its alg, not checked against any key.
    const hs = 'eyJhbGciOiJIUzI1NiJ9.' + Buffer.from(JSON.stringify({ sub: 'x', exp: NOW() + 60 })).toString('base64url') + '.c2ln';
    expect((await httpGet(r.base, '/v1/symbols', hs)).body.error.message).toContain('alg "HS256" is not accepted');
  });
});

describe('key rotation', () => {
  it('a token signed with a newly published key is accepted after one refetch; the old key’s new tokens are refused', async () => {
    const next = await signer('ES256', 'es-2');
    const before = provider.fetches;
    provider.keys = [rs.jwk, next.jwk, ed.jwk]; // es-1 retired, es-2 published
    expect((await httpGet(r.base, '/v1/symbols', await token(next, { sub: 'rotated' }))).status).toBe(200);
    expect(provider.fetches).toBe(before + 1);
    const retired = await httpGet(r.base, '/v1/symbols', await token(es, { sub: 'old' }));
    expect(retired.status).toBe(401);
    expect(retired.body.error.message).toContain('matches no single key');
    provider.keys = [rs.jwk, es.jwk, ed.jwk, next.jwk];
  });
});

describe('the provider unreachable', () => {
  it('down: new tokens refused (jwks_unavailable) with a clear reason, counted; the server keeps serving', async () => {
    const gone = new Provider();
    const url = await gone.listen();
    await gone.close(); // nothing listens there now
    const down = await startServer({ auth: auth({ jwksUrl: url, jwksTimeoutMs: 1000 }) });
    try {
      for (let i = 0; i < 3; i++) {
        const a = await httpGet(down.base, '/v1/symbols', await token(rs, { sub: `u${i}` }));
        expect(a.status).toBe(401);
        expect(a.body.error.message).toMatch(/^JWT keys could not be fetched from auth\.jwt\.jwksUrl \(.+\); try again later$/);
      }
      const ws = await upgrade(down.wsUrl, { headers: { authorization: `Bearer ${await token(rs)}` } });
      expect('status' in ws && ws.body.error.message).toContain('could not be fetched');
      expect((await httpGet(down.base, '/health')).status).toBe(200);
      const metrics = await fetch(`${down.base}/metrics`, { headers: { authorization: 'Bearer x' } });
      expect(metrics.status).toBe(401);
      await metrics.text();
    } finally {
      await down.server.close();
    }
  });

  it('hanging: refused once jwksTimeoutMs passes; a client that leaves while its token is checked costs nothing', async () => {
    const slow = new Provider();
    slow.keys = [rs.jwk];
    const url = await slow.listen();
    slow.hold = true;
    const hung = await startServer({ auth: auth({ jwksUrl: url, jwksTimeoutMs: 200 }) });
    try {
      const a = await httpGet(hung.base, '/v1/symbols', await token(rs));
      expect(a.status).toBe(401);
      expect(a.body.error.message).toContain('(timed out)');

      // A WebSocket client and an HTTP client that hang up while their tokens wait on the provider.
      const ws = new WebSocket(hung.wsUrl, { headers: { authorization: `Bearer ${await token(rs, { sub: 'leaver' })}` } });
      ws.on('error', () => {});
      const controller = new AbortController();
      const leaving = fetch(`${hung.base}/v1/symbols`, { headers: { authorization: `Bearer ${await token(rs, { sub: 'leaver2' })}` }, signal: controller.signal }).catch(() => 'aborted');
      await waitFor(() => slow.fetches >= 2, 3000, 'the token checks to reach the provider');
      ws.terminate();
      controller.abort();
      expect(await leaving).toBe('aborted');
      slow.release();
      // Still serving, and a fresh token now verifies against the released provider.
      expect((await httpGet(hung.base, '/health')).status).toBe(200);
      expect((await httpGet(hung.base, '/v1/symbols', await token(rs, { sub: 'after' }))).status).toBe(200);
    } finally {
      await hung.server.close();
      await slow.close();
    }
  });
});

describe('cost per request', () => {
  it('a token seen before is answered synchronously from the cache (no promise, no signature check)', async () => {
    const authenticate = createAuthenticator(auth({ jwksUrl, jwksCooldownS: 0 }));
    const t = await token(ed, { sub: 'cached' });
    const request: AuthRequest = { authorization: `Bearer ${t}`, protocol: '', query: '', origin: '', remoteAddress: '127.0.0.1' };
    const first = authenticate(request);
    expect(first).toBeInstanceOf(Promise);
    const who = await first;
    const again = authenticate(request);
    expect(again).not.toBeInstanceOf(Promise);
    expect(again).toBe(who);
  });
});

describe('a flood of forged tokens', () => {
  it('from one address: cut off after auth.failureRate’s burst with 429 RATE_LIMITED unverified (counted), while a verified client from the same address keeps working', async () => {
    const BURST = 10;
    const flood = await startServer({ auth: { ...auth({ jwksUrl, jwksCooldownS: 0 }), failureRate: { rate: 0.5, burst: BURST } } });
    try {
      const valid = await token(es, { sub: 'valid' });
      expect((await httpGet(flood.base, '/v1/symbols', valid)).status).toBe(200);
      const forged = await Promise.all(Array.from({ length: 120 }, (_, i) => token(stranger, { sub: `forged-${i}` })));
      const statuses = new Map<number, number>();
      const started = performance.now();
      let retryAfter: string | null = null;
      for (let i = 0; i < forged.length; i += 20) {
        const answers = await Promise.all(forged.slice(i, i + 20).map((t) => fetch(`${flood.base}/v1/symbols`, { headers: { authorization: `Bearer ${t}` } })));
        for (const a of answers) {
          statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
          if (a.status === 429) {
            retryAfter = a.headers.get('retry-after');
            expect(((await a.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'RATE_LIMITED', message: expect.stringContaining('auth.failureRate') });
          } else {
            await a.text();
          }
        }
        // The verified client keeps working in the middle of the flood.
        expect((await httpGet(flood.base, '/v1/symbols', valid)).status).toBe(200);
      }
      const refilled = Math.ceil(((performance.now() - started) / 1000) * 0.5) + 1;
      const verifiedCount = statuses.get(401) ?? 0;
      expect(verifiedCount).toBeGreaterThanOrEqual(BURST);
      expect(verifiedCount).toBeLessThanOrEqual(BURST + refilled);
      expect(statuses.get(429)).toBe(forged.length - verifiedCount);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
      // The WebSocket upgrade is refused the same way; the valid client still upgrades.
      const ws = await upgrade(flood.wsUrl, { headers: { authorization: `Bearer ${await token(stranger, { sub: 'ws' })}` } });
      expect('status' in ws && [ws.status, ws.body.error.code]).toEqual([429, 'RATE_LIMITED']);
      const ok = await upgrade(flood.wsUrl, { headers: { authorization: `Bearer ${valid}` } });
      expect('open' in ok).toBe(true);
      if ('open' in ok) ok.open.terminate();
      const metrics = (await httpGet(flood.base, '/metrics', valid)).body as string;
      expect(metrics).toContain(`tickwire_auth_throttled_total{reason="failures"} ${forged.length - verifiedCount + 1}\n`);
    } finally {
      await flood.server.close();
    }
  });

  it('auth.jwt.maxPendingVerifications: checks beyond it are refused RATE_LIMITED at once (counted), and admitted again once they finish', async () => {
    const throttled: string[] = [];
    const authenticate = createAuthenticator(
      { ...auth({ jwksUrl, jwksCooldownS: 0, maxPendingVerifications: 3 }), failureRate: null },
      { onThrottled: (reason) => throttled.push(reason) },
    );
    const tokens = await Promise.all(Array.from({ length: 6 }, (_, i) => token(rs, { sub: `pending-${i}` })));
    const request = (t: string): AuthRequest => ({ authorization: `Bearer ${t}`, protocol: '', query: '', origin: '', remoteAddress: '127.0.0.1' });
    provider.hold = true; // the key fetch hangs: the checks stay in flight
    try {
      const inFlight = tokens.slice(0, 3).map((t) => authenticate(request(t)));
      for (const p of inFlight) expect(p).toBeInstanceOf(Promise);
      for (const t of tokens.slice(3, 5)) expect(() => authenticate(request(t))).toThrow(expect.objectContaining({ code: 'RATE_LIMITED' }));
      expect(throttled).toEqual(['pending', 'pending']);
      await waitFor(() => provider.fetches > 0);
      provider.release();
      expect((await Promise.all(inFlight)).map((p) => p.name)).toEqual(['pending-0', 'pending-1', 'pending-2']);
      expect((await authenticate(request(tokens[5]!))).name).toBe('pending-5');
    } finally {
      provider.release();
    }
  });
});

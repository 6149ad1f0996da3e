/** Authentication units: the HS256 JWT verifier (tokens signed here with node:crypto), channel patterns, credentials, the authenticator, the token commands. */
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AuthConfig } from '../../src/config/types.ts';
import { TickwireError } from '../../src/errors.ts';
import {
  AuthFailure,
  UnauthorizedError,
  createAuthenticator,
  generateToken,
  hashToken,
  readCredential,
  requireChannel,
  tokenCommand,
  verifyJwt,
  type JwtVerifyOptions,
} from '../../src/server/auth.ts';
import { isLoopbackHost } from '../../src/security/host.ts';
import { CorsPolicy } from '../../src/server/cors.ts';
import { ANONYMOUS, compileChannelPatterns, type AuthRequest, type Principal, type Protection } from '../../src/server/principal.ts';
import { parseChannelPattern } from '../../src/wire/channels.ts';

const SECRET = 'correct horse battery staple, 32+ bytes long';
const NOW = 1_723_161_255; // seconds
const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/**
 * A JWT made by hand: any header, any claims, signed with `key` (HMAC-SHA256) unless a signature is given.
 * An hour's `exp` is added unless `claims` names exp (`exp: undefined`: none at all).
 */
function jwt(claims: Record<string, unknown>, header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' }, key = SECRET): string {
  const head = b64(header) + '.' + b64('exp' in claims ? claims : { exp: NOW + 3600, ...claims });
  return head + '.' + createHmac('sha256', key).update(head).digest('base64url');
}

const opts = (more: Partial<JwtVerifyOptions> = {}): JwtVerifyOptions => ({ key: Buffer.from(SECRET), now: () => NOW, ...more });

/** The UnauthorizedError `fn` throws. */
function refused(fn: () => unknown): UnauthorizedError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(UnauthorizedError);
  expect((err as TickwireError).code).toBe('UNAUTHORIZED');
  return err as UnauthorizedError;
}

describe('verifyJwt', () => {
  it('accepts a well-signed token and returns its claims', () => {
    const claims = verifyJwt(jwt({ sub: 'alice', exp: NOW + 60, channels: ['trades:binance:*'] }), opts());
    expect(claims.sub).toBe('alice');
    expect(claims.channels).toEqual(['trades:binance:*']);
    expect(claims.all['exp']).toBe(NOW + 60);
    // No sub: valid.
    expect(verifyJwt(jwt({}), opts()).sub).toBeUndefined();
    // typ is optional and case-insensitive.
    expect(verifyJwt(jwt({ sub: 'x' }, { alg: 'HS256' }), opts()).sub).toBe('x');
    expect(verifyJwt(jwt({ sub: 'x' }, { alg: 'HS256', typ: 'jwt' }), opts()).sub).toBe('x');
  });

  it('refuses alg none, with or without a signature, and every alg but HS256', () => {
    const none = b64({ alg: 'none', typ: 'JWT' }) + '.' + b64({ sub: 'root' });
    expect(refused(() => verifyJwt(none + '.', opts())).reason).toBe(AuthFailure.UNSUPPORTED_ALG);
    // HS256 with the signature left off.
    expect(refused(() => verifyJwt(jwt({ sub: 'a' }).replace(/[^.]+$/, ''), opts())).reason).toBe(AuthFailure.BAD_SIGNATURE);
    const e = refused(() => verifyJwt(none + '.' + createHmac('sha256', SECRET).update(none).digest('base64url'), opts()));
    expect(e.reason).toBe(AuthFailure.UNSUPPORTED_ALG);
    expect(e.message).toBe('JWT alg "none" is not accepted, expected HS256');
    for (const alg of ['HS512', 'RS256', 'hs256', 'ES256']) {
      expect(refused(() => verifyJwt(jwt({ sub: 'a' }, { alg }), opts())).reason).toBe(AuthFailure.UNSUPPORTED_ALG);
    }
    expect(refused(() => verifyJwt(jwt({ sub: 'a' }, { typ: 'JWT' }), opts())).reason).toBe(AuthFailure.UNSUPPORTED_ALG);
    expect(refused(() => verifyJwt(jwt({ sub: 'a' }, { alg: 'HS256', crit: ['b64'] }), opts())).reason).toBe(AuthFailure.UNSUPPORTED_ALG);
    expect(refused(() => verifyJwt(jwt({ sub: 'a' }, { alg: 'HS256', typ: 'JOSE+JSON' }), opts())).reason).toBe(AuthFailure.MALFORMED);
  });

  it('refuses a wrong key, a tampered payload and a truncated or re-encoded signature', () => {
    expect(refused(() => verifyJwt(jwt({ sub: 'a' }, undefined, 'another secret of thirty-two bytes!'), opts())).reason).toBe(AuthFailure.BAD_SIGNATURE);
    const good = jwt({ sub: 'a', channels: ['trades:binance:BTCUSDT'] });
    const [h, , s] = good.split('.');
    const tampered = `${h}.${b64({ sub: 'a', channels: ['*'] })}.${s}`;
    const e = refused(() => verifyJwt(tampered, opts()));
    expect(e.reason).toBe(AuthFailure.BAD_SIGNATURE);
    expect(e.message).toBe('JWT signature does not match');
    expect(refused(() => verifyJwt(good.slice(0, -1), opts())).reason).toBe(AuthFailure.BAD_SIGNATURE);
    expect(refused(() => verifyJwt(good + 'A', opts())).reason).toBe(AuthFailure.BAD_SIGNATURE);
    // Padded base64 is not base64url.
    expect(refused(() => verifyJwt(good + '=', opts())).reason).toBe(AuthFailure.MALFORMED);
  });

  it('refuses malformed tokens without parsing further', () => {
    for (const t of ['', 'abc', 'a.b', 'a.b.c.d', '.b.c', 'a..c', 'a.b.', 'a+b.c.d', 'x'.repeat(9000)]) {
      expect(refused(() => verifyJwt(t, opts())).reason, t.slice(0, 20)).toBe(AuthFailure.MALFORMED);
    }
    const notJson = b64('not json') + '.' + b64({}) + '.sig';
    expect(refused(() => verifyJwt(notJson, opts())).message).toBe('JWT header is not base64url-encoded JSON');
    const arrayHeader = b64([1]) + '.' + b64({}) + '.sig';
    expect(refused(() => verifyJwt(arrayHeader, opts())).message).toBe('JWT header is not a JSON object');
    // A payload that is not an object, properly signed.
    const head = b64({ alg: 'HS256' }) + '.' + b64('[1,2]');
    const signed = head + '.' + createHmac('sha256', SECRET).update(head).digest('base64url');
    expect(refused(() => verifyJwt(signed, opts())).message).toBe('JWT payload is not a JSON object');
  });

  it('requires exp unless requireExp is false (a token without one would be valid forever)', () => {
    const forever = jwt({ sub: 'x', exp: undefined });
    const e = refused(() => verifyJwt(forever, opts()));
    expect(e.reason).toBe(AuthFailure.MISSING_EXP);
    expect(e.message).toBe('JWT has no exp claim (expiry), required by auth.jwt.requireExp');
    expect(refused(() => verifyJwt(forever, opts({ requireExp: true }))).reason).toBe(AuthFailure.MISSING_EXP);
    expect(verifyJwt(forever, opts({ requireExp: false })).sub).toBe('x');
    // The signature is checked first: a forged token without exp is a bad signature, not a missing exp.
    expect(refused(() => verifyJwt(jwt({ exp: undefined }, undefined, 'another secret of thirty-two bytes!'), opts())).reason).toBe(AuthFailure.BAD_SIGNATURE);
  });

  it('checks exp and nbf with a 30 s tolerance', () => {
    expect(verifyJwt(jwt({ exp: NOW - 29 }), opts()).all['exp']).toBe(NOW - 29);
    const e = refused(() => verifyJwt(jwt({ exp: NOW - 31 }), opts()));
    expect(e.reason).toBe(AuthFailure.EXPIRED);
    expect(e.message).toBe(`JWT expired at ${new Date((NOW - 31) * 1000).toISOString().replace('.000Z', 'Z')}`);
    expect(verifyJwt(jwt({ nbf: NOW + 29 }), opts()).all['nbf']).toBe(NOW + 29);
    expect(refused(() => verifyJwt(jwt({ nbf: NOW + 31 }), opts())).reason).toBe(AuthFailure.NOT_YET_VALID);
    expect(refused(() => verifyJwt(jwt({ exp: NOW - 5 }), opts({ clockToleranceS: 0 }))).reason).toBe(AuthFailure.EXPIRED);
    expect(refused(() => verifyJwt(jwt({ exp: String(NOW + 60) }), opts())).reason).toBe(AuthFailure.BAD_CLAIMS);
    expect(refused(() => verifyJwt(jwt({ iat: 'yesterday' }), opts())).reason).toBe(AuthFailure.BAD_CLAIMS);
  });

  it('checks iss and aud when configured; a token with an aud needs one configured', () => {
    expect(verifyJwt(jwt({ iss: 'idp' }), opts({ issuer: 'idp' })).all['iss']).toBe('idp');
    expect(refused(() => verifyJwt(jwt({ iss: 'other' }), opts({ issuer: 'idp' }))).reason).toBe(AuthFailure.WRONG_ISSUER);
    expect(refused(() => verifyJwt(jwt({}), opts({ issuer: 'idp' }))).reason).toBe(AuthFailure.WRONG_ISSUER);

    expect(verifyJwt(jwt({ aud: 'tickwire' }), opts({ audience: 'tickwire' })).all['aud']).toBe('tickwire');
    expect(verifyJwt(jwt({ aud: ['billing', 'tickwire'] }), opts({ audience: 'tickwire' })).all['aud']).toEqual(['billing', 'tickwire']);
    const wrong = refused(() => verifyJwt(jwt({ aud: 'billing' }), opts({ audience: 'tickwire' })));
    expect(wrong.reason).toBe(AuthFailure.WRONG_AUDIENCE);
    expect(wrong.message).toBe('JWT audience (aud) does not name this server (auth.jwt.audience)');
    expect(refused(() => verifyJwt(jwt({}), opts({ audience: 'tickwire' }))).reason).toBe(AuthFailure.WRONG_AUDIENCE);
    expect(refused(() => verifyJwt(jwt({ aud: 'tickwire' }), opts())).reason).toBe(AuthFailure.WRONG_AUDIENCE);
  });

  it('checks the types of sub and channels', () => {
    expect(refused(() => verifyJwt(jwt({ sub: 42 }), opts())).reason).toBe(AuthFailure.BAD_CLAIMS);
    expect(refused(() => verifyJwt(jwt({ channels: 'trades:binance:*' }), opts())).reason).toBe(AuthFailure.BAD_CLAIMS);
    expect(refused(() => verifyJwt(jwt({ channels: ['*', 3] }), opts())).reason).toBe(AuthFailure.BAD_CLAIMS);
  });

  it('never echoes the token in a message', () => {
    const tokens = [
      jwt({ sub: 'a', exp: NOW - 100 }),
      jwt({ sub: 'a' }, undefined, 'a different secret, also long enough'),
      jwt({ sub: 'a' }, { alg: 'none' }),
      jwt({ aud: 'x' }),
    ];
    for (const t of tokens) {
      const m = refused(() => verifyJwt(t, opts({ audience: 'tickwire' }))).message;
      for (const part of t.split('.')) expect(m).not.toContain(part);
    }
  });
});

describe('channel patterns', () => {
  const allows = (patterns: string[], channel: string) => compileChannelPatterns(patterns)(channel);

  it('* alone allows everything, rooms included', () => {
    for (const ch of ['trades:binance:BTCUSDT', 'bars:kraken:XBT/USD:1m', 'system', 'alerts']) expect(allows(['*'], ch)).toBe(true);
    expect(allows(['trades:binance:BTCUSDT', '*'], 'alerts')).toBe(true);
  });

  it('* stands for one whole segment', () => {
    const p = ['trades:binance:*', 'bars:*:BTCUSDT:1m', 'quotes:kraken:XBT/USD'];
    expect(allows(p, 'trades:binance:BTCUSDT')).toBe(true);
    expect(allows(p, 'trades:binance:ETHUSDT')).toBe(true);
    expect(allows(p, 'trades:kraken:XBT/USD')).toBe(false);
    expect(allows(p, 'trades:binancex:BTCUSDT')).toBe(false);
    expect(allows(p, 'bars:binance:BTCUSDT:1m')).toBe(true);
    expect(allows(p, 'bars:bybit:BTCUSDT:1m')).toBe(true);
    expect(allows(p, 'bars:binance:BTCUSDT:5m')).toBe(false);
    expect(allows(p, 'bars:binance:BTCUSDTX:1m')).toBe(false);
    expect(allows(p, 'quotes:kraken:XBT/USD')).toBe(true);
    expect(allows(p, 'quotes:kraken:ETH/USD')).toBe(false);
    expect(allows(p, 'quotes:binance:BTCUSDT')).toBe(false);
    expect(allows(p, 'system')).toBe(false);
    expect(allows(['bars:binance:*:*'], 'bars:binance:ETHUSDT:1h')).toBe(true);
    expect(allows(['bars:binance:*:*'], 'trades:binance:ETHUSDT')).toBe(false);
  });

  it('symbols may hold colons; timeframes take MetaTrader names', () => {
    expect(allows(['trades:okx:BTC-PERP:USDT'], 'trades:okx:BTC-PERP:USDT')).toBe(true);
    expect(allows(['trades:okx:BTC-PERP'], 'trades:okx:BTC-PERP:USDT')).toBe(false);
    expect(allows(['bars:okx:BTC-PERP:USDT:M1'], 'bars:okx:BTC-PERP:USDT:1m')).toBe(true);
    expect(allows(['bars:okx:*:1m'], 'bars:okx:BTC-PERP:USDT:1m')).toBe(true);
    expect(allows(['bars:okx:*:1m'], 'bars:okx:BTC-PERP:USDT:5m')).toBe(false);
  });

  it('rooms match only themselves; malformed channels match nothing', () => {
    expect(allows(['system'], 'system')).toBe(true);
    expect(allows(['system'], 'systems')).toBe(false);
    expect(allows(['alerts'], 'system')).toBe(false);
    for (const ch of ['trades', 'trades:', 'trades:binance', 'trades:binance:', 'trades::BTCUSDT', 'bars:binance:BTCUSDT', 'bars:binance:BTCUSDT:', '']) {
      expect(allows(['trades:*:*', 'bars:*:*:*'], ch), ch).toBe(false);
    }
  });

  it('rejects partial wildcards, unknown kinds and timeframes, naming the pattern', () => {
    for (const bad of ['trades:binance:BTC*', 'trades:bin*:BTCUSDT', '*:binance:BTCUSDT', 'candles:binance:BTCUSDT', 'trades:binance', 'bars:binance:BTCUSDT:7m', 'bars:binance:1m', 'trades:binance:BTC USDT', 'systems', '']) {
      expect(typeof parseChannelPattern(bad), bad).toBe('string');
    }
    expect(() => compileChannelPatterns(['trades:binance:*', 'trades:binance:BTC*'])).toThrow('invalid channel pattern "trades:binance:BTC*"');
    expect(parseChannelPattern('bars:binance:BTCUSDT:H1')).toEqual({ kind: 'bars', exchange: 'binance', symbol: 'BTCUSDT', timeframe: '1h' });
  });
});

describe('credentials', () => {
  const req = (r: Partial<AuthRequest>): AuthRequest => ({ authorization: '', protocol: '', query: '', origin: '', remoteAddress: '127.0.0.1', ...r });

  it('reads Bearer, then a bearer.<token> subprotocol, then ?token=', () => {
    expect(readCredential(req({ authorization: 'Bearer abc', protocol: 'bearer.def', query: 'token=ghi' }))).toBe('abc');
    expect(readCredential(req({ authorization: 'bearer   abc ' }))).toBe('abc');
    expect(readCredential(req({ protocol: 'tickwire.json, bearer.def', query: 'token=ghi' }))).toBe('def');
    expect(readCredential(req({ protocol: 'tickwire.json', query: 'format=fbs&token=g%2Bhi' }))).toBe('g+hi');
    expect(readCredential(req({ protocol: 'bearer.', query: 'mytoken=x' }))).toBeUndefined();
    expect(readCredential(req({}))).toBeUndefined();
    expect(readCredential(req({ query: 'token=ghi' }), false)).toBeUndefined(); // a private route reads no query
    expect(readCredential(req({ authorization: 'Bearer abc', query: 'token=ghi' }), false)).toBe('abc');
  });

  it('refuses another Authorization scheme and oversized credentials', () => {
    expect(refused(() => readCredential(req({ authorization: 'Basic dXNlcjpwYXNz' }))).reason).toBe(AuthFailure.MALFORMED);
    expect(refused(() => readCredential(req({ authorization: 'Bearer a b' }))).reason).toBe(AuthFailure.MALFORMED);
    expect(refused(() => readCredential(req({ query: 'token=' + 'x'.repeat(9000) }))).reason).toBe(AuthFailure.MALFORMED);
  });

  it('loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com', 'localhost.example.com', '::ffff:10.0.0.1', '::2']) expect(isLoopbackHost(h), h).toBe(false);
  });
});

/** createAuthenticator, for credentials it answers synchronously (API tokens, HS256). */
function syncAuth(...args: Parameters<typeof createAuthenticator>): (r: AuthRequest, p?: Protection) => Principal {
  const authenticate = createAuthenticator(...args);
  return (r, p) => {
    const v = authenticate(r, p);
    if (v instanceof Promise) throw new Error('expected a synchronous answer');
    return v;
  };
}

describe('createAuthenticator', () => {
  const ALICE = generateToken();
  const BOB = generateToken();
  const auth = (more: Partial<AuthConfig> = {}): AuthConfig => ({
    tokens: [
      { name: 'alice', sha256: hashToken(ALICE), channels: ['*'] },
      { name: 'bob', sha256: hashToken(BOB).toUpperCase(), channels: ['trades:binance:*', 'bars:binance:BTCUSDT:1m'] },
    ],
    jwt: { secret: SECRET, issuer: undefined, audience: 'tickwire' },
    allowOpen: false,
    httpRate: { rate: 100, burst: 200 },
    ...more,
  });
  const req = (r: Partial<AuthRequest>): AuthRequest => ({ authorization: '', protocol: '', query: '', origin: '', remoteAddress: '127.0.0.1', ...r });
  const now = () => NOW;

  it('maps API tokens to their names and channels', () => {
    const authenticate = syncAuth(auth(), { now });
    const alice = authenticate(req({ authorization: `Bearer ${ALICE}` }));
    expect(alice.name).toBe('alice');
    expect(alice.allows('alerts')).toBe(true);
    const bob = authenticate(req({ protocol: `tickwire.json, bearer.${BOB}` }));
    expect(bob.name).toBe('bob');
    expect(bob.allows('trades:binance:ETHUSDT')).toBe(true);
    expect(bob.allows('bars:binance:BTCUSDT:5m')).toBe(false);
    // The same principal object each time: nothing compiled per request.
    expect(authenticate(req({ query: `token=${BOB}` }))).toBe(bob);
    expect(() => requireChannel(bob, 'bars:binance:BTCUSDT:1m')).not.toThrow();
    const e = refused(() => requireChannel(bob, 'quotes:binance:BTCUSDT'));
    expect(e.reason).toBe(AuthFailure.FORBIDDEN);
    expect(e.message).toBe('bob may not read quotes:binance:BTCUSDT');
  });

  it('remembers a verified JWT until it expires', () => {
    let t = NOW;
    const authenticate = syncAuth(auth(), { now: () => t });
    const token = jwt({ sub: 'erin', aud: 'tickwire', exp: NOW + 60, channels: ['alerts'] });
    const first = authenticate(req({ authorization: `Bearer ${token}` }));
    expect(authenticate(req({ query: `token=${token}` }))).toBe(first); // not verified nor compiled again
    t = NOW + 89;
    expect(authenticate(req({ authorization: `Bearer ${token}` }))).toBe(first);
    t = NOW + 91;
    expect(refused(() => authenticate(req({ authorization: `Bearer ${token}` }))).reason).toBe(AuthFailure.EXPIRED);
    // A refused token is not remembered: an alg none token is refused every time.
    const none = b64({ alg: 'none' }) + '.' + b64({ sub: 'root', aud: 'tickwire' }) + '.';
    for (let i = 0; i < 2; i++) expect(refused(() => authenticate(req({ authorization: `Bearer ${none}` }))).reason).toBe(AuthFailure.UNSUPPORTED_ALG);
  });

  it('maps JWTs to their subject and channels claim', () => {
    const authenticate = syncAuth(auth(), { now });
    const carol = authenticate(req({ authorization: `Bearer ${jwt({ sub: 'carol', aud: 'tickwire', channels: ['alerts'] })}` }));
    expect(carol.name).toBe('carol');
    expect(carol.allows('alerts')).toBe(true);
    expect(carol.allows('system')).toBe(false);
    const anyone = authenticate(req({ authorization: `Bearer ${jwt({ aud: 'tickwire' })}` }));
    expect(anyone.name).toBe('jwt');
    expect(anyone.allows('trades:kraken:XBT/USD')).toBe(true);
    const bad = refused(() => authenticate(req({ authorization: `Bearer ${jwt({ aud: 'tickwire', channels: ['trades:*:BTC*'] })}` })));
    expect(bad.reason).toBe(AuthFailure.BAD_CLAIMS);
  });

  it('refuses missing and unknown credentials with distinct reasons', () => {
    const authenticate = syncAuth(auth(), { now });
    const missing = refused(() => authenticate(req({})));
    expect(missing.reason).toBe(AuthFailure.MISSING);
    expect(missing.message).toContain('Authorization: Bearer');
    const unknown = refused(() => authenticate(req({ authorization: 'Bearer tw_not-a-real-token' })));
    expect(unknown.reason).toBe(AuthFailure.UNKNOWN_TOKEN);
    expect(unknown.message).not.toContain('tw_not-a-real-token');
    // Looks like a JWT: verified as one (and refused for what is wrong with it).
    expect(refused(() => authenticate(req({ authorization: 'Bearer aaa.bbb.ccc' }))).reason).toBe(AuthFailure.MALFORMED);
    const forged = jwt({ aud: 'tickwire' }, undefined, 'not the server secret, but long enough');
    expect(refused(() => authenticate(req({ authorization: `Bearer ${forged}` }))).reason).toBe(AuthFailure.BAD_SIGNATURE);
    // Without jwt configured, a JWT is just an unknown token.
    const tokensOnly = syncAuth(auth({ jwt: undefined }), { now });
    expect(refused(() => tokensOnly(req({ authorization: `Bearer ${jwt({ aud: 'tickwire' })}` }))).reason).toBe(AuthFailure.UNKNOWN_TOKEN);
  });

  it('open: everyone is ANONYMOUS, credentials ignored', () => {
    const authenticate = syncAuth(auth({ tokens: [], jwt: undefined }));
    expect(authenticate(req({}))).toBe(ANONYMOUS);
    expect(authenticate(req({ authorization: 'Bearer whatever' }))).toBe(ANONYMOUS);
  });

  it('with CORS origins set, refuses other browser origins: the Host header never lets one in (DNS rebinding)', () => {
    const authenticate = syncAuth(auth({ tokens: [], jwt: undefined }), { cors: { origins: ['https://app.example.com'] } });
    expect(authenticate(req({ origin: 'https://app.example.com' }))).toBe(ANONYMOUS);
    expect(authenticate(req({}))).toBe(ANONYMOUS);
    // A page on a rebinding name sends Origin and Host naming the same host: the request carries no Host to compare.
    for (const origin of ['http://gateway.local:8080', 'http://evil.example', 'https://evil.example']) {
      const e = refused(() => authenticate(req({ origin })));
      expect(e.reason).toBe(AuthFailure.ORIGIN);
      expect(e.message).toBe(`origin "${origin}" is not allowed (server.cors.origins)`);
    }
    // The server's own pages are known from the address it listens on.
    const cors = new CorsPolicy({ origins: ['https://app.example.com'] });
    const served = syncAuth(auth({ tokens: [], jwt: undefined }), { cors });
    expect(refused(() => served(req({ origin: 'http://127.0.0.1:8080' }))).reason).toBe(AuthFailure.ORIGIN);
    cors.listening('127.0.0.1', 8080);
    expect(served(req({ origin: 'http://127.0.0.1:8080' }))).toBe(ANONYMOUS);
    expect(served(req({ origin: 'http://localhost:8080' }))).toBe(ANONYMOUS);
    expect(refused(() => served(req({ origin: 'http://127.0.0.1:8081' }))).reason).toBe(AuthFailure.ORIGIN);
    // Without a list, any origin (public market data; browsers get no CORS headers to read HTTP answers).
    expect(syncAuth(auth({ tokens: [], jwt: undefined }), { cors: { origins: [] } })(req({ origin: 'https://evil.example' }))).toBe(ANONYMOUS);
  });

  it('private: a credential always, in the Authorization header or subprotocol only, from own or named origins only', () => {
    const open = syncAuth(auth({ tokens: [], jwt: undefined }));
    const noCredentials = refused(() => open(req({ authorization: 'Bearer whatever' }), 'private'));
    expect(noCredentials.reason).toBe(AuthFailure.PRIVATE);
    expect(noCredentials.message).toBe('private route: this server has no credentials configured (auth.tokens or auth.jwt)');
    expect(open(req({}), 'market')).toBe(ANONYMOUS);

    const cors = new CorsPolicy({ origins: ['https://app.example.com'] });
    cors.listening('127.0.0.1', 8080);
    const authenticate = syncAuth(auth(), { cors, now });
    expect(authenticate(req({ authorization: `Bearer ${ALICE}` }), 'private').name).toBe('alice');
    expect(authenticate(req({ protocol: `tickwire.json, bearer.${ALICE}` }), 'private').name).toBe('alice');
    expect(authenticate(req({ authorization: `Bearer ${jwt({ sub: 'erin', aud: 'tickwire' })}` }), 'private').name).toBe('erin');
    expect(authenticate(req({ authorization: `Bearer ${ALICE}`, origin: 'https://app.example.com' }), 'private').name).toBe('alice');
    expect(authenticate(req({ authorization: `Bearer ${ALICE}`, origin: 'http://localhost:8080' }), 'private').name).toBe('alice');
    // ?token= makes a simple request (a form, an <img>) possible: not for private routes.
    const query = refused(() => authenticate(req({ query: `token=${ALICE}` }), 'private'));
    expect(query.reason).toBe(AuthFailure.PRIVATE);
    expect(query.message).toContain('never ?token=');
    expect(authenticate(req({ query: `token=${ALICE}` })).name).toBe('alice'); // fine for market data
    expect(refused(() => authenticate(req({}), 'private')).reason).toBe(AuthFailure.MISSING);
    const evil = refused(() => authenticate(req({ authorization: `Bearer ${ALICE}`, origin: 'http://evil.example' }), 'private'));
    expect(evil.reason).toBe(AuthFailure.ORIGIN);
    expect(evil.message).toContain('may not reach private routes');
    // `*` lets any page read market data, never reach a private route.
    const star = syncAuth(auth(), { cors: { origins: ['*'] }, now });
    expect(star(req({ authorization: `Bearer ${ALICE}`, origin: 'https://whoever.example' })).name).toBe('alice');
    expect(refused(() => star(req({ authorization: `Bearer ${ALICE}`, origin: 'https://whoever.example' }), 'private')).reason).toBe(AuthFailure.ORIGIN);
  });

  it('refuses a config built in code with a bad hash, pattern or secret', () => {
    const base = auth();
    expect(() => syncAuth({ ...base, tokens: [{ name: 'x', sha256: 'not-hex', channels: ['*'] }] })).toThrow('auth.tokens[0].sha256');
    expect(() => syncAuth({ ...base, tokens: [{ name: 'x', sha256: hashToken('t'), channels: ['trades:BTC*'] }] })).toThrow('auth.tokens[0].channels');
    expect(() => syncAuth({ ...base, jwt: { secret: 'short', issuer: undefined, audience: undefined } })).toThrow('auth.jwt.secret');
  });
});

describe('token commands', () => {
  function io(stdin = '') {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (l: string) => void out.push(l), err: (l: string) => void err.push(l), readStdin: async () => stdin } };
  }

  it('tickwire token prints a fresh token and the entry holding its hash', async () => {
    const a = io();
    expect(await tokenCommand('token', ['alice'], a.io)).toBe(0);
    const text = a.out.join('\n');
    const token = /tw_[A-Za-z0-9_-]{43}/.exec(text)?.[0];
    expect(token).toBeDefined();
    const sha = createHash('sha256').update(token!).digest('hex');
    expect(text).toContain(`- { name: "alice", sha256: ${sha}, channels: ["*"] }`);
    const b = io();
    await tokenCommand('token', [], b.io);
    expect(b.out.join('\n')).not.toContain(token!);
    expect(await tokenCommand('token', ['no spaces'], io().io)).toBe(2);
  });

  it('tickwire hash-token hashes its argument or stdin', async () => {
    const a = io();
    expect(await tokenCommand('hash-token', ['tw_abcdefghijklmnopqrstuvwxyz'], a.io)).toBe(0);
    expect(a.out).toEqual([createHash('sha256').update('tw_abcdefghijklmnopqrstuvwxyz').digest('hex')]);
    const b = io('tw_from-stdin-0123456789\n');
    expect(await tokenCommand('hash-token', [], b.io)).toBe(0);
    expect(b.out).toEqual([createHash('sha256').update('tw_from-stdin-0123456789').digest('hex')]);
    expect(b.err.join('\n')).not.toContain('warning');
    const c = io();
    await tokenCommand('hash-token', ['short'], c.io);
    expect(c.err.join('\n')).toContain('warning');
    expect(await tokenCommand('hash-token', [], io('').io)).toBe(2);
    expect(await tokenCommand('hash-token', ['a', 'b'], io().io)).toBe(2);
  });
});

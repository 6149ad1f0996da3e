/** The `auth:` and `server.cors` config sections: defaults, values, and every rejection naming its key path without showing secrets. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigText, parseConfig } from '../../src/config/load.ts';
import { hashToken } from '../../src/server/auth.ts';
import { configError } from '../support/config-error.ts';

const SIM = { simulated: { symbols: ['SIM-BTC'] } };
const HASH = hashToken('tw_some-token-0123456789abcdefghijklmnopqrstu');
const SECRET = 'x'.repeat(32);

const withAuth = (auth: unknown, server: Record<string, unknown> = {}) => ({ server, auth, exchanges: SIM });

/** The message lines of a rejected config, without the source prefix. */
const problems = (input: unknown) => configError(() => parseConfig(input, 'c')).message.split('\n').map((l) => l.replace(/^c: /, ''));

describe('auth: defaults and values', () => {
  it('absent: open, 100 requests/s with bursts of 200, no CORS', () => {
    const c = parseConfig({ exchanges: SIM });
    expect(c.auth).toEqual({ tokens: [], jwt: undefined, allowOpen: false, httpRate: { rate: 100, burst: 200 }, failureRate: { rate: 2, burst: 20 } });
    expect(c.server.cors).toEqual({ origins: [] });
  });

  it('tokens keep name, a lower-case hash and channels (default all)', () => {
    const c = parseConfig(withAuth({
      tokens: [
        { name: 'alice', sha256: HASH.toUpperCase() },
        { name: 'bob.svc@prod', sha256: hashToken('other'), channels: ['trades:binance:*', 'bars:*:BTCUSDT:M1', 'system', 'alerts', 'bars:binance:*:*'] },
      ],
    }));
    expect(c.auth.tokens).toEqual([
      { name: 'alice', sha256: HASH, channels: ['*'], scopes: [] },
      { name: 'bob.svc@prod', sha256: hashToken('other'), channels: ['trades:binance:*', 'bars:*:BTCUSDT:M1', 'system', 'alerts', 'bars:binance:*:*'], scopes: [] },
    ]);
  });

  it('jwt from the environment; issuer and audience optional', () => {
    const c = loadConfigText('exchanges: { simulated: { symbols: [A] } }\nauth:\n  jwt:\n    secret: ${JWT_SECRET}\n    audience: tickwire\n', 't', { JWT_SECRET: 'y'.repeat(40) });
    expect(c.auth.jwt).toEqual({ secret: 'y'.repeat(40), issuer: undefined, audience: 'tickwire', requireExp: true });
  });

  it('jwt.jwksUrl: alone or with a secret; algorithms, cache, cooldown and timeout with their defaults', () => {
    const jwks = parseConfig(withAuth({ jwt: { jwksUrl: 'https://idp.example/.well-known/jwks.json', audience: 'tickwire' } })).auth.jwt;
    expect(jwks).toEqual({
      secret: undefined, issuer: undefined, audience: 'tickwire', requireExp: true, jwksUrl: 'https://idp.example/.well-known/jwks.json',
      algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'],
      jwksCacheMaxAgeS: 600, jwksCooldownS: 30, jwksTimeoutMs: 5000, maxPendingVerifications: 64,
    });
    const both = parseConfig(withAuth({ jwt: { secret: SECRET, jwksUrl: 'http://127.0.0.1:9999/jwks', algorithms: ['ES256'], jwksCooldownS: 0, jwksCacheMaxAgeS: 60, jwksTimeoutMs: 250 } })).auth.jwt;
    expect(both).toMatchObject({ secret: SECRET, jwksUrl: 'http://127.0.0.1:9999/jwks', algorithms: ['ES256'], jwksCooldownS: 0, jwksCacheMaxAgeS: 60, jwksTimeoutMs: 250 });
  });

  it('jwt.jwksUrl: https (http only on loopback), asymmetric algorithms only, settings only with a URL', () => {
    expect(problems(withAuth({ jwt: { jwksUrl: 'http://idp.example/jwks' } }))).toEqual([
      'auth.jwt.jwksUrl: got "http://idp.example/jwks", expected an https URL (http only on a loopback host: keys fetched in the clear could be replaced on the way)',
    ]);
    expect(problems(withAuth({ jwt: { jwksUrl: 'ftp://idp.example/jwks' } }))[0]).toMatch(/^auth\.jwt\.jwksUrl: got "ftp:\/\/idp\.example\/jwks", expected the identity provider/);
    expect(problems(withAuth({ jwt: { jwksUrl: 'https://idp.example/jwks', algorithms: ['RS256', 'HS256', 'none'] } }))).toEqual([
      'auth.jwt.algorithms[1]: got "HS256", expected one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA, Ed25519 (HS256 is for auth.jwt.secret alone)',
      'auth.jwt.algorithms[2]: got "none", expected one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA, Ed25519 (HS256 is for auth.jwt.secret alone)',
    ]);
    expect(problems(withAuth({ jwt: { jwksUrl: 'https://idp.example/jwks', algorithms: [] } }))[0]).toMatch(/^auth\.jwt\.algorithms: got an empty list, expected a non-empty list of RS256/);
    expect(problems(withAuth({ jwt: { secret: SECRET, algorithms: ['RS256'], jwksCooldownS: 5 } }))).toEqual([
      'auth.jwt.algorithms: got a list, expected no algorithms without auth.jwt.jwksUrl (a secret is always HS256)',
      'auth.jwt.jwksCooldownS: got 5, expected no value without auth.jwt.jwksUrl',
    ]);
    expect(problems(withAuth({ jwt: { jwksUrl: 'https://idp.example/jwks', jwksCacheMaxAgeS: 0, jwksTimeoutMs: 1.5 } }))).toEqual([
      'auth.jwt.jwksCacheMaxAgeS: got 0, expected an integer number of seconds from 1 to 86400',
      'auth.jwt.jwksTimeoutMs: got 1.5, expected an integer number of milliseconds from 100 to 60000',
    ]);
  });

  it('jwt.requireExp: true by default, false to accept tokens without exp', () => {
    expect(parseConfig(withAuth({ jwt: { secret: SECRET } })).auth.jwt?.requireExp).toBe(true);
    expect(parseConfig(withAuth({ jwt: { secret: SECRET, requireExp: false } })).auth.jwt?.requireExp).toBe(false);
    expect(problems(withAuth({ jwt: { secret: SECRET, requireExp: 'no' } }))).toEqual(['auth.jwt.requireExp: got "no", expected true or false']);
  });

  it('httpRate: a number (burst twice that) or { rate, burst }', () => {
    expect(parseConfig(withAuth({ httpRate: 5 })).auth.httpRate).toEqual({ rate: 5, burst: 10 });
    expect(parseConfig(withAuth({ httpRate: 0.5 })).auth.httpRate).toEqual({ rate: 0.5, burst: 1 });
    expect(parseConfig(withAuth({ httpRate: { rate: 50, burst: 60 } })).auth.httpRate).toEqual({ rate: 50, burst: 60 });
    expect(parseConfig(withAuth({ httpRate: { rate: 50 } })).auth.httpRate).toEqual({ rate: 50, burst: 100 });
    expect(parseConfig(withAuth({ httpRate: false })).auth.httpRate).toBeNull();
  });

  it('failureRate: { rate, burst } or false; jwt.maxPendingVerifications with a jwksUrl', () => {
    expect(parseConfig(withAuth({ failureRate: { rate: 1, burst: 5 } })).auth.failureRate).toEqual({ rate: 1, burst: 5 });
    expect(parseConfig(withAuth({ failureRate: false })).auth.failureRate).toBeNull();
    expect(problems(withAuth({ failureRate: 0 }))[0]).toMatch(/^auth\.failureRate: got 0, expected a number of failed authentications per second > 0/);
    const jwks = { jwksUrl: 'https://idp.example/jwks' };
    expect(parseConfig(withAuth({ jwt: { ...jwks, maxPendingVerifications: 8 } })).auth.jwt!.maxPendingVerifications).toBe(8);
    expect(problems(withAuth({ jwt: { ...jwks, maxPendingVerifications: 0 } }))[0]).toMatch(/^auth\.jwt\.maxPendingVerifications: got 0, expected an integer number of verifications from 1/);
    expect(problems(withAuth({ jwt: { secret: SECRET, maxPendingVerifications: 8 } }))[0]).toMatch(/^auth\.jwt\.maxPendingVerifications: got 8, expected no value without auth\.jwt\.jwksUrl/);
  });

  it('server.cors.origins: normalized origins, or * alone', () => {
    expect(parseConfig({ server: { cors: { origins: ['https://App.example.com/', 'http://localhost:3000'] } }, exchanges: SIM }).server.cors).toEqual({
      origins: ['https://app.example.com', 'http://localhost:3000'],
    });
    expect(parseConfig({ server: { cors: { origins: ['*'] } }, exchanges: SIM }).server.cors).toEqual({ origins: ['*'] });
  });
});

describe('auth: open on a non-loopback host', () => {
  it('is refused, naming auth.allowOpen and the host', () => {
    const err = configError(() => parseConfig(withAuth(undefined, { host: '0.0.0.0' }), 'tickwire.yaml'));
    expect(err.path).toBe('auth.allowOpen');
    expect(err.message).toBe(
      'tickwire.yaml: auth.allowOpen: got false while server.host "0.0.0.0" is not a loopback address and auth has neither tokens nor jwt ' +
        '(anyone who can reach it could read everything), expected auth.tokens or auth.jwt, or auth.allowOpen: true to serve open on purpose',
    );
  });

  it('is fine with allowOpen, with tokens or jwt, and on loopback', () => {
    expect(parseConfig(withAuth({ allowOpen: true }, { host: '0.0.0.0' })).auth.allowOpen).toBe(true);
    expect(parseConfig(withAuth({ tokens: [{ name: 'a', sha256: HASH }] }, { host: '0.0.0.0' })).auth.tokens).toHaveLength(1);
    expect(parseConfig(withAuth({ jwt: { secret: SECRET } }, { host: '::' })).auth.jwt?.secret).toBe(SECRET);
    for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '::1']) expect(parseConfig(withAuth(undefined, { host })).server.host).toBe(host);
  });

  it('does not show a host read from the environment', () => {
    const err = configError(() => loadConfigText('server: { host: "${HOST}" }\nexchanges: { simulated: { symbols: [A] } }\n', 't', { HOST: '10.1.2.3' }));
    expect(err.message).toContain('server.host the value of ${HOST} (not shown)');
    expect(err.message).not.toContain('10.1.2.3');
  });

  it('is not reported on top of invalid tokens (the tokens are the problem)', () => {
    expect(problems(withAuth({ tokens: [{ name: 'a', sha256: 'nope' }] }, { host: '0.0.0.0' }))).toEqual([
      'auth.tokens[0].sha256: got a value that is not 64 hex digits (not shown), expected the SHA-256 of the token as 64 hex digits (npx tickwire hash-token)',
    ]);
  });
});

describe('auth: rejections', () => {
  it('a plain token is never stored nor shown', () => {
    const token = 'tw_pasted-by-mistake-0123456789abcdef';
    const lines = problems(withAuth({ tokens: [{ name: 'a', token }, { name: 'b', sha256: token }] }));
    expect(lines).toEqual([
      'auth.tokens[0].token: unknown key, expected one of name, sha256, channels, scopes (store the SHA-256 of the token, never the token: npx tickwire hash-token)',
      'auth.tokens[0].sha256: missing, expected the SHA-256 of the token as 64 hex digits (npx tickwire hash-token)',
      'auth.tokens[1].sha256: got a value that is not 64 hex digits (not shown), expected the SHA-256 of the token as 64 hex digits (npx tickwire hash-token)',
    ]);
    expect(lines.join('\n')).not.toContain(token);
  });

  it('scopes: admin only, as a list', () => {
    expect(problems(withAuth({ tokens: [{ name: 'a', sha256: HASH, scopes: ['root'] }, { name: 'b', sha256: hashToken('2'), scopes: 'admin' }] }))).toEqual([
      'auth.tokens[0].scopes: got a list, expected a list of scopes, each one of admin',
      'auth.tokens[1].scopes: got "admin", expected a list of scopes, each one of admin',
    ]);
  });

  it('names, duplicates and channel patterns', () => {
    expect(problems(withAuth({
      tokens: [
        { name: 'a', sha256: HASH },
        { name: 'a', sha256: hashToken('2') },
        { name: 'has space', sha256: hashToken('3') },
        { name: 'c', sha256: HASH.toUpperCase() },
        { name: 'd', sha256: hashToken('4'), channels: ['trades:binance:BTC*', 'trades:nasdaq:*', 7] },
        { name: 'e', sha256: hashToken('5'), channels: [] },
      ],
    }))).toEqual([
      'auth.tokens[1].name: got "a", expected each name once (already at auth.tokens[0])',
      'auth.tokens[2].name: got "has space", expected a name of 1 to 64 letters, digits or . _ @ - (shown in logs and metrics)',
      'auth.tokens[3].sha256: same hash as auth.tokens[0], expected each token once',
      'auth.tokens[4].channels[0]: got "trades:binance:BTC*": invalid symbol segment "BTC*", expected *, system, alerts, trades:<exchange>:<symbol>, quotes:<exchange>:<symbol>, bars:<exchange>:<symbol>:<tf>, prices:<feed>, portfolio:<id>, predictions:<strategy>, signals:<strategy> or fills:<strategy>, with * for a whole segment',
      expect.stringMatching(/^auth\.tokens\[4\]\.channels\[1\]: got "trades:nasdaq:\*", expected a pattern naming a known exchange \(.*binance.*\) or \*$/),
      'auth.tokens[4].channels[2]: got 7, expected a channel pattern (text)',
      'auth.tokens[5].channels: got an empty list, expected a non-empty list of channel patterns (* for all, trades:binance:*, bars:*:BTCUSDT:1m, system, alerts)',
    ]);
    expect(problems(withAuth({ tokens: { name: 'a' } }))).toEqual(['auth.tokens: got a map, expected a list of { name, sha256, channels, scopes }']);
  });

  it('jwt: a missing, short or non-text secret is named, never shown', () => {
    expect(problems(withAuth({ jwt: { issuer: 'idp' } }))).toEqual([
      'auth.jwt.secret: missing, expected an HS256 secret of at least 32 bytes, from the environment (secret: ${TICKWIRE_JWT_SECRET}), or auth.jwt.jwksUrl',
    ]);
    const short = problems(withAuth({ jwt: { secret: 'hunter2hunter2' } }));
    expect(short).toEqual(['auth.jwt.secret: got 14 bytes (not shown), expected an HS256 secret of at least 32 bytes, from the environment (secret: ${TICKWIRE_JWT_SECRET})']);
    expect(problems(withAuth({ jwt: { secret: 12345 } }))[0]).toContain('got a number (not shown)');
    expect(problems(withAuth({ jwt: { secret: SECRET, issuer: '', alg: 'RS256' } }))).toEqual([
      'auth.jwt.alg: unknown key, expected one of secret, issuer, audience, requireExp, jwksUrl, algorithms, jwksCacheMaxAgeS, jwksCooldownS, jwksTimeoutMs, maxPendingVerifications',
      'auth.jwt.issuer: got "", expected the expected iss claim, a non-empty string',
    ]);
    expect(problems(withAuth({ jwt: 'secret' }))).toEqual(['auth.jwt: got "secret", expected a map with the keys secret, issuer, audience, requireExp, jwksUrl, algorithms, jwksCacheMaxAgeS, jwksCooldownS, jwksTimeoutMs, maxPendingVerifications']);
  });

  it('allowOpen, httpRate and unknown keys', () => {
    expect(problems(withAuth({ allowOpen: 'yes', httpRate: 0, users: [] }))).toEqual([
      'auth.users: unknown key, expected one of tokens, jwt, allowOpen, httpRate, failureRate',
      'auth.allowOpen: got "yes", expected true or false',
      expect.stringMatching(/^auth\.httpRate: got 0, expected a number of HTTP requests per second > 0/),
    ]);
    expect(problems(withAuth({ httpRate: { rate: 10, burst: 0.5 } }))[0]).toMatch(/^auth\.httpRate\.burst: got 0\.5, expected a whole number/);
    expect(problems(withAuth({ httpRate: true }))[0]).toMatch(/^auth\.httpRate: got true, expected a number of HTTP requests per second > 0/);
  });

  it('server.cors.origins', () => {
    const at = (origins: unknown) => problems({ server: { cors: { origins } }, exchanges: SIM });
    expect(at(['https://app.example.com/path', 'app.example.com', 'https://a.com', 'https://A.com'])).toEqual([
      'server.cors.origins[0]: got "https://app.example.com/path", expected an origin: http(s)://host[:port], without a path (https://app.example.com)',
      'server.cors.origins[1]: got "app.example.com", expected an origin: http(s)://host[:port], without a path (https://app.example.com)',
      'server.cors.origins[3]: got "https://A.com", expected each origin once',
    ]);
    expect(at(['*', 'https://a.com'])).toEqual(['server.cors.origins[0]: got "*", expected * alone ([*]), or a list of origins without it']);
    expect(at('*')).toEqual(['server.cors.origins: got "*", expected a list of origins such as https://app.example.com, or [*] for any']);
    expect(problems({ server: { cors: { allow: [] } }, exchanges: SIM })).toEqual(['server.cors.allow: unknown key, expected one of origins']);
  });
});

/**
 * The `auth:` section (docs/security.md): API tokens (stored as SHA-256,
 * never the token), JWTs (HS256 with a secret, RS/PS/ES/EdDSA against a JWKS
 * URL; `exp` required unless `requireExp: false`), serving open, and the per-client HTTP rate.
 * No token or jwt on a non-loopback host needs `allowOpen: true`.
 */
import type { Checker } from '../check/checker.ts';
import { indexPath, isMap, keyPath } from '../check/paths.ts';
import { isLoopbackHost, openServerProblem } from '../security/host.ts';
import {
  DEFAULT_JWKS_CACHE_MAX_AGE_S,
  DEFAULT_JWKS_COOLDOWN_S,
  DEFAULT_JWKS_MAX_PENDING,
  DEFAULT_JWKS_TIMEOUT_MS,
  JWKS_ALGORITHMS,
  MIN_JWT_SECRET_LENGTH,
  TOKEN_NAME_PATTERN,
  TOKEN_SCOPES,
} from '../security/token-rules.ts';
import { parseChannelPattern } from '../wire/channels.ts';
import { DEFAULT_AUTH_FAILURE_BURST, DEFAULT_AUTH_FAILURE_RATE, DEFAULT_HTTP_BURST, DEFAULT_HTTP_RATE } from './defaults.ts';
import { knownAdapterNames } from '../exchanges/registry.ts';
import { rateSection } from './rate.ts';
import type { ApiTokenConfig, AuthConfig, JwtConfig } from './types.ts';

const AUTH_KEYS = ['tokens', 'jwt', 'allowOpen', 'httpRate', 'failureRate'] as const;
const TOKEN_KEYS = ['name', 'sha256', 'channels', 'scopes'] as const;
const JWT_KEYS = ['secret', 'issuer', 'audience', 'requireExp', 'jwksUrl', 'algorithms', 'jwksCacheMaxAgeS', 'jwksCooldownS', 'jwksTimeoutMs', 'maxPendingVerifications'] as const;
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/** `auth:`; `host` is the validated `server.host` (serving open is refused off loopback). */
export function authSection(c: Checker, value: unknown, host: string): AuthConfig {
  const a = c.section(value, 'auth', AUTH_KEYS);
  const before = c.issues.length;
  const tokens = tokensSection(c, a.tokens);
  const jwt = jwtSection(c, a.jwt);
  const allowOpen = c.boolean(a.allowOpen, 'auth.allowOpen', false);
  // `false`: no limit (e.g. behind a proxy that limits, where every client shares its address).
  const httpRate = a.httpRate === false
    ? null
    : rateSection(c, a.httpRate, 'auth.httpRate', { rate: DEFAULT_HTTP_RATE, burst: DEFAULT_HTTP_BURST }, 'HTTP requests per second');
  // `false`: no limit (e.g. behind a proxy, where every client shares its address).
  const failureRate = a.failureRate === false
    ? null
    : rateSection(c, a.failureRate, 'auth.failureRate', { rate: DEFAULT_AUTH_FAILURE_RATE, burst: DEFAULT_AUTH_FAILURE_BURST }, 'failed authentications per second');
  // Only when auth is open on purpose (not because its tokens or jwt were invalid: those are reported already).
  if (tokens.length === 0 && jwt === undefined && !allowOpen && c.issues.length === before && !isLoopbackHost(host)) {
    c.issues.push({ path: 'auth.allowOpen', message: openServerProblem(c.describe('server.host', host).replace(/^got /, '')) });
  }
  return { tokens, jwt, allowOpen, httpRate, failureRate };
}

function tokensSection(c: Checker, value: unknown): ApiTokenConfig[] {
  if (value === undefined || value === null) return [];
  const shape = 'a list of { name, sha256, channels, scopes }';
  if (!Array.isArray(value)) {
    c.fail('auth.tokens', value, shape);
    return [];
  }
  const tokens: ApiTokenConfig[] = [];
  const names = new Map<string, string>();
  const hashes = new Map<string, string>();
  value.forEach((v, i) => {
    const path = indexPath('auth.tokens', i);
    if (!isMap(v)) {
      c.fail(path, v, shape);
      return;
    }
    // The value of an unknown key is never shown: `token: <the token>` is the likely mistake.
    c.unknownKeys(v, path, TOKEN_KEYS, (key) => (key === 'token' ? ' (store the SHA-256 of the token, never the token: npx tickwire hash-token)' : ''));
    let ok = true;
    const name = v.name;
    if (typeof name !== 'string' || !TOKEN_NAME_PATTERN.test(name)) {
      c.fail(keyPath(path, 'name'), name, 'a name of 1 to 64 letters, digits or . _ @ - (shown in logs and metrics)');
      ok = false;
    } else if (names.has(name)) {
      c.fail(keyPath(path, 'name'), name, `each name once (already at ${names.get(name)})`);
      ok = false;
    } else {
      names.set(name, path);
    }
    const sha = v.sha256;
    const shaPath = keyPath(path, 'sha256');
    const expectedSha = 'expected the SHA-256 of the token as 64 hex digits (npx tickwire hash-token)';
    if (sha === undefined || sha === null || sha === '') {
      c.issues.push({ path: shaPath, message: `missing, ${expectedSha}` });
      ok = false;
    } else if (typeof sha !== 'string' || !SHA256_HEX.test(sha)) {
      // Never shown: a token pasted here by mistake must not reach a log.
      c.issues.push({ path: shaPath, message: `got a value that is not 64 hex digits (not shown), ${expectedSha}` });
      ok = false;
    } else if (hashes.has(sha.toLowerCase())) {
      c.issues.push({ path: shaPath, message: `same hash as ${hashes.get(sha.toLowerCase())}, expected each token once` });
      ok = false;
    } else {
      hashes.set(sha.toLowerCase(), path);
    }
    const channels = channelPatterns(c, v.channels, keyPath(path, 'channels'));
    const scopes = scopeList(c, v.scopes, keyPath(path, 'scopes'));
    if (ok && channels !== undefined && scopes !== undefined) tokens.push({ name: name as string, sha256: (sha as string).toLowerCase(), channels, scopes });
  });
  return tokens;
}

/** Scopes of a token (default none); undefined when invalid (reported). */
function scopeList(c: Checker, value: unknown, path: string): string[] | undefined {
  if (value === undefined || value === null) return [];
  const expected = `a list of scopes, each one of ${TOKEN_SCOPES.join(', ')}`;
  if (!Array.isArray(value) || !value.every((v) => (TOKEN_SCOPES as readonly unknown[]).includes(v))) {
    c.fail(path, value, expected);
    return undefined;
  }
  return [...new Set(value as string[])];
}

/** Channel patterns of a token (default `['*']`); undefined when invalid (reported). */
function channelPatterns(c: Checker, value: unknown, path: string): string[] | undefined {
  if (value === undefined || value === null) return ['*'];
  if (!Array.isArray(value) || value.length === 0) {
    c.fail(path, value, 'a non-empty list of channel patterns (* for all, trades:binance:*, bars:*:BTCUSDT:1m, system, alerts)');
    return undefined;
  }
  let ok = true;
  value.forEach((v, i) => {
    const at = indexPath(path, i);
    if (typeof v !== 'string') {
      c.fail(at, v, 'a channel pattern (text)');
      ok = false;
      return;
    }
    const p = parseChannelPattern(v);
    if (typeof p === 'string') {
      c.issues.push({ path: at, message: `${c.describe(at, v)}: ${p}` });
      ok = false;
    } else if (p.exchange !== null && !knownAdapterNames().includes(p.exchange)) {
      c.fail(at, v, `a pattern naming a known exchange (${knownAdapterNames().join(', ')}) or *`);
      ok = false;
    }
  });
  return ok ? (value as string[]) : undefined;
}

function jwtSection(c: Checker, value: unknown): JwtConfig | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isMap(value)) {
    c.fail('auth.jwt', value, `a map with the keys ${JWT_KEYS.join(', ')}`);
    return undefined;
  }
  const j = c.section(value, 'auth.jwt', JWT_KEYS);
  const before = c.issues.length;
  const jwksUrl = jwksUrlOf(c, j.jwksUrl);
  const expected = `an HS256 secret of at least ${MIN_JWT_SECRET_LENGTH} bytes, from the environment (secret: \${TICKWIRE_JWT_SECRET})`;
  const s = j.secret;
  const at = 'auth.jwt.secret';
  let secret: string | undefined;
  if (s === undefined || s === null || s === '') {
    if (jwksUrl === undefined && c.issues.length === before) c.issues.push({ path: at, message: `missing, expected ${expected}, or auth.jwt.jwksUrl` });
  } else if (typeof s !== 'string') c.issues.push({ path: at, message: `got a ${Array.isArray(s) ? 'list' : typeof s} (not shown), expected ${expected}` });
  else if (Buffer.byteLength(s, 'utf8') < MIN_JWT_SECRET_LENGTH) {
    c.issues.push({ path: at, message: `got ${Buffer.byteLength(s, 'utf8')} bytes (not shown), expected ${expected}` });
  } else secret = s;
  const issuer = optionalText(c, j.issuer, 'auth.jwt.issuer', 'the expected iss claim, a non-empty string');
  const audience = optionalText(c, j.audience, 'auth.jwt.audience', 'the expected aud claim, a non-empty string');
  // Default true: a JWT without exp would be valid forever (docs/security.md, migrating).
  const requireExp = c.boolean(j.requireExp, 'auth.jwt.requireExp', true);
  const jwks = {
    algorithms: algorithmsOf(c, j.algorithms, jwksUrl !== undefined),
    jwksCacheMaxAgeS: jwksNumber(c, j, 'jwksCacheMaxAgeS', DEFAULT_JWKS_CACHE_MAX_AGE_S, 1, 86_400, 'seconds', jwksUrl),
    jwksCooldownS: jwksNumber(c, j, 'jwksCooldownS', DEFAULT_JWKS_COOLDOWN_S, 0, 3600, 'seconds', jwksUrl),
    jwksTimeoutMs: jwksNumber(c, j, 'jwksTimeoutMs', DEFAULT_JWKS_TIMEOUT_MS, 100, 60_000, 'milliseconds', jwksUrl),
    maxPendingVerifications: jwksNumber(c, j, 'maxPendingVerifications', DEFAULT_JWKS_MAX_PENDING, 1, 100_000, 'verifications', jwksUrl),
  };
  if (c.issues.length !== before || (secret === undefined && jwksUrl === undefined)) return undefined;
  return jwksUrl === undefined ? { secret, issuer, audience, requireExp } : { secret, issuer, audience, requireExp, jwksUrl, ...jwks };
}

/** `auth.jwt.jwksUrl`: https, or http on a loopback host (keys fetched in the clear on a network could be swapped). */
function jwksUrlOf(c: Checker, value: unknown): string | undefined {
  const path = 'auth.jwt.jwksUrl';
  const url = c.url(value, path, ['https:', 'http:'], "the identity provider's JSON Web Key Set URL (https://idp.example/.well-known/jwks.json)");
  if (url === undefined) return undefined;
  const u = new URL(url);
  if (u.protocol === 'http:' && !isLoopbackHost(u.hostname)) {
    c.fail(path, value, 'an https URL (http only on a loopback host: keys fetched in the clear could be replaced on the way)');
    return undefined;
  }
  return url;
}

function algorithmsOf(c: Checker, value: unknown, withJwks: boolean): string[] {
  const path = 'auth.jwt.algorithms';
  if (value === undefined || value === null) return [...JWKS_ALGORITHMS];
  if (!withJwks) {
    c.fail(path, value, 'no algorithms without auth.jwt.jwksUrl (a secret is always HS256)');
    return [];
  }
  const expected = `a non-empty list of ${JWKS_ALGORITHMS.join(', ')}`;
  if (!Array.isArray(value) || value.length === 0) {
    c.fail(path, value, expected);
    return [];
  }
  const out: string[] = [];
  value.forEach((v, i) => {
    if ((JWKS_ALGORITHMS as readonly unknown[]).includes(v)) out.push(v as string);
    else c.fail(indexPath(path, i), v, `one of ${JWKS_ALGORITHMS.join(', ')} (HS256 is for auth.jwt.secret alone)`);
  });
  return out;
}

function jwksNumber(c: Checker, j: Record<string, unknown>, key: string, fallback: number, min: number, max: number, unit: string, jwksUrl: string | undefined): number {
  const path = `auth.jwt.${key}`;
  if (jwksUrl === undefined && j[key] !== undefined && j[key] !== null) {
    c.fail(path, j[key], 'no value without auth.jwt.jwksUrl');
    return fallback;
  }
  return c.number(j[key], path, fallback, (n) => Number.isInteger(n) && n >= min && n <= max, `an integer number of ${unit} from ${min} to ${max}`);
}

function optionalText(c: Checker, value: unknown, path: string, expected: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' && value !== '') return value;
  c.fail(path, value, expected);
  return undefined;
}

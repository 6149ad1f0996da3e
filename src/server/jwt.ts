/**
 * JWT verification: HS256 by hand with node:crypto (`verifyJwt`), the claim
 * rules every verified JWT goes through, HS256 or from a JWKS (`checkClaims`,
 * used by jwks.ts too), and why a request is refused (`AuthFailure`,
 * `UnauthorizedError`), for auth.ts and jwks.ts alike.
 */
import { ErrorCode, TickwireError } from '../errors.ts';
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Why a request was refused: the `reason` label of `tickwire_auth_failures_total`. */
export const AuthFailure = {
  /** No credential at all. */
  MISSING: 'missing',
  /** An Authorization header that is not `Bearer <credential>`, or a JWT that does not parse. */
  MALFORMED: 'malformed',
  /** Neither a configured API token nor (with jwt configured) a JWT. */
  UNKNOWN_TOKEN: 'unknown_token',
  UNSUPPORTED_ALG: 'unsupported_alg',
  BAD_SIGNATURE: 'bad_signature',
  EXPIRED: 'expired',
  /** A JWT without `exp` while `auth.jwt.requireExp` is on (the default). */
  MISSING_EXP: 'missing_exp',
  NOT_YET_VALID: 'not_yet_valid',
  WRONG_ISSUER: 'wrong_issuer',
  WRONG_AUDIENCE: 'wrong_audience',
  /** A JWT whose `kid`/`alg` matches no single key published at `auth.jwt.jwksUrl`, even after a refetch. */
  UNKNOWN_KEY: 'unknown_key',
  /** The keys at `auth.jwt.jwksUrl` could not be fetched (down, slow, not a key set): new JWTs are refused meanwhile. */
  JWKS_UNAVAILABLE: 'jwks_unavailable',
  /** Claims of the wrong type, or a `channels` claim with an invalid pattern. */
  BAD_CLAIMS: 'bad_claims',
  /** A browser Origin outside `server.cors.origins` (for a private request: not listed by name, not the server's own). */
  ORIGIN: 'origin',
  /** A private route or channel asked for on a server without credentials, or with the credential in `?token=`. */
  PRIVATE: 'private',
  /** Authenticated, but not allowed this channel. */
  FORBIDDEN: 'forbidden',
} as const;
export type AuthFailure = (typeof AuthFailure)[keyof typeof AuthFailure];

/** A refused credential or channel (code UNAUTHORIZED); `reason` is stable, the message is for people. */
export class UnauthorizedError extends TickwireError {
  readonly reason: AuthFailure;

  constructor(reason: AuthFailure, message: string) {
    super(ErrorCode.UNAUTHORIZED, message);
    this.name = 'UnauthorizedError';
    this.reason = reason;
  }
}

/** Tolerance for `exp` and `nbf` against this machine's clock. */
export const JWT_CLOCK_TOLERANCE_S = 30;
/** Longest credential read (a JWT with a long channels claim fits; anything longer is refused unparsed). */
export const MAX_CREDENTIAL_LENGTH = 8192;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** What `verifyJwt` checks a token against. */
export interface JwtVerifyOptions {
  /** HMAC key bytes. */
  readonly key: Buffer;
  readonly issuer?: string | undefined;
  readonly audience?: string | undefined;
  /** Refuse a token without `exp` (default true: a token without one would be valid forever). */
  readonly requireExp?: boolean | undefined;
  /** Default JWT_CLOCK_TOLERANCE_S. */
  readonly clockToleranceS?: number;
  /** Seconds since the epoch; injectable for tests. */
  readonly now?: () => number;
}

/** The claims tickwire reads from a verified JWT (others are kept in `all`). */
export interface JwtClaims {
  readonly sub: string | undefined;
  /** Channel patterns, undefined when the claim is absent (everything allowed). */
  readonly channels: readonly string[] | undefined;
  /** The `scope` claim (OAuth 2: space-separated), split; [] when absent. */
  readonly scopes: readonly string[];
  readonly all: Readonly<Record<string, unknown>>;
}

function fail(reason: AuthFailure, message: string): UnauthorizedError {
  return new UnauthorizedError(reason, message);
}

function decodeJsonPart(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw fail(AuthFailure.MALFORMED, `JWT ${what} is not base64url-encoded JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail(AuthFailure.MALFORMED, `JWT ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

/** A short, safe rendering of a header value we refuse (never the signature or claims). */
function shown(v: unknown): string {
  return typeof v === 'string' && /^[A-Za-z0-9+._-]{1,20}$/.test(v) ? JSON.stringify(v) : 'an unsupported value';
}

function numericDate(claims: Record<string, unknown>, name: string): number | undefined {
  const v = claims[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw fail(AuthFailure.BAD_CLAIMS, `JWT claim ${name} must be a number of seconds since the epoch`);
  return v;
}

const isoSeconds = (s: number): string => new Date(s * 1000).toISOString().replace('.000Z', 'Z');

/** A compact JWT split, its header decoded (nothing verified yet). */
export interface ParsedJwt {
  readonly header: Readonly<Record<string, unknown>>;
  /** `header.payload`: what the signature covers. */
  readonly signingInput: string;
  readonly payloadPart: string;
  readonly signaturePart: string;
}

/** Split a JWT and decode its header; UnauthorizedError (MALFORMED) when it is not three base64url parts with a JSON header. */
export function parseJwt(token: string): ParsedJwt {
  if (token.length > MAX_CREDENTIAL_LENGTH) throw fail(AuthFailure.MALFORMED, `JWT longer than ${MAX_CREDENTIAL_LENGTH} characters`);
  const dot1 = token.indexOf('.');
  const dot2 = token.indexOf('.', dot1 + 1);
  // An empty signature passes this check so that an `alg: none` token is refused for its alg, the real problem.
  if (dot1 <= 0 || dot2 <= dot1 + 1 || token.indexOf('.', dot2 + 1) !== -1) {
    throw fail(AuthFailure.MALFORMED, 'JWT must be three base64url parts separated by dots');
  }
  const headerPart = token.slice(0, dot1);
  const payloadPart = token.slice(dot1 + 1, dot2);
  const signaturePart = token.slice(dot2 + 1);
  if (!BASE64URL.test(headerPart) || !BASE64URL.test(payloadPart) || (signaturePart !== '' && !BASE64URL.test(signaturePart))) {
    throw fail(AuthFailure.MALFORMED, 'JWT parts must be unpadded base64url');
  }

  return { header: decodeJsonPart(headerPart, 'header'), signingInput: token.slice(0, dot2), payloadPart, signaturePart };
}

/**
 * Verify an HS256 JWT and return its claims; throws UnauthorizedError with
 * the reason otherwise. Order: shape, header (alg, crit), signature, then the
 * claims (only once the signature holds).
 */
export function verifyJwt(token: string | ParsedJwt, options: JwtVerifyOptions): JwtClaims {
  const { header, signingInput, payloadPart, signaturePart } = typeof token === 'string' ? parseJwt(token) : token;
  if (header['alg'] !== 'HS256') throw fail(AuthFailure.UNSUPPORTED_ALG, `JWT alg ${shown(header['alg'])} is not accepted, expected HS256`);
  if (header['crit'] !== undefined) throw fail(AuthFailure.UNSUPPORTED_ALG, 'JWT header "crit" names extensions this server does not implement');
  const typ = header['typ'];
  if (typ !== undefined && (typeof typ !== 'string' || typ.toUpperCase() !== 'JWT')) {
    throw fail(AuthFailure.MALFORMED, `JWT typ ${shown(typ)} is not accepted, expected JWT`);
  }

  // Compare the canonical base64url text of the expected MAC with what was sent: equal lengths, constant time.
  const expected = Buffer.from(createHmac('sha256', options.key).update(signingInput, 'ascii').digest('base64url'), 'ascii');
  const given = Buffer.from(signaturePart, 'ascii');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw fail(AuthFailure.BAD_SIGNATURE, 'JWT signature does not match');

  return checkClaims(decodeJsonPart(payloadPart, 'payload'), options);
}

/**
 * The claim rules every verified JWT goes through, HS256 or from a JWKS
 * (jwks.ts): `exp` (required unless `requireExp: false`), `nbf` and `iat`
 * with the clock tolerance, `iss` and `aud` when configured (a token naming
 * an audience needs one configured), `sub` and `channels` types. Only call
 * it once the signature holds.
 */
export function checkClaims(claims: Record<string, unknown>, options: Omit<JwtVerifyOptions, 'key'>): JwtClaims {
  const now = options.now?.() ?? Date.now() / 1000;
  const tolerance = options.clockToleranceS ?? JWT_CLOCK_TOLERANCE_S;
  const exp = numericDate(claims, 'exp');
  const nbf = numericDate(claims, 'nbf');
  numericDate(claims, 'iat');
  if (exp === undefined && options.requireExp !== false) {
    throw fail(AuthFailure.MISSING_EXP, 'JWT has no exp claim (expiry), required by auth.jwt.requireExp');
  }
  if (exp !== undefined && now > exp + tolerance) throw fail(AuthFailure.EXPIRED, `JWT expired at ${isoSeconds(exp)}`);
  if (nbf !== undefined && now + tolerance < nbf) throw fail(AuthFailure.NOT_YET_VALID, `JWT not valid before ${isoSeconds(nbf)}`);

  if (options.issuer !== undefined && claims['iss'] !== options.issuer) {
    throw fail(AuthFailure.WRONG_ISSUER, `JWT issuer (iss) is not the one configured in auth.jwt.issuer`);
  }
  const aud = claims['aud'];
  if (aud !== undefined || options.audience !== undefined) {
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
    if (options.audience === undefined) {
      throw fail(AuthFailure.WRONG_AUDIENCE, 'JWT names an audience (aud) but auth.jwt.audience is not configured');
    }
    if (!audiences.includes(options.audience)) throw fail(AuthFailure.WRONG_AUDIENCE, 'JWT audience (aud) does not name this server (auth.jwt.audience)');
  }

  const sub = claims['sub'];
  if (sub !== undefined && typeof sub !== 'string') throw fail(AuthFailure.BAD_CLAIMS, 'JWT claim sub must be a string');
  const channels = claims['channels'];
  if (channels !== undefined && (!Array.isArray(channels) || !channels.every((c) => typeof c === 'string'))) {
    throw fail(AuthFailure.BAD_CLAIMS, 'JWT claim channels must be a list of channel patterns');
  }
  const scope = claims['scope'];
  if (scope !== undefined && typeof scope !== 'string') throw fail(AuthFailure.BAD_CLAIMS, 'JWT claim scope must be a space-separated string');
  return { sub, channels: channels as string[] | undefined, scopes: scope === undefined ? [] : scope.split(' ').filter((x) => x !== ''), all: claims };
}

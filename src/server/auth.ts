/**
 * Authentication: credentials in, a `Principal` (principal.ts) out, for both
 * the HTTP routes and the `/v1/stream` upgrade.
 *
 * Credentials, first found wins: `Authorization: Bearer <credential>`, a
 * WebSocket subprotocol `bearer.<credential>` (browsers cannot set headers on
 * a WebSocket; offer it next to `tickwire.json` or `tickwire.fbs`, which the
 * server selects), or `?token=<credential>` (last resort: URLs end up in logs).
 * A credential is either
 *  - an API token: the config keeps only its SHA-256 (`auth.tokens[].sha256`);
 *    the presented token is hashed and compared against every configured
 *    hash with `timingSafeEqual`, without stopping at a match; or
 *  - an HS256 JWT (`auth.jwt`), verified with node:crypto: header `alg` must
 *    be `HS256` (`none` and everything else refused), `crit` is refused,
 *    the signature is checked before any claim is read, then `exp`/`nbf`
 *    with a 30 s clock tolerance (`exp` required unless
 *    `auth.jwt.requireExp: false`), `iss` and `aud` when configured (a token
 *    carrying an `aud` is refused when none is configured, as RFC 7519 asks),
 *    and the optional `channels` claim (patterns; absent = all). The
 *    principal's name is the `sub` claim (`jwt` without one). A verified
 *    JWT is remembered (by its SHA-256, up to JWT_CACHE_SIZE) until its
 *    `exp`, so a client's later requests skip the HMAC and the parsing.
 *
 * No tokens and no jwt configured = open: every request for market data is
 * ANONYMOUS and credentials are ignored. Either way, when
 * `server.cors.origins` is set a browser `Origin` outside it is refused
 * (WebSocket has no CORS of its own), except the server's own pages, known
 * from the address it is bound to, never from the request's Host (cors.ts).
 *
 * A `private` request (principal.ts `Protection`) needs more, open server or
 * not: an origin the CORS policy allows for private use, a configured
 * credential, sent in the Authorization header or the WebSocket subprotocol
 * (never `?token=`). Refused: reason `private` (no credentials configured, or
 * the credential came in the query) or `origin`.
 *
 * Failures throw `UnauthorizedError` (code UNAUTHORIZED) with a stable
 * `reason` for metrics and a message that says what is wrong without ever
 * echoing the credential.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiTokenConfig, AuthConfig, CorsConfig, JwtConfig } from '../config/types.ts';
import { ErrorCode, showValue, TickwireError } from '../errors.ts';
import { MIN_JWT_SECRET_LENGTH, TOKEN_NAME_PATTERN } from '../security/token-rules.ts';
import { CorsPolicy } from './cors.ts';
import { ANONYMOUS, compileChannelPatterns, type Authenticate, type AuthRequest, type Principal, type Protection } from './principal.ts';

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
const SHA256_HEX = /^[0-9a-f]{64}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const BEARER = /^Bearer[ \t]+([^\s,]+)[ \t]*$/i;
const HOW_TO_SEND = 'send Authorization: Bearer <token>, the WebSocket subprotocol bearer.<token>, or ?token=<token>';
const HOW_TO_SEND_PRIVATE = 'private routes take Authorization: Bearer <token> (or the WebSocket subprotocol bearer.<token>), never ?token=';

// ── API tokens ─────────────────────────────────────────────────────────────

/** The SHA-256 of a token in lower-case hex: what `auth.tokens[].sha256` holds. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new random API token: `tw_` and 256 random bits in base64url (safe in headers, subprotocols and URLs). */
export function generateToken(): string {
  return 'tw_' + randomBytes(32).toString('base64url');
}

/** The `auth.tokens` entry (one YAML line) for a token of this name and hash. */
export function tokenConfigEntry(name: string, sha256: string, channels: readonly string[] = ['*']): string {
  return `- { name: ${JSON.stringify(name)}, sha256: ${sha256}, channels: [${channels.map((c) => JSON.stringify(c)).join(', ')}] }`;
}

// ── JWT ────────────────────────────────────────────────────────────────────

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

/**
 * Verify an HS256 JWT and return its claims; throws UnauthorizedError with
 * the reason otherwise. Order: shape, header (alg, crit), signature, then the
 * claims (only once the signature holds).
 */
export function verifyJwt(token: string, options: JwtVerifyOptions): JwtClaims {
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

  const header = decodeJsonPart(headerPart, 'header');
  if (header['alg'] !== 'HS256') throw fail(AuthFailure.UNSUPPORTED_ALG, `JWT alg ${shown(header['alg'])} is not accepted, expected HS256`);
  if (header['crit'] !== undefined) throw fail(AuthFailure.UNSUPPORTED_ALG, 'JWT header "crit" names extensions this server does not implement');
  const typ = header['typ'];
  if (typ !== undefined && (typeof typ !== 'string' || typ.toUpperCase() !== 'JWT')) {
    throw fail(AuthFailure.MALFORMED, `JWT typ ${shown(typ)} is not accepted, expected JWT`);
  }

  // Compare the canonical base64url text of the expected MAC with what was sent: equal lengths, constant time.
  const expected = Buffer.from(createHmac('sha256', options.key).update(token.slice(0, dot2), 'ascii').digest('base64url'), 'ascii');
  const given = Buffer.from(signaturePart, 'ascii');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw fail(AuthFailure.BAD_SIGNATURE, 'JWT signature does not match');

  const claims = decodeJsonPart(payloadPart, 'payload');
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
  return { sub, channels: channels as string[] | undefined, all: claims };
}

// ── credentials ────────────────────────────────────────────────────────────

/** The credential a request carries (header, then subprotocol, then query), or undefined. */
export function readCredential(request: AuthRequest): string | undefined {
  let credential: string | undefined;
  if (request.authorization !== '') {
    const m = BEARER.exec(request.authorization);
    if (m === null) throw fail(AuthFailure.MALFORMED, 'Authorization header: expected "Bearer <token>"');
    credential = m[1];
  }
  if (credential === undefined && request.protocol !== '') {
    for (const offered of request.protocol.split(',')) {
      const p = offered.trim();
      if (p.length > 7 && p.startsWith('bearer.')) {
        credential = p.slice(7);
        break;
      }
    }
  }
  if (credential === undefined && request.query.includes('token=')) {
    const q = new URLSearchParams(request.query).get('token');
    if (q !== null && q !== '') credential = q;
  }
  if (credential !== undefined && credential.length > MAX_CREDENTIAL_LENGTH) {
    throw fail(AuthFailure.MALFORMED, `credential longer than ${MAX_CREDENTIAL_LENGTH} characters`);
  }
  return credential;
}

/** True when `auth` configures no credentials at all. */
export function isOpen(auth: AuthConfig): boolean {
  return auth.tokens.length === 0 && auth.jwt === undefined;
}

// ── the authenticator ──────────────────────────────────────────────────────

/** Options of `createAuthenticator` beyond the `auth` config. */
export interface AuthenticatorOptions {
  /**
   * `server.cors`, or the server's policy (which also knows the server's own
   * origins once it listens): with origins set, a browser Origin outside them
   * is refused; private requests are refused any origin it does not allow
   * for private use.
   */
  readonly cors?: CorsConfig | CorsPolicy;
  /** JWT clock, seconds since the epoch (tests). */
  readonly now?: () => number;
}

interface TokenEntry {
  readonly hash: Buffer;
  readonly principal: Principal;
}

/** A JWT verified before: its principal, until `exp`. */
interface VerifiedJwt {
  readonly principal: Principal;
  readonly exp: number | undefined;
}

/** Verified JWTs remembered (by the SHA-256 of the token), so a client's every request does not re-verify and re-compile. */
export const JWT_CACHE_SIZE = 1024;

function principal(name: string, patterns: readonly string[] | undefined): Principal {
  if (patterns === undefined) return { name, allows: () => true };
  const allows = compileChannelPatterns(patterns);
  return { name, allows };
}

function configError(message: string): TickwireError {
  return new TickwireError(ErrorCode.INVALID_CONFIG, message);
}

function tokenEntry(t: ApiTokenConfig, i: number): TokenEntry {
  const sha = t.sha256.toLowerCase();
  if (!SHA256_HEX.test(sha)) throw configError(`auth.tokens[${i}].sha256: expected 64 hex digits, the SHA-256 of the token (npx tickwire hash-token)`);
  if (!TOKEN_NAME_PATTERN.test(t.name)) throw configError(`auth.tokens[${i}].name: expected 1 to 64 letters, digits or . _ @ -`);
  try {
    return { hash: Buffer.from(sha, 'hex'), principal: principal(t.name, t.channels) };
  } catch (err) {
    throw configError(`auth.tokens[${i}].channels: ${(err as Error).message}`);
  }
}

function jwtKey(jwt: JwtConfig): Buffer {
  const key = Buffer.from(jwt.secret, 'utf8');
  if (key.length < MIN_JWT_SECRET_LENGTH) throw configError(`auth.jwt.secret: expected at least ${MIN_JWT_SECRET_LENGTH} bytes`);
  return key;
}

/**
 * Build the `Authenticate` both transports call (HTTP routes and the
 * WebSocket upgrade). `auth` is the validated `auth` config section; it is
 * checked again here (hashes, names, patterns, secret length) so a config
 * built in code fails at start, not per request.
 */
export function createAuthenticator(auth: AuthConfig, options: AuthenticatorOptions = {}): Authenticate {
  const cors = options.cors === undefined ? new CorsPolicy({ origins: [] }) : options.cors instanceof CorsPolicy ? options.cors : new CorsPolicy(options.cors);
  const tokens = auth.tokens.map(tokenEntry);
  const jwt = auth.jwt;
  const key = jwt === undefined ? undefined : jwtKey(jwt);
  const open = isOpen(auth);
  const clock = options.now ?? (() => Date.now() / 1000);
  const verify: JwtVerifyOptions | undefined =
    key === undefined ? undefined : { key, issuer: jwt!.issuer, audience: jwt!.audience, requireExp: jwt!.requireExp, now: clock };
  const verified = new Map<string, VerifiedJwt>();

  /** The principal of a JWT: from the cache while unexpired, else verified in full (and remembered). */
  const jwtPrincipal = (token: string, digest: Buffer): Principal => {
    const id = digest.toString('base64');
    const hit = verified.get(id);
    if (hit !== undefined) {
      if (hit.exp === undefined || clock() <= hit.exp + JWT_CLOCK_TOLERANCE_S) return hit.principal;
      verified.delete(id); // expired: the full check below says so
    }
    const claims = verifyJwt(token, verify!);
    let p: Principal;
    try {
      p = principal(claims.sub === undefined || claims.sub === '' ? 'jwt' : claims.sub, claims.channels);
    } catch (err) {
      throw fail(AuthFailure.BAD_CLAIMS, `JWT claim channels: ${(err as Error).message}`);
    }
    if (verified.size >= JWT_CACHE_SIZE) verified.delete(verified.keys().next().value!);
    verified.set(id, { principal: p, exp: claims.all['exp'] as number | undefined });
    return p;
  };

  return (request, protection: Protection = 'market') => {
    let credential: string | undefined;
    if (protection === 'private') {
      if (!cors.allowsPrivateOrigin(request.origin)) {
        throw fail(AuthFailure.ORIGIN, `origin ${showValue(request.origin)} may not reach private routes (only this server's own pages and origins listed by name in server.cors.origins)`);
      }
      if (open) throw fail(AuthFailure.PRIVATE, 'private route: this server has no credentials configured (auth.tokens or auth.jwt)');
      credential = readCredential(request.query === '' ? request : { ...request, query: '' });
      if (credential === undefined) {
        throw fail(request.query.includes('token=') ? AuthFailure.PRIVATE : AuthFailure.MISSING, `missing credentials: ${HOW_TO_SEND_PRIVATE}`);
      }
    } else {
      if (!cors.allowsOrigin(request.origin)) throw fail(AuthFailure.ORIGIN, `origin ${showValue(request.origin)} is not allowed (server.cors.origins)`);
      if (open) return ANONYMOUS;
      credential = readCredential(request);
      if (credential === undefined) throw fail(AuthFailure.MISSING, `missing credentials: ${HOW_TO_SEND}`);
    }

    const digest = createHash('sha256').update(credential, 'utf8').digest();
    let found: Principal | undefined;
    // Every configured hash is compared, match or not: the time taken does not tell which one matched.
    for (const t of tokens) if (timingSafeEqual(digest, t.hash)) found = t.principal;
    if (found !== undefined) return found;
    if (verify !== undefined && isJwtShaped(credential)) return jwtPrincipal(credential, digest);
    throw fail(AuthFailure.UNKNOWN_TOKEN, jwt === undefined ? 'unknown API token' : 'neither a known API token nor a JWT');
  };
}

/** Exactly two dots: verified as a JWT, whose errors then say what is wrong with it (`alg: none` tokens end in a dot). */
function isJwtShaped(credential: string): boolean {
  const a = credential.indexOf('.');
  const b = a < 0 ? -1 : credential.indexOf('.', a + 1);
  return b > 0 && credential.indexOf('.', b + 1) === -1;
}

/** Check that `who` may read `channel`; UnauthorizedError (FORBIDDEN) naming the channel otherwise. */
export function requireChannel(who: Principal, channel: string): void {
  if (!who.allows(channel)) throw fail(AuthFailure.FORBIDDEN, `${who.name} may not read ${channel}`);
}

// ── `tickwire token` / `tickwire hash-token` ──────────────────────────────

/** Where the token commands write and read (the process's streams by default). */
export interface TokenCommandIO {
  out(line: string): void;
  err(line: string): void;
  /** The whole of standard input. */
  readStdin(): Promise<string>;
}

const PROCESS_IO: TokenCommandIO = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
  readStdin: async () => {
    let text = '';
    for await (const chunk of process.stdin) text += String(chunk);
    return text;
  },
};

/** Usage lines of the token commands, for the CLI's help. */
export const TOKEN_USAGE = `  tickwire token [NAME]        generate an API token; prints it and its auth.tokens entry (only the hash is stored)
  tickwire hash-token [TOKEN]  print the SHA-256 of TOKEN (read from stdin when absent) for auth.tokens`;

/**
 * `tickwire token [name]`: a new token and its config entry; `tickwire
 * hash-token [token]`: the hash of an existing token (from stdin when not
 * given, so it stays out of shell history and `ps`). Resolves to the exit code.
 */
export async function tokenCommand(command: 'token' | 'hash-token', args: readonly string[], io: TokenCommandIO = PROCESS_IO): Promise<number> {
  if (args.length > 1) {
    io.err(`tickwire ${command}: expected at most one argument\n${TOKEN_USAGE}`);
    return 2;
  }
  if (command === 'token') {
    const name = args[0] ?? 'client';
    if (!TOKEN_NAME_PATTERN.test(name)) {
      io.err(`tickwire token: name ${JSON.stringify(name)}: expected 1 to 64 letters, digits or . _ @ -`);
      return 2;
    }
    const token = generateToken();
    io.out(`token (give it to the client; tickwire keeps only its hash):\n  ${token}`);
    io.out(`add under auth.tokens in tickwire.yaml (narrow channels as needed):\n  ${tokenConfigEntry(name, hashToken(token))}`);
    return 0;
  }
  const token = args[0] ?? (await io.readStdin()).replace(/\r?\n$/, '');
  if (token === '') {
    io.err('tickwire hash-token: no token given (argument or stdin)');
    return 2;
  }
  if (token.length < 20) io.err('tickwire hash-token: warning: a token this short can be guessed; `tickwire token` makes a 256-bit one');
  const sha = hashToken(token);
  io.out(sha);
  io.err(`add under auth.tokens in tickwire.yaml:\n  ${tokenConfigEntry('client', sha)}`);
  return 0;
}

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
 *  - a JWT (`auth.jwt`): HS256 with `auth.jwt.secret`, verified by hand
 *    (jwt.ts), or RS/PS/ES/EdDSA against the keys at `auth.jwt.jwksUrl`
 *    (jwks.ts, with `jose`), chosen by the header's `alg` (`none` and
 *    anything not configured refused). Both check the signature before any
 *    claim, then the same claim rules (jwt.ts `checkClaims`: `exp` required
 *    unless `auth.jwt.requireExp: false`, `exp`/`nbf` with a 30 s
 *    tolerance, `iss` and `aud` when configured, the optional `channels`
 *    claim). The principal's name is the `sub` claim (`jwt` without one). A
 *    verified JWT is remembered (by its SHA-256, up to JWT_CACHE_SIZE) until
 *    its `exp`, so a client's later requests skip the signature and the
 *    parsing. A JWKS signature is checked asynchronously (WebCrypto on the
 *    thread pool): the first request with such a token gets a promise
 *    (`Authenticator`), later ones a principal at once.
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
 * Verification is bounded, since each forged JWT costs main-thread time
 * (150–280 µs for a JWKS one, measured) and a refused request never reaches
 * the HTTP rate limit (charged per principal): credentials that need
 * verifying (not a known API token, not a JWT verified before) are refused
 * RATE_LIMITED, unverified, while
 *  - their remote address has used up `auth.failureRate` (failed
 *    authentications per second and burst, per address: each verification
 *    takes a token up front, so concurrent ones cannot overrun it, and gets
 *    it back when it succeeds or the provider is unavailable), or
 *  - `auth.jwt.maxPendingVerifications` JWKS checks are in flight.
 * A client whose token was verified before keeps working from a throttled
 * address; `onThrottled` counts each refusal.
 *
 * Failures throw `UnauthorizedError` (code UNAUTHORIZED) with a stable
 * `reason` for metrics and a message that says what is wrong without ever
 * echoing the credential.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiTokenConfig, AuthConfig, CorsConfig, JwtConfig } from '../config/types.ts';
import { ErrorCode, showValue, TickwireError } from '../errors.ts';
import { DEFAULT_AUTH_FAILURE_BURST, DEFAULT_AUTH_FAILURE_RATE } from '../config/defaults.ts';
import { DEFAULT_JWKS_MAX_PENDING, MIN_JWT_SECRET_LENGTH, TOKEN_NAME_PATTERN, type TokenScope } from '../security/token-rules.ts';
import { CorsPolicy } from './cors.ts';
import { createJwksVerifier, type JwksVerifier } from './jwks.ts';
import {
  AuthFailure,
  JWT_CLOCK_TOLERANCE_S,
  MAX_CREDENTIAL_LENGTH,
  UnauthorizedError,
  parseJwt,
  verifyJwt,
  type JwtClaims,
  type JwtVerifyOptions,
} from './jwt.ts';
import { RateLimitedError, RateLimiter } from './rate-limit.ts';
import { ANONYMOUS, compileChannelPatterns, type Authenticator, type AuthRequest, type Principal, type Protection } from './principal.ts';

export { AuthFailure, JWT_CLOCK_TOLERANCE_S, MAX_CREDENTIAL_LENGTH, UnauthorizedError, checkClaims, verifyJwt } from './jwt.ts';
export type { JwtClaims, JwtVerifyOptions } from './jwt.ts';

function fail(reason: AuthFailure, message: string): UnauthorizedError {
  return new UnauthorizedError(reason, message);
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
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

// ── credentials ────────────────────────────────────────────────────────────

/** The credential a request carries (header, then subprotocol, then query unless `fromQuery` is false: private routes take none there), or undefined. */
export function readCredential(request: AuthRequest, fromQuery = true): string | undefined {
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
  if (credential === undefined && fromQuery && request.query.includes('token=')) {
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
  /** Told of each credential refused unverified (RATE_LIMITED): its address failed too often, or too many JWKS checks are in flight. */
  readonly onThrottled?: (reason: ThrottleReason) => void;
}

/** Why a credential was refused without being verified. */
export type ThrottleReason = 'failures' | 'pending';

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

function principal(name: string, patterns: readonly string[] | undefined, scopes: readonly string[] = []): Principal {
  if (patterns === undefined) return { name, allows: () => true, scopes };
  const allows = compileChannelPatterns(patterns);
  return { name, allows, scopes };
}

function configError(message: string): TickwireError {
  return new TickwireError(ErrorCode.INVALID_CONFIG, message);
}

function tokenEntry(t: ApiTokenConfig, i: number): TokenEntry {
  const sha = t.sha256.toLowerCase();
  if (!SHA256_HEX.test(sha)) throw configError(`auth.tokens[${i}].sha256: expected 64 hex digits, the SHA-256 of the token (npx tickwire hash-token)`);
  if (!TOKEN_NAME_PATTERN.test(t.name)) throw configError(`auth.tokens[${i}].name: expected 1 to 64 letters, digits or . _ @ -`);
  try {
    return { hash: Buffer.from(sha, 'hex'), principal: principal(t.name, t.channels, t.scopes) };
  } catch (err) {
    throw configError(`auth.tokens[${i}].channels: ${(err as Error).message}`);
  }
}

function jwtKey(jwt: JwtConfig): Buffer | undefined {
  if (jwt.secret === undefined) {
    if (jwt.jwksUrl === undefined) throw configError('auth.jwt: expected a secret (HS256) or a jwksUrl');
    return undefined;
  }
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
export function createAuthenticator(auth: AuthConfig, options: AuthenticatorOptions = {}): Authenticator {
  const cors = options.cors === undefined ? new CorsPolicy({ origins: [] }) : options.cors instanceof CorsPolicy ? options.cors : new CorsPolicy(options.cors);
  const tokens = auth.tokens.map(tokenEntry);
  const jwt = auth.jwt;
  const key = jwt === undefined ? undefined : jwtKey(jwt);
  const open = isOpen(auth);
  const clock = options.now ?? (() => Date.now() / 1000);
  const verify: JwtVerifyOptions | undefined =
    key === undefined ? undefined : { key, issuer: jwt!.issuer, audience: jwt!.audience, requireExp: jwt!.requireExp, now: clock };
  const jwks: JwksVerifier | undefined = jwt?.jwksUrl === undefined ? undefined : createJwksVerifier({ ...jwt, jwksUrl: jwt.jwksUrl }, clock);
  const verified = new Map<string, VerifiedJwt>();
  const failureRate = auth.failureRate === undefined ? { rate: DEFAULT_AUTH_FAILURE_RATE, burst: DEFAULT_AUTH_FAILURE_BURST } : auth.failureRate;
  const failures = failureRate === null ? undefined : new RateLimiter(failureRate.rate, failureRate.burst);
  const maxPending = jwt?.maxPendingVerifications ?? DEFAULT_JWKS_MAX_PENDING;
  let pending = 0;
  const throttled = options.onThrottled ?? (() => {});

  /** A JWT verified before and unexpired: its principal, else undefined. */
  const cachedJwt = (id: string): Principal | undefined => {
    const hit = verified.get(id);
    if (hit === undefined) return undefined;
    if (hit.exp === undefined || clock() <= hit.exp + JWT_CLOCK_TOLERANCE_S) return hit.principal;
    verified.delete(id); // expired: the full check says so
    return undefined;
  };

  /** A JWT verified in full (and remembered): HS256 at once, anything else against the JWKS (a promise, counted in flight). */
  const jwtPrincipal = (token: string, id: string): Principal | Promise<Principal> => {
    const parsed = parseJwt(token);
    if (jwks === undefined || (verify !== undefined && parsed.header['alg'] === 'HS256')) return remember(id, verifyJwt(parsed, verify!));
    if (pending >= maxPending) {
      throttled('pending');
      throw new RateLimitedError(1000, `too many JWT verifications in flight (auth.jwt.maxPendingVerifications: ${maxPending}); retry in 1 s`);
    }
    pending++;
    return jwks(token, parsed.header)
      .then((claims) => remember(id, claims))
      .finally(() => pending--);
  };

  /** A verification's outcome for its address's failure budget: only a refused credential keeps the token it took (the provider being down is no client's doing). */
  const settled = (address: string, err: unknown): void => {
    if (failures !== undefined && !(err instanceof UnauthorizedError && err.reason !== AuthFailure.JWKS_UNAVAILABLE)) failures.refund(address);
  };
  const failed = (address: string, err: unknown): never => {
    settled(address, err);
    throw err;
  };
  const passed = (address: string, who: Principal): Principal => {
    settled(address, undefined);
    return who;
  };

  const remember = (id: string, claims: JwtClaims): Principal => {
    let p: Principal;
    try {
      p = principal(claims.sub === undefined || claims.sub === '' ? 'jwt' : claims.sub, claims.channels, claims.scopes);
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
      credential = readCredential(request, false);
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
    const jwtShaped = jwt !== undefined && isJwtShaped(credential);
    const id = jwtShaped ? digest.toString('base64') : '';
    if (jwtShaped) {
      const known = cachedJwt(id);
      if (known !== undefined) return known;
    }
    const address = request.remoteAddress;
    const waitMs = failures?.take(address) ?? 0;
    if (waitMs > 0) {
      throttled('failures');
      throw new RateLimitedError(
        waitMs,
        `too many failed authentications from ${showValue(address)}: ${failures!.rate} per second with bursts of ${failures!.burst} (auth.failureRate); retry in ${Math.ceil(waitMs / 1000)} s`,
      );
    }
    try {
      if (!jwtShaped) throw fail(AuthFailure.UNKNOWN_TOKEN, jwt === undefined ? 'unknown API token' : 'neither a known API token nor a JWT');
      const who = jwtPrincipal(credential, id);
      return who instanceof Promise ? who.then((p) => passed(address, p), (err: unknown) => failed(address, err)) : passed(address, who);
    } catch (err) {
      return failed(address, err);
    }
  };
}

/** Exactly two dots: verified as a JWT, whose errors then say what is wrong with it (`alg: none` tokens end in a dot). */
function isJwtShaped(credential: string): boolean {
  const a = credential.indexOf('.');
  const b = a < 0 ? -1 : credential.indexOf('.', a + 1);
  return b > 0 && credential.indexOf('.', b + 1) === -1;
}

/** Check that `who` holds `scope` (token `scopes`, JWT `scope`); TickwireError FORBIDDEN (403) naming it otherwise. */
export function requireScope(who: Principal, scope: TokenScope): void {
  if (who.scopes?.includes(scope) !== true) {
    throw new TickwireError(ErrorCode.FORBIDDEN, `${who.name} lacks the ${scope} scope (auth.tokens[].scopes: [${scope}], or a JWT with "scope": "${scope}")`);
  }
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

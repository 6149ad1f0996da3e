/**
 * JWTs signed by an identity provider (Auth0, Keycloak, Okta, Cognito,
 * Google...): RS/PS/ES/EdDSA, verified with `jose` against the keys the
 * provider publishes at `auth.jwt.jwksUrl`. HS256 with a shared secret stays
 * with the hand-written verifier in auth.ts (`verifyJwt`); the claim rules
 * are the same function for both (`checkClaims`).
 *
 * Keys (jose's `createRemoteJWKSet`): fetched on first use and kept
 * `jwksCacheMaxAgeS`; a token whose `kid` matches none of them triggers one
 * refetch, at most once per `jwksCooldownS` (made-up kids cost the provider
 * one request per cooldown, not one per token): that is how a key rotation
 * is picked up. Exactly one key must match the token's `kid` and `alg`.
 * Redirects are not followed.
 *
 * Cost on the main thread: the `alg` check, base64url and JSON of the parts,
 * and a key lookup (keys are imported once). The signature check is
 * WebCrypto, which Node runs on its thread pool, so it is awaited: callers
 * get a promise. The authenticator remembers a verified token until its
 * `exp`, so a client's later requests are a hash lookup (auth.ts).
 *
 * Failures are `UnauthorizedError`s with the reasons the HS256 verifier uses,
 * plus `unknown_key` (no published key matches, even after a refetch) and
 * `jwks_unavailable` (the provider could not be reached in time, did not
 * answer 200 with a key set, or published an unusable key). While the
 * provider is down, tokens already verified keep working until their `exp`;
 * new ones are refused until it answers again.
 */
import { compactVerify, createRemoteJWKSet, errors } from 'jose';
import type { JwtConfig } from '../config/types.ts';
import {
  DEFAULT_JWKS_CACHE_MAX_AGE_S,
  DEFAULT_JWKS_COOLDOWN_S,
  DEFAULT_JWKS_TIMEOUT_MS,
  JWKS_ALGORITHMS,
} from '../security/token-rules.ts';
import { AuthFailure, checkClaims, UnauthorizedError, type JwtClaims } from './jwt.ts';

/** Verifies one JWT against the provider's keys; rejects with UnauthorizedError. */
export type JwksVerifier = (token: string, header: Readonly<Record<string, unknown>>) => Promise<JwtClaims>;

const JOSE_REASON: Readonly<Record<string, AuthFailure>> = {
  [errors.JOSEAlgNotAllowed.code]: AuthFailure.UNSUPPORTED_ALG,
  [errors.JOSENotSupported.code]: AuthFailure.UNSUPPORTED_ALG,
  [errors.JWSInvalid.code]: AuthFailure.MALFORMED,
  [errors.JWSSignatureVerificationFailed.code]: AuthFailure.BAD_SIGNATURE,
  [errors.JWKSNoMatchingKey.code]: AuthFailure.UNKNOWN_KEY,
  [errors.JWKSMultipleMatchingKeys.code]: AuthFailure.UNKNOWN_KEY,
};

const MESSAGES: Partial<Record<AuthFailure, string>> = {
  [AuthFailure.UNSUPPORTED_ALG]: 'JWT alg is not accepted for keys from auth.jwt.jwksUrl',
  [AuthFailure.MALFORMED]: 'JWT is not a valid compact JWS',
  [AuthFailure.BAD_SIGNATURE]: 'JWT signature does not match',
  [AuthFailure.UNKNOWN_KEY]: 'JWT key (kid and alg) matches no single key published at auth.jwt.jwksUrl',
};

/** What a failure of jose or of the fetch means for the client. */
function refusal(err: unknown): UnauthorizedError {
  if (err instanceof UnauthorizedError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const reason = typeof code === 'string' ? JOSE_REASON[code] : undefined;
  if (reason !== undefined) return new UnauthorizedError(reason, MESSAGES[reason]!);
  // Timeouts, refused connections, non-200 answers, bodies that are not a key set, keys that do not import.
  const why = err instanceof errors.JWKSTimeout ? 'timed out' : err instanceof Error ? err.message.slice(0, 120) : 'failed';
  return new UnauthorizedError(AuthFailure.JWKS_UNAVAILABLE, `JWT keys could not be fetched from auth.jwt.jwksUrl (${why}); try again later`);
}

/** A verifier for `jwt.jwksUrl`, with `jwt`'s issuer, audience, exp rule and algorithms. `now`: seconds since the epoch. */
export function createJwksVerifier(jwt: JwtConfig & { jwksUrl: string }, now: () => number): JwksVerifier {
  const keys = createRemoteJWKSet(new URL(jwt.jwksUrl), {
    cacheMaxAge: (jwt.jwksCacheMaxAgeS ?? DEFAULT_JWKS_CACHE_MAX_AGE_S) * 1000,
    cooldownDuration: (jwt.jwksCooldownS ?? DEFAULT_JWKS_COOLDOWN_S) * 1000,
    timeoutDuration: jwt.jwksTimeoutMs ?? DEFAULT_JWKS_TIMEOUT_MS,
  });
  const algorithms: readonly string[] = jwt.algorithms ?? JWKS_ALGORITHMS;
  const expected = `expected one of ${algorithms.join(', ')}`;
  const claimRules = { issuer: jwt.issuer, audience: jwt.audience, requireExp: jwt.requireExp, now };
  const verifyOptions = { algorithms: [...algorithms] };

  return async (token, header) => {
    // Checked before anything is fetched: an alg outside the list never reaches the provider.
    const alg = header['alg'];
    if (typeof alg !== 'string' || !algorithms.includes(alg)) {
      throw new UnauthorizedError(AuthFailure.UNSUPPORTED_ALG, `JWT alg ${typeof alg === 'string' && /^[A-Za-z0-9+._-]{1,20}$/.test(alg) ? JSON.stringify(alg) : 'an unsupported value'} is not accepted, ${expected}`);
    }
    let payload: Uint8Array;
    try {
      ({ payload } = await compactVerify(token, keys, verifyOptions));
    } catch (err) {
      throw refusal(err);
    }
    let claims: unknown;
    try {
      claims = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
    } catch {
      throw new UnauthorizedError(AuthFailure.MALFORMED, 'JWT payload is not JSON');
    }
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw new UnauthorizedError(AuthFailure.MALFORMED, 'JWT payload is not a JSON object');
    return checkClaims(claims as Record<string, unknown>, claimRules);
  };
}

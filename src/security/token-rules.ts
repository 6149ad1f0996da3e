/**
 * What an API token name, an HS256 secret and a JWKS setting must look like:
 * the config checks `auth.tokens[].name` and `auth.jwt` against these, and
 * the authenticator and `tickwire token` enforce the same.
 */

/** Shortest accepted HS256 secret (RFC 7518 §3.2: at least the hash's 256 bits). */
export const MIN_JWT_SECRET_LENGTH = 32;
/** Token names: shown in logs, keys of the rate limit. */
export const TOKEN_NAME_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/;
/**
 * Signature algorithms accepted for JWTs verified against `auth.jwt.jwksUrl`:
 * asymmetric only (an HMAC alg there would let anyone holding the public key
 * sign: the classic algorithm confusion).
 */
export const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;
export type JwksAlgorithm = (typeof JWKS_ALGORITHMS)[number];
/** `auth.jwt` JWKS defaults: keys kept 10 min; an unknown `kid` refetches at most every 30 s; a fetch waits 5 s. */
export const DEFAULT_JWKS_CACHE_MAX_AGE_S = 600;
export const DEFAULT_JWKS_COOLDOWN_S = 30;
export const DEFAULT_JWKS_TIMEOUT_MS = 5000;
/** `auth.jwt.maxPendingVerifications`: JWKS signature checks in flight at once (each ~150–280 µs of main thread, measured, plus thread-pool time). */
export const DEFAULT_JWKS_MAX_PENDING = 64;

/**
 * Scopes a credential may carry beyond reading channels (token `scopes`, the
 * JWT `scope` claim): `admin` allows the live changes of /v1/admin/*.
 */
export const TOKEN_SCOPES = ['admin'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

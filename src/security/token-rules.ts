/**
 * What an API token name and an HS256 secret must look like: the config
 * checks `auth.tokens[].name` and `auth.jwt.secret` against these, and the
 * authenticator and `tickwire token` enforce the same.
 */

/** Shortest accepted HS256 secret (RFC 7518 §3.2: at least the hash's 256 bits). */
export const MIN_JWT_SECRET_LENGTH = 32;
/** Token names: shown in logs, keys of the rate limit. */
export const TOKEN_NAME_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/;

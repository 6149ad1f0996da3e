/**
 * CORS for browsers (`server.cors.origins`).
 *
 * Decisions:
 *  - The list holds origins (`https://app.example.com`, scheme://host[:port]),
 *    or `*` alone for any origin. Empty (the default): no CORS headers at all,
 *    so browsers refuse cross-origin reads; same-origin pages (the built-in
 *    dashboard) never need them.
 *  - An allowed origin is echoed in `Access-Control-Allow-Origin` (also with
 *    `*`, so it works whatever the page's credentials mode) with
 *    `Vary: Origin`, on every answer, errors included: a page must be able to
 *    read a 401 or a 429 and its `Retry-After` (exposed).
 *  - Preflights (`OPTIONS` with `Access-Control-Request-Method`) are answered
 *    204 without authentication (browsers send no credentials on them):
 *    methods GET, OPTIONS; request header `Authorization`; cached 10 min.
 *    A disallowed origin gets the same 204 without CORS headers, which the
 *    browser treats as a refusal.
 *  - With a list set, a disallowed `Origin` is refused (401, reason
 *    `origin`) by the authenticator (auth.ts) on the WebSocket, which
 *    browsers do not apply CORS to, and on the private HTTP routes; public
 *    routes answer it, without CORS headers.
 */
import type { CorsConfig } from '../config/types.ts';
import { normalizeOrigin } from '../security/origin.ts';

/** Headers as name/value pairs, in order. */
export type HeaderList = readonly (readonly [string, string])[];

const NONE: HeaderList = [];
/** For a request a cross-origin page may not read: caches must still key on Origin. */
const VARY_ONLY: HeaderList = [['Vary', 'Origin']];
/** How long a browser may cache a preflight answer. */
export const PREFLIGHT_MAX_AGE_S = 600;
/** What the API answers: reads only. */
export const ALLOWED_METHODS = 'GET, OPTIONS';
/** The one non-simple request header a page needs: its credential. */
export const ALLOWED_HEADERS = 'Authorization';

/** Answers which origins may read the API cross-origin, and with which headers. */
export class CorsPolicy {
  readonly #any: boolean;
  readonly #origins: ReadonlySet<string>;

  /** `config.origins` as validated by the config loader (normalized origins, or `['*']`). */
  constructor(config: CorsConfig) {
    this.#any = config.origins.includes('*');
    this.#origins = new Set(config.origins);
  }

  /** True when any origin is configured (responses then vary by Origin). */
  get enabled(): boolean {
    return this.#any || this.#origins.size > 0;
  }

  /**
   * May a page at `origin` open the WebSocket? Yes without a list (nothing
   * configured), without an origin (not a browser), for a listed origin, and
   * for a page served by this server itself (`host`, the Host header, names
   * the origin's host: the built-in dashboard).
   */
  allowsOrigin(origin: string, host = ''): boolean {
    if (origin === '' || !this.enabled || this.#allowedCrossOrigin(origin)) return true;
    if (host === '') return false;
    const o = normalizeOrigin(origin);
    return o !== undefined && o.slice(o.indexOf('//') + 2) === host.toLowerCase();
  }

  /**
   * The CORS headers of an ordinary response to a request from `origin`:
   * nothing when CORS is off, only `Vary: Origin` when the origin is absent or
   * not allowed (so a shared cache never hands one origin's answer to another).
   */
  responseHeaders(origin: string): HeaderList {
    if (!this.enabled) return NONE;
    if (origin === '' || !this.#allowedCrossOrigin(origin)) return VARY_ONLY;
    return [
      ['Access-Control-Allow-Origin', origin],
      ['Vary', 'Origin'],
      ['Access-Control-Expose-Headers', 'Retry-After'],
    ];
  }

  /** The headers of a preflight answer (none when the origin is not allowed). */
  preflightHeaders(origin: string): HeaderList {
    if (origin === '' || !this.enabled || !this.#allowedCrossOrigin(origin)) return NONE;
    return [
      ['Access-Control-Allow-Origin', origin],
      ['Vary', 'Origin'],
      ['Access-Control-Allow-Methods', ALLOWED_METHODS],
      ['Access-Control-Allow-Headers', ALLOWED_HEADERS],
      ['Access-Control-Max-Age', String(PREFLIGHT_MAX_AGE_S)],
    ];
  }

  #allowedCrossOrigin(origin: string): boolean {
    return this.#any || this.#origins.has(origin) || this.#origins.has(normalizeOrigin(origin) ?? '');
  }
}

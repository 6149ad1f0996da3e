/**
 * CORS for browsers (`server.cors.origins`), and which browser origins may
 * reach the WebSocket and the credentialed routes.
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
 *    browsers do not apply CORS to, and on the market-data HTTP routes;
 *    public routes answer it, without CORS headers.
 *  - The server's own pages (the dashboard) are allowed besides the list.
 *    "Own" is decided from the address the server is bound to
 *    (`ownOrigins` in security/origin.ts, learnt at `listening()`), never
 *    from the request's `Host` header: a page on a DNS-rebinding name
 *    (`evil.example` resolving to 127.0.0.1) sends `Origin` and `Host` both
 *    naming `evil.example`, and was let in by an equality of the two.
 *  - Private routes and channels (`allowsPrivateOrigin`) accept no browser
 *    origin but the server's own and those listed by name: `*` never counts.
 */
import type { CorsConfig } from '../config/types.ts';
import { normalizeOrigin, ownOrigins } from '../security/origin.ts';

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
  /** Origins of the pages this server serves itself; empty until `listening()`. */
  #own: ReadonlySet<string> = new Set();

  /** `config.origins` as validated by the config loader (normalized origins, or `['*']`). */
  constructor(config: CorsConfig) {
    this.#any = config.origins.includes('*');
    this.#origins = new Set(config.origins);
  }

  /** True when any origin is configured (responses then vary by Origin). */
  get enabled(): boolean {
    return this.#any || this.#origins.size > 0;
  }

  /** The server is bound to `host:port` (the port actually bound): its own pages' origins follow from it. */
  listening(host: string, port: number): void {
    this.#own = new Set(ownOrigins(host, port));
  }

  /**
   * May a page at `origin` open the WebSocket or call a market-data route?
   * Yes without a list (nothing configured), without an origin (not a
   * browser), for a listed origin, and for a page this server serves itself.
   */
  allowsOrigin(origin: string): boolean {
    return origin === '' || !this.enabled || this.#allowedCrossOrigin(origin) || this.#isOwn(origin);
  }

  /**
   * May a page at `origin` reach a private route or channel (state, holdings)?
   * Only without an origin (not a browser), from this server's own pages, or
   * from an origin listed by name; `*` and an empty list let no other page in.
   */
  allowsPrivateOrigin(origin: string): boolean {
    return origin === '' || this.#isOwn(origin) || this.#origins.has(origin) || this.#origins.has(normalizeOrigin(origin) ?? '');
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

  #isOwn(origin: string): boolean {
    return this.#own.size > 0 && (this.#own.has(origin) || this.#own.has(normalizeOrigin(origin) ?? ''));
  }

  #allowedCrossOrigin(origin: string): boolean {
    return this.#any || this.#origins.has(origin) || this.#origins.has(normalizeOrigin(origin) ?? '');
  }
}

/**
 * Every route registered on the server's uWS app, as `{ method, pattern }`,
 * in registration order: recorded by wrapping the app, so a route added
 * anywhere (http-routes.ts, server.ts, a later module) is listed without
 * anyone remembering to. The API-reference test walks this list and fails
 * on a route the OpenAPI document does not describe
 * (test/server/api-reference.test.ts).
 */
import type { TemplatedApp } from 'uWebSockets.js';

/** uWS's registration methods; `ws` is a WebSocket upgrade (an HTTP GET). */
export type RouteMethod = 'get' | 'post' | 'put' | 'patch' | 'del' | 'head' | 'options' | 'connect' | 'trace' | 'any' | 'ws';

export interface RouteEntry {
  readonly method: RouteMethod;
  /** uWS pattern: `/v1/candles/:exchange/:symbol/:tf`, `/*`. */
  readonly pattern: string;
}

const METHODS: ReadonlySet<string> = new Set<RouteMethod>(['get', 'post', 'put', 'patch', 'del', 'head', 'options', 'connect', 'trace', 'any', 'ws']);

/** `app` wrapped so that each route registration is appended to `routes` before it reaches uWS. */
export function recordRoutes(app: TemplatedApp, routes: RouteEntry[]): TemplatedApp {
  const wrapper: TemplatedApp = new Proxy(app, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      if (typeof key !== 'string' || !METHODS.has(key)) return (value as (...a: unknown[]) => unknown).bind(target);
      return (pattern: string, ...rest: unknown[]) => {
        routes.push({ method: key as RouteMethod, pattern });
        (value as (...a: unknown[]) => unknown).call(target, pattern, ...rest);
        return wrapper; // uWS chains registrations
      };
    },
  });
  return wrapper;
}

/**
 * Browser origins as `server.cors.origins` holds them: the config normalizes
 * each listed origin with this, and the CORS policy compares a request's
 * `Origin` in the same form; `ownOrigins` names the pages the server serves
 * itself.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { isLoopbackHost } from './host.ts';

/** `https://App.example.com:443/` → `https://app.example.com`; undefined when it is not an http(s) origin. */
export function normalizeOrigin(text: string): string | undefined {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
  if (u.username !== '' || u.password !== '' || u.search !== '' || u.hash !== '' || u.pathname !== '/') return undefined;
  if (text.includes('?') || text.includes('#')) return undefined; // an empty ?/# is dropped by URL, still not an origin
  return u.origin;
}

/**
 * The origins of pages this server serves itself (the dashboard), judged only
 * from the address it is bound to, never from a request's `Host` (a page on
 * a DNS-rebinding name controls that one):
 *  - bound to a loopback address or to every interface (`0.0.0.0`, `::`):
 *    `http://localhost:<port>`, `http://127.0.0.1:<port>`, `http://[::1]:<port>`;
 *  - bound to one IP address: that address too (an IP literal origin cannot
 *    be rebound to another host).
 * A name other than `localhost`, and anything behind a TLS proxy (`https:`),
 * is not known here: list it in `server.cors.origins`.
 */
export function ownOrigins(host: string, port: number): string[] {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  const out: string[] = [];
  const add = (hostPart: string): void => {
    const o = normalizeOrigin(`http://${hostPart}:${port}`);
    if (o !== undefined && !out.includes(o)) out.push(o);
  };
  if (h === '0.0.0.0' || h === '::' || isLoopbackHost(h)) for (const name of ['localhost', '127.0.0.1', '[::1]']) add(name);
  if (h !== '0.0.0.0' && h !== '::') {
    if (isIPv4(h)) add(h);
    else if (isIPv6(h)) add(`[${h}]`);
  }
  return out;
}

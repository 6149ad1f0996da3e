/**
 * Browser origins as `server.cors.origins` holds them: the config normalizes
 * each listed origin with this, and the CORS policy compares a request's
 * `Origin` in the same form.
 */

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

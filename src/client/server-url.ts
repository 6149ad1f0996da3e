/**
 * Where the client connects when its options name no server: the
 * `STREAMER_API_URL` environment variable, as the older streamer clients
 * read it, else tickwire's own default address. Browser-safe: a page has no
 * environment, so there it is always the default.
 */

/** tickwire's default listening address (`server.host` and `server.port` defaults). */
export const DEFAULT_SERVER_URL = 'http://127.0.0.1:8080';

/** The server URL for a client given none: `STREAMER_API_URL` when set and not empty, else DEFAULT_SERVER_URL. */
export function defaultServerUrl(): string {
  // Read through globalThis: Node's global object, absent in a browser bundle.
  const env = (globalThis as Record<string, { env?: Record<string, string | undefined> } | undefined>).process?.env;
  const fromEnv = env?.['STREAMER_API_URL']?.trim();
  return fromEnv === undefined || fromEnv === '' ? DEFAULT_SERVER_URL : fromEnv;
}

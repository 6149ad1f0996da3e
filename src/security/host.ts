/**
 * Host rules: which bind addresses are loopback-only, and why serving open
 * (no tokens, no jwt) elsewhere is refused. Shared by the config check of
 * `auth.allowOpen` and `createServer`'s check of the host actually bound.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** Is `host` a loopback address or name (127.0.0.0/8, ::1, IPv4-mapped 127/8, localhost)? */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (!isIPv6(h)) return false;
  const canonical = new URL(`http://[${h}]/`).hostname; // [::1], [::ffff:7f00:1]
  return canonical === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical);
}

/** Why serving open on `host` is refused (the message of the `auth.allowOpen` error). */
export function openServerProblem(hostDescription: string): string {
  return (
    `got false while server.host ${hostDescription} is not a loopback address and auth has neither tokens nor jwt ` +
    '(anyone who can reach it could read everything), expected auth.tokens or auth.jwt, or auth.allowOpen: true to serve open on purpose'
  );
}

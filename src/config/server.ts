/** The `server:` section: host, port and `cors.origins`. */
import type { Checker } from '../check/checker.ts';
import { indexPath } from '../check/paths.ts';
import { normalizeOrigin } from '../security/origin.ts';
import { DEFAULT_HOST, DEFAULT_PORT } from './defaults.ts';
import type { CorsConfig, ServerConfig } from './types.ts';

const SERVER_KEYS = ['host', 'port', 'cors'] as const;
const CORS_KEYS = ['origins'] as const;

/** `server:`: where to listen and which browser origins may call. */
export function serverSection(c: Checker, value: unknown): ServerConfig {
  const s = c.section(value, 'server', SERVER_KEYS);
  const host = hostSetting(c, s.host, 'server.host', DEFAULT_HOST);
  const port = portSetting(c, s.port, 'server.port', DEFAULT_PORT);
  const cors = corsSection(c, s.cors);
  return { host, port, cors };
}

/** A host to bind: absent or null → `fallback`. */
function hostSetting(c: Checker, value: unknown, path: string, fallback: string): string {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'string' && value.trim() !== '') return value;
  c.fail(path, value, 'a non-empty host name or IP address');
  return fallback;
}

/** A port to bind (0: any free port): absent or null → `fallback`. */
function portSetting(c: Checker, value: unknown, path: string, fallback: number): number {
  return c.number(value, path, fallback, (n) => Number.isInteger(n) && n >= 0 && n <= 65535, 'an integer port from 0 to 65535 (0 = any free port)');
}

function corsSection(c: Checker, value: unknown): CorsConfig {
  const s = c.section(value, 'server.cors', CORS_KEYS);
  const list = s.origins;
  if (list === undefined || list === null) return { origins: [] };
  const path = 'server.cors.origins';
  if (!Array.isArray(list)) {
    c.fail(path, list, 'a list of origins such as https://app.example.com, or [*] for any');
    return { origins: [] };
  }
  const origins: string[] = [];
  list.forEach((v, i) => {
    const at = indexPath(path, i);
    if (v === '*') {
      if (list.length === 1) origins.push('*');
      else c.fail(at, v, '* alone ([*]), or a list of origins without it');
      return;
    }
    const origin = typeof v === 'string' ? normalizeOrigin(v) : undefined;
    if (origin === undefined) c.fail(at, v, 'an origin: http(s)://host[:port], without a path (https://app.example.com)');
    else if (origins.includes(origin)) c.fail(at, v, 'each origin once');
    else origins.push(origin);
  });
  return { origins };
}

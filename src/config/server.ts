/**
 * The `server:` section (host, port, `cors.origins`, connection caps), and `createServer`'s
 * options checked with the same rules and messages: the config is the edge,
 * the server trusts what comes out of here.
 */
import { Checker } from '../check/checker.ts';
import { indexPath } from '../check/paths.ts';
import { normalizeOrigin } from '../security/origin.ts';
import { DEFAULT_HOST, DEFAULT_PORT } from './defaults.ts';
import { ConfigError } from './error.ts';
import { streamSection } from './stream.ts';
import type { CorsConfig, ServerConfig, StreamConfig } from './types.ts';

const SERVER_KEYS = ['host', 'port', 'cors', 'maxConnections', 'maxConnectionsPerAddress'] as const;
const CORS_KEYS = ['origins'] as const;

/** `server:`: where to listen and which browser origins may call. */
export function serverSection(c: Checker, value: unknown): ServerConfig {
  const s = c.section(value, 'server', SERVER_KEYS);
  const host = hostSetting(c, s.host, 'server.host', DEFAULT_HOST);
  const port = portSetting(c, s.port, 'server.port', DEFAULT_PORT);
  const cors = corsSection(c, s.cors);
  const maxConnections = connectionCap(c, s.maxConnections, 'server.maxConnections');
  const maxConnectionsPerAddress = connectionCap(c, s.maxConnectionsPerAddress, 'server.maxConnectionsPerAddress');
  return { host, port, cors, maxConnections, maxConnectionsPerAddress };
}

/** A connection cap: absent or null → undefined (derived from the open-files limit when the server starts). */
function connectionCap(c: Checker, value: unknown, path: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  return c.number(value, path, 1, (n) => Number.isInteger(n) && n >= 1, 'an integer ≥ 1 (absent: derived from the open-files limit)');
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

/** `createServer` options this checks: host, port, the connection caps and the `stream:` keys (`maxPayloadLength` standing for `maxMessageBytes`). */
export interface ServerOptionValues {
  readonly host?: unknown;
  readonly port?: unknown;
  readonly maxConnections?: unknown;
  readonly maxConnectionsPerAddress?: unknown;
  readonly maxPayloadLength?: unknown;
  readonly [streamKey: string]: unknown;
}

/**
 * Check `createServer` options given in code (the file's values in `base` are
 * trusted: validated already) with the config's rules; throws one ConfigError
 * naming each option as the caller wrote it.
 */
export function parseServerOptions(
  options: ServerOptionValues,
  base: CheckedServerOptions,
  source = 'createServer options',
): CheckedServerOptions {
  const c = new Checker();
  const host = hostSetting(c, options.host, 'host', base.host);
  const port = portSetting(c, options.port, 'port', base.port);
  const maxConnections = connectionCap(c, options.maxConnections, 'maxConnections') ?? base.maxConnections;
  const maxConnectionsPerAddress = connectionCap(c, options.maxConnectionsPerAddress, 'maxConnectionsPerAddress') ?? base.maxConnectionsPerAddress;
  const { host: _host, port: _port, maxPayloadLength, maxConnections: _max, maxConnectionsPerAddress: _perAddress, ...rest } = options;
  const stream: Record<string, unknown> = maxPayloadLength === undefined ? rest : { ...rest, maxMessageBytes: maxPayloadLength };
  const named = (key: string) => (key === 'maxMessageBytes' ? 'maxPayloadLength (stream.maxMessageBytes)' : undefined);
  const checked = streamSection(c, stream, '', base.stream, named);
  if (c.issues.length > 0) throw new ConfigError(source, c.issues);
  return { host, port, maxConnections, maxConnectionsPerAddress, stream: checked };
}

/** What `parseServerOptions` hands back: the file's values with the options' overrides, checked. */
export interface CheckedServerOptions {
  host: string;
  port: number;
  maxConnections: number | undefined;
  maxConnectionsPerAddress: number | undefined;
  stream: StreamConfig;
}

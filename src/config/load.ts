/**
 * Configuration loading: YAML text → `${VAR}` substitution → validation →
 * `TickwireConfig` with every default filled in. Runs once at start-up; the
 * result is trusted afterwards, nothing on the live path re-checks it.
 *
 * Errors: one `ConfigError` (code `INVALID_CONFIG`) carrying EVERY problem
 * found, one per line, each `<source>: <key.path>: <what was given>, expected
 * <what is accepted>`. Values that came from the environment are never
 * printed (credentials live there); the message names the variable instead.
 *
 * Rules (the YAML contract is ARCHITECTURE.md, "Config (YAML)"):
 * - unknown keys are rejected at every level, listing the allowed ones;
 * - an absent or empty section (`server:`, `bars: {}`) takes the defaults of
 *   defaults.ts, and so does an empty scalar (`port:`); `exchanges` is
 *   required and must name at least one exchange of `KNOWN_EXCHANGES`;
 * - `timeframes` accept MetaTrader aliases and come out canonical, without
 *   duplicates, shortest first;
 * - `history` is one depth for every timeframe or a map timeframe → depth
 *   (unlisted timeframes keep `DEFAULT_HISTORY`);
 * - `${VAR}` / `${VAR:-default}` are replaced in every string value before
 *   validation (`$${` writes a literal `${`). A substituted string is
 *   accepted where a number or boolean is expected when it reads as one, so
 *   `port: ${PORT}` works.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ErrorCode, TickwireError } from '../errors.ts';
import { isTimeframe, METATRADER_ALIASES, parseTimeframe, TIMEFRAMES, type TimeframeName } from '../model/timeframes.ts';
import {
  DEFAULT_CHANNELS,
  DEFAULT_FILL_EMPTY,
  DEFAULT_GRACE_MS,
  DEFAULT_HISTORY,
  DEFAULT_HOST,
  DEFAULT_LATE_TOLERANCE_MS,
  DEFAULT_PORT,
  DEFAULT_RATE,
  DEFAULT_SEED,
  DEFAULT_TIMEFRAMES,
  DEFAULT_HTTP_BURST,
  DEFAULT_HTTP_RATE,
  DEFAULT_STORAGE_PATH,
  DEFAULT_FLUSH_MS,
  DEFAULT_BACKFILL_TIMEOUT_MS,
  defaultStreamConfig,
} from './defaults.ts';
import { adapterFor, adapterNames, capabilitiesOf, type AdapterEntry } from '../exchanges/registry.ts';
import { isLoopbackHost, openServerProblem } from '../security/host.ts';
import { normalizeOrigin } from '../security/origin.ts';
import { MIN_JWT_SECRET_LENGTH, TOKEN_NAME_PATTERN } from '../security/token-rules.ts';
import { parseChannelPattern } from '../server/principal.ts';
import type { ApiTokenConfig, AuthConfig, CorsConfig, JwtConfig } from './types.ts';
import type { BarsConfig, ExchangeConfig, FeedChannel, ServerConfig, StorageConfig, StreamConfig, TickwireConfig } from './types.ts';

export { DEFAULT_CONFIG_YAML } from './defaults.ts';

/** Exchanges a config may name: those with a registered adapter. */
export const KNOWN_EXCHANGES: readonly string[] = adapterNames();

/** Keys every exchange accepts; the registry adds each venue's own. */
const EXCHANGE_KEYS = ['url', 'symbols', 'channels'] as const;

const TOP_KEYS = ['server', 'timeframes', 'history', 'bars', 'exchanges', 'storage', 'stream', 'auth'] as const;
const STORAGE_KEYS = ['path', 'flushMs', 'backfill', 'backfillTimeoutMs'] as const;
const SERVER_KEYS = ['host', 'port', 'cors'] as const;
const BARS_KEYS = ['graceMs', 'fillEmpty', 'lateToleranceMs'] as const;
const STREAM_KEYS = [
  'maxBackpressure', 'slowConsumer', 'resumeHistory', 'resumeLingerS', 'maxChannelsPerConnection', 'maxMessageBytes', 'subscribeRate', 'idleTimeoutS',
] as const;
const RATE_KEYS = ['rate', 'burst'] as const;
const CHANNELS: readonly FeedChannel[] = ['trades', 'quotes'];

export const MAX_HISTORY = 1_000_000;
export const MAX_GRACE_MS = 60_000;
export const MAX_LATE_TOLERANCE_MS = 3_600_000;
export const MAX_RATE = 10_000;
/** `stream:` bounds. maxBackpressure and maxMessageBytes are bytes; uWS refuses an idle timeout under 8 s or over 960 s. */
export const MIN_BACKPRESSURE = 64 * 1024;
export const MAX_BACKPRESSURE = 1024 * 1024 * 1024;
export const MIN_MESSAGE_BYTES = 256;
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
export const MAX_RESUME_HISTORY = 100_000;
export const MAX_RESUME_LINGER_S = 86_400;
export const MAX_CHANNELS_PER_CONNECTION = 100_000;
export const MAX_SUBSCRIBE_RATE = 10_000;
export const MIN_IDLE_TIMEOUT_S = 8;
export const MAX_IDLE_TIMEOUT_S = 960;
/** Exchange-native symbol ids: BTCUSDT, BTC-USD, XBT/USD, BTC-PERP:USDT, 1000PEPE.X. */
export const SYMBOL_PATTERN = /^[A-Za-z0-9._\-/:]{1,40}$/;

// ───────────────────────────────────────────────────────────── errors

/** One problem in a configuration. */
export interface ConfigIssue {
  /** Key path (`exchanges.binance.symbols[2]`); '' for the document itself. */
  readonly path: string;
  /** What was given and what was expected, without the source and path. */
  readonly message: string;
  /** 1-based line and column, for YAML syntax errors. */
  readonly line?: number;
  readonly column?: number;
}

/** An invalid configuration. `path` is the first issue's; `issues` lists them all. */
export class ConfigError extends TickwireError {
  readonly source: string;
  readonly path: string;
  readonly issues: readonly ConfigIssue[];

  constructor(source: string, issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    super(ErrorCode.INVALID_CONFIG, issues.map((i) => formatIssue(source, i)).join('\n'), options);
    this.name = 'ConfigError';
    this.source = source;
    this.path = issues[0]?.path ?? '';
    this.issues = issues;
  }
}

function formatIssue(source: string, issue: ConfigIssue): string {
  return issue.path === '' ? `${source}: ${issue.message}` : `${source}: ${issue.path}: ${issue.message}`;
}

// ───────────────────────────────────────────────────────────── entry points

/** Read and validate a YAML config file; unreadable files are a `ConfigError` too. */
export function loadConfigFile(path: string, env: Readonly<Record<string, string | undefined>> = process.env): TickwireConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'read error';
    throw new ConfigError(path, [{ path: '', message: `cannot read the file (${code}), expected a readable YAML file` }], { cause: err });
  }
  return loadConfigText(text, path, env);
}

/**
 * Parse YAML, substitute `${VAR}` / `${VAR:-default}` from `env` in every
 * string value, then validate (see `parseConfig`). `source` names the text in
 * messages (usually the file path).
 */
export function loadConfigText(
  yamlText: string,
  source: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): TickwireConfig {
  let doc: unknown;
  try {
    // logLevel 'error': syntax errors still throw, warnings (unknown tags) do not print.
    doc = parse(yamlText, { prettyErrors: false, logLevel: 'error' });
  } catch (err) {
    throw yamlSyntaxError(yamlText, source, err);
  }
  const subst: Substitution = { issues: [], fromEnv: new Map() };
  const substituted = substitute(doc, '', env, subst);
  if (subst.issues.length > 0) throw new ConfigError(source, subst.issues);
  return validate(substituted, source, subst.fromEnv, { storageByDefault: true });
}

/**
 * Validate a plain object (a parsed YAML or JSON document) and fill in the
 * defaults. Throws one `ConfigError` listing every problem, one per line.
 */
export function parseConfig(input: unknown, source = 'config'): TickwireConfig {
  return validate(input, source, new Map(), { storageByDefault: false });
}

function yamlSyntaxError(text: string, source: string, err: unknown): Error {
  if (!(err instanceof Error) || err.name !== 'YAMLParseError') return err as Error;
  const offset = (err as Error & { pos?: [number, number] }).pos?.[0] ?? 0;
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - (before.lastIndexOf('\n') + 1) + 1;
  const what = err.message.replace(/\s+at line \d+, column \d+[\s\S]*$/, '');
  // `{ port: ${PORT} }` is the usual culprit: inside { } or [ ] the braces are YAML syntax.
  const lineText = text.split('\n')[line - 1] ?? '';
  const hint = /(^|[^"'$])\$\{/.test(lineText) ? ' (inside { } or [ ], quote a value holding ${VAR}: "${VAR}")' : '';
  return new ConfigError(source, [{ path: '', line, column, message: `line ${line}, column ${column}: invalid YAML: ${what}${hint}` }], {
    cause: err,
  });
}

// ───────────────────────────────────────────────────────────── ${VAR} substitution

interface Substitution {
  issues: ConfigIssue[];
  /** Path of every string that had a reference → the variables it read (for redaction and coercion). */
  fromEnv: Map<string, string[]>;
}

// `$${` is an escaped literal; `${...}` a reference; a lone `${` an unclosed one.
const REFERENCE = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const REFERENCE_BODY = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

function substitute(node: unknown, path: string, env: Readonly<Record<string, string | undefined>>, out: Substitution): unknown {
  if (typeof node === 'string') return node.includes('${') ? substituteString(node, path, env, out) : node;
  if (Array.isArray(node)) return node.map((v, i) => substitute(v, index(path, i), env, out));
  if (isMap(node)) {
    // fromEntries defines properties, so a `__proto__` key stays a key (and is rejected as unknown).
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, substitute(v, join(path, k), env, out)]));
  }
  return node;
}

function substituteString(value: string, path: string, env: Readonly<Record<string, string | undefined>>, out: Substitution): string {
  const names: string[] = [];
  const result = value.replace(REFERENCE, (match: string, body: string | undefined) => {
    if (match === '$${') return '${';
    const ref = body === undefined ? null : REFERENCE_BODY.exec(body);
    if (ref === null || (ref[2] ?? '').includes('${')) {
      out.issues.push({ path, message: 'got a malformed ${...} reference, expected ${NAME} or ${NAME:-default} (write $${ for a literal ${)' });
      return '';
    }
    const [, name, fallback] = ref as unknown as [string, string, string | undefined];
    names.push(name);
    const set = env[name];
    if (fallback !== undefined) return set === undefined || set === '' ? fallback : set;
    if (set === undefined) {
      out.issues.push({ path, message: `environment variable ${name} is not set, expected it set or a default (\${${name}:-default})` });
      return '';
    }
    return set;
  });
  if (names.length > 0) out.fromEnv.set(path, names);
  return result;
}

// ───────────────────────────────────────────────────────────── validation

function validate(input: unknown, source: string, fromEnv: ReadonlyMap<string, readonly string[]>, options: ValidateOptions): TickwireConfig {
  const c = new Checker(fromEnv);
  const root = input === undefined || input === null ? {} : input;
  if (!isMap(root)) {
    c.fail('', root, `a mapping with the keys ${TOP_KEYS.join(', ')}`);
    throw new ConfigError(source, c.issues);
  }
  c.unknownKeys(root, '', TOP_KEYS);

  const server = serverSection(c, root.server);
  const timeframes = timeframesSection(c, root.timeframes);
  const history = historySection(c, root.history, timeframes);
  const bars = barsSection(c, root.bars);
  const exchanges = exchangesSection(c, root.exchanges);
  const storage = storageSection(c, root.storage, options.storageByDefault);
  const stream = streamSection(c, root.stream, 'stream', defaultStreamConfig());
  const auth = authSection(c, root.auth, server.host);

  if (c.issues.length > 0) throw new ConfigError(source, c.issues);
  return { server, timeframes, history, bars, exchanges, storage, stream, auth };
}

function serverSection(c: Checker, value: unknown): ServerConfig {
  const s = c.section(value, 'server', SERVER_KEYS);
  let host = DEFAULT_HOST;
  if (s.host !== undefined && s.host !== null) {
    if (typeof s.host === 'string' && s.host.trim() !== '') host = s.host;
    else c.fail('server.host', s.host, 'a non-empty host name or IP address');
  }
  const port = c.number(s.port, 'server.port', DEFAULT_PORT, (n) => Number.isInteger(n) && n >= 0 && n <= 65535,
    'an integer port from 0 to 65535 (0 = any free port)');
  const cors = corsSection(c, s.cors);
  return { host, port, cors };
}

// ── server.cors and auth (README "Security") ──

const CORS_KEYS = ['origins'] as const;
const AUTH_KEYS = ['tokens', 'jwt', 'allowOpen', 'httpRate'] as const;
const TOKEN_KEYS = ['name', 'sha256', 'channels'] as const;
const JWT_KEYS = ['secret', 'issuer', 'audience'] as const;
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

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
    const at = index(path, i);
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

function authSection(c: Checker, value: unknown, host: string): AuthConfig {
  const a = c.section(value, 'auth', AUTH_KEYS);
  const before = c.issues.length;
  const tokens = tokensSection(c, a.tokens);
  const jwt = jwtSection(c, a.jwt);
  const allowOpen = c.boolean(a.allowOpen, 'auth.allowOpen', false);
  // `false`: no limit (e.g. behind a proxy that limits, where every client shares its address).
  const httpRate = a.httpRate === false
    ? null
    : rateSection(c, a.httpRate, 'auth.httpRate', { rate: DEFAULT_HTTP_RATE, burst: DEFAULT_HTTP_BURST }, 'HTTP requests per second');
  // Only when auth is open on purpose (not because its tokens or jwt were invalid: those are reported already).
  if (tokens.length === 0 && jwt === undefined && !allowOpen && c.issues.length === before && !isLoopbackHost(host)) {
    c.issues.push({ path: 'auth.allowOpen', message: openServerProblem(c.describe('server.host', host).replace(/^got /, '')) });
  }
  return { tokens, jwt, allowOpen, httpRate };
}

function tokensSection(c: Checker, value: unknown): ApiTokenConfig[] {
  if (value === undefined || value === null) return [];
  const shape = 'a list of { name, sha256, channels }';
  if (!Array.isArray(value)) {
    c.fail('auth.tokens', value, shape);
    return [];
  }
  const tokens: ApiTokenConfig[] = [];
  const names = new Map<string, string>();
  const hashes = new Map<string, string>();
  value.forEach((v, i) => {
    const path = index('auth.tokens', i);
    if (!isMap(v)) {
      c.fail(path, v, shape);
      return;
    }
    // The value of an unknown key is never shown: `token: <the token>` is the likely mistake.
    c.unknownKeys(v, path, TOKEN_KEYS, (key) => (key === 'token' ? ' (store the SHA-256 of the token, never the token: npx tickwire hash-token)' : ''));
    let ok = true;
    const name = v.name;
    if (typeof name !== 'string' || !TOKEN_NAME_PATTERN.test(name)) {
      c.fail(join(path, 'name'), name, 'a name of 1 to 64 letters, digits or . _ @ - (shown in logs and metrics)');
      ok = false;
    } else if (names.has(name)) {
      c.fail(join(path, 'name'), name, `each name once (already at ${names.get(name)})`);
      ok = false;
    } else {
      names.set(name, path);
    }
    const sha = v.sha256;
    const shaPath = join(path, 'sha256');
    const expectedSha = 'expected the SHA-256 of the token as 64 hex digits (npx tickwire hash-token)';
    if (sha === undefined || sha === null || sha === '') {
      c.issues.push({ path: shaPath, message: `missing, ${expectedSha}` });
      ok = false;
    } else if (typeof sha !== 'string' || !SHA256_HEX.test(sha)) {
      // Never shown: a token pasted here by mistake must not reach a log.
      c.issues.push({ path: shaPath, message: `got a value that is not 64 hex digits (not shown), ${expectedSha}` });
      ok = false;
    } else if (hashes.has(sha.toLowerCase())) {
      c.issues.push({ path: shaPath, message: `same hash as ${hashes.get(sha.toLowerCase())}, expected each token once` });
      ok = false;
    } else {
      hashes.set(sha.toLowerCase(), path);
    }
    const channels = channelPatterns(c, v.channels, join(path, 'channels'));
    if (ok && channels !== undefined) tokens.push({ name: name as string, sha256: (sha as string).toLowerCase(), channels });
  });
  return tokens;
}

/** Channel patterns of a token (default `['*']`); undefined when invalid (reported). */
function channelPatterns(c: Checker, value: unknown, path: string): string[] | undefined {
  if (value === undefined || value === null) return ['*'];
  if (!Array.isArray(value) || value.length === 0) {
    c.fail(path, value, 'a non-empty list of channel patterns (* for all, trades:binance:*, bars:*:BTCUSDT:1m, system, alerts)');
    return undefined;
  }
  let ok = true;
  value.forEach((v, i) => {
    const at = index(path, i);
    if (typeof v !== 'string') {
      c.fail(at, v, 'a channel pattern (text)');
      ok = false;
      return;
    }
    const p = parseChannelPattern(v);
    if (typeof p === 'string') {
      c.issues.push({ path: at, message: `${c.describe(at, v)}: ${p}` });
      ok = false;
    } else if (p.exchange !== null && !KNOWN_EXCHANGES.includes(p.exchange)) {
      c.fail(at, v, `a pattern naming a known exchange (${KNOWN_EXCHANGES.join(', ')}) or *`);
      ok = false;
    }
  });
  return ok ? (value as string[]) : undefined;
}

function jwtSection(c: Checker, value: unknown): JwtConfig | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isMap(value)) {
    c.fail('auth.jwt', value, `a map with the keys ${JWT_KEYS.join(', ')}`);
    return undefined;
  }
  const j = c.section(value, 'auth.jwt', JWT_KEYS);
  const expected = `an HS256 secret of at least ${MIN_JWT_SECRET_LENGTH} bytes, from the environment (secret: \${TICKWIRE_JWT_SECRET})`;
  const s = j.secret;
  const at = 'auth.jwt.secret';
  let secret: string | undefined;
  if (s === undefined || s === null || s === '') c.issues.push({ path: at, message: `missing, expected ${expected}` });
  else if (typeof s !== 'string') c.issues.push({ path: at, message: `got a ${Array.isArray(s) ? 'list' : typeof s} (not shown), expected ${expected}` });
  else if (Buffer.byteLength(s, 'utf8') < MIN_JWT_SECRET_LENGTH) {
    c.issues.push({ path: at, message: `got ${Buffer.byteLength(s, 'utf8')} bytes (not shown), expected ${expected}` });
  } else secret = s;
  const issuer = optionalText(c, j.issuer, 'auth.jwt.issuer', 'the expected iss claim, a non-empty string');
  const audience = optionalText(c, j.audience, 'auth.jwt.audience', 'the expected aud claim, a non-empty string');
  return secret === undefined ? undefined : { secret, issuer, audience };
}

function optionalText(c: Checker, value: unknown, path: string, expected: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' && value !== '') return value;
  c.fail(path, value, expected);
  return undefined;
}

interface ValidateOptions {
  /** Config files persist bars in DEFAULT_STORAGE_PATH unless they say otherwise; library objects only when they ask. */
  storageByDefault: boolean;
}

/** `storage: false` → off; a map (or nothing, in a file) → on with defaults for what it leaves out. */
function storageSection(c: Checker, value: unknown, byDefault: boolean): StorageConfig | null {
  if (value === false || ((value === undefined || value === null) && !byDefault)) return null;
  const s = c.section(value, 'storage', STORAGE_KEYS);
  let path = DEFAULT_STORAGE_PATH;
  if (s.path !== undefined && s.path !== null) {
    if (typeof s.path === 'string' && s.path.trim() !== '') path = s.path;
    else c.fail('storage.path', s.path, 'a directory path');
  }
  return {
    path,
    flushMs: c.number(s.flushMs, 'storage.flushMs', DEFAULT_FLUSH_MS, (n) => Number.isInteger(n) && n >= 10 && n <= 60_000, 'an integer number of ms from 10 to 60000'),
    backfill: c.boolean(s.backfill, 'storage.backfill', true),
    backfillTimeoutMs: c.number(s.backfillTimeoutMs, 'storage.backfillTimeoutMs', DEFAULT_BACKFILL_TIMEOUT_MS,
      (n) => Number.isInteger(n) && n >= 0 && n <= 600_000, 'an integer number of ms from 0 to 600000'),
  };
}

/**
 * Validate `createServer` overrides of the `stream:` section (same keys, same
 * rules) on top of `base`; throws a ConfigError naming the option.
 */
export function parseStreamOptions(overrides: Record<string, unknown>, base: StreamConfig, source = 'createServer options'): StreamConfig {
  const c = new Checker(new Map());
  const stream = streamSection(c, overrides, '', base);
  if (c.issues.length > 0) throw new ConfigError(source, c.issues);
  return stream;
}

/** `stream:`: every key optional, each falling back to `base` (defaultStreamConfig() for a file). */
function streamSection(c: Checker, value: unknown, path: string, base: StreamConfig): StreamConfig {
  const s = c.section(value, path, STREAM_KEYS);
  const at = (key: string) => join(path, key);
  const int = (min: number, max: number) => (n: number) => Number.isInteger(n) && n >= min && n <= max;
  let slowConsumer = base.slowConsumer;
  if (s.slowConsumer !== undefined && s.slowConsumer !== null) {
    if (s.slowConsumer === 'gap' || s.slowConsumer === 'disconnect') slowConsumer = s.slowConsumer;
    else c.fail(at('slowConsumer'), s.slowConsumer, 'gap (pause, then a gap notice) or disconnect (close 1013)');
  }
  return {
    maxBackpressure: c.number(s.maxBackpressure, at('maxBackpressure'), base.maxBackpressure, int(MIN_BACKPRESSURE, MAX_BACKPRESSURE),
      `an integer number of bytes from ${MIN_BACKPRESSURE} to ${MAX_BACKPRESSURE}`),
    slowConsumer,
    resumeHistory: c.number(s.resumeHistory, at('resumeHistory'), base.resumeHistory, int(1, MAX_RESUME_HISTORY),
      `a whole number of messages per channel from 1 to ${MAX_RESUME_HISTORY}`),
    resumeLingerS: c.number(s.resumeLingerS, at('resumeLingerS'), base.resumeLingerS, (n) => n >= 0 && n <= MAX_RESUME_LINGER_S,
      `a number of seconds from 0 to ${MAX_RESUME_LINGER_S}`),
    maxChannelsPerConnection: c.number(s.maxChannelsPerConnection, at('maxChannelsPerConnection'), base.maxChannelsPerConnection,
      int(1, MAX_CHANNELS_PER_CONNECTION), `a whole number from 1 to ${MAX_CHANNELS_PER_CONNECTION}`),
    maxMessageBytes: c.number(s.maxMessageBytes, at('maxMessageBytes'), base.maxMessageBytes, int(MIN_MESSAGE_BYTES, MAX_MESSAGE_BYTES),
      `an integer number of bytes from ${MIN_MESSAGE_BYTES} to ${MAX_MESSAGE_BYTES}`),
    subscribeRate: rateSection(c, s.subscribeRate, at('subscribeRate'), base.subscribeRate, 'subscribe requests per second'),
    idleTimeoutS: c.number(s.idleTimeoutS, at('idleTimeoutS'), base.idleTimeoutS,
      (n) => n === 0 || (Number.isInteger(n) && n >= MIN_IDLE_TIMEOUT_S && n <= MAX_IDLE_TIMEOUT_S),
      `0 (off) or a whole number of seconds from ${MIN_IDLE_TIMEOUT_S} to ${MAX_IDLE_TIMEOUT_S}`),
  };
}

/** A token bucket: `{ rate, burst }`, or one number = rate with a burst of twice that. */
function rateSection(c: Checker, value: unknown, path: string, base: { rate: number; burst: number }, what: string): { rate: number; burst: number } {
  if (value === undefined || value === null) return { rate: base.rate, burst: base.burst };
  const rateOk = (n: number) => n > 0 && n <= MAX_SUBSCRIBE_RATE;
  const rateExpected = `a number of ${what} > 0 and <= ${MAX_SUBSCRIBE_RATE}`;
  if (!isMap(value)) {
    const rate = c.number(value, path, base.rate, rateOk, `${rateExpected}, or { rate, burst }`);
    return { rate, burst: Math.max(1, Math.ceil(rate * 2)) };
  }
  const r = c.section(value, path, RATE_KEYS);
  const rate = c.number(r.rate, join(path, 'rate'), base.rate, rateOk, rateExpected);
  const burst = c.number(r.burst, join(path, 'burst'), r.rate === undefined ? base.burst : Math.max(1, Math.ceil(rate * 2)),
    (n) => Number.isInteger(n) && n >= 1 && n <= MAX_SUBSCRIBE_RATE * 10, `a whole number from 1 to ${MAX_SUBSCRIBE_RATE * 10}`);
  return { rate, burst };
}

function timeframesSection(c: Checker, value: unknown): TimeframeName[] {
  if (value === undefined || value === null) return [...DEFAULT_TIMEFRAMES];
  const expected = `a non-empty list of timeframes (${acceptedTimeframes()})`;
  if (!Array.isArray(value) || value.length === 0) {
    c.fail('timeframes', value, expected);
    return [...DEFAULT_TIMEFRAMES];
  }
  const names = new Set<TimeframeName>();
  value.forEach((v, i) => {
    if (typeof v === 'string' && isTimeframe(v)) names.add(parseTimeframe(v).name);
    else c.fail(index('timeframes', i), v, `one of ${acceptedTimeframes()}`);
  });
  return TIMEFRAMES.filter((tf) => names.has(tf));
}

function historySection(c: Checker, value: unknown, timeframes: readonly TimeframeName[]): Record<TimeframeName, number> {
  const history = {} as Record<TimeframeName, number>;
  const depthOk = (n: number) => Number.isInteger(n) && n >= 1 && n <= MAX_HISTORY;
  const depth = `a whole number of bars from 1 to ${MAX_HISTORY}`;
  let all = DEFAULT_HISTORY;
  if (value !== undefined && value !== null && !isMap(value)) {
    all = c.number(value, 'history', DEFAULT_HISTORY, depthOk, `${depth}, or a map of timeframe to that`);
  }
  for (const tf of timeframes) history[tf] = all;
  if (!isMap(value)) return history;

  const seen = new Map<TimeframeName, string>();
  for (const [key, v] of Object.entries(value)) {
    const path = join('history', key);
    const tf = isTimeframe(key) ? parseTimeframe(key).name : undefined;
    if (tf === undefined || !timeframes.includes(tf)) {
      c.issues.push({
        path,
        message: `${tf === undefined ? 'not a timeframe' : 'not in timeframes'}, expected one of the configured timeframes ${timeframes.join(', ')}`,
      });
      continue;
    }
    const first = seen.get(tf);
    if (first !== undefined) {
      c.issues.push({ path, message: `same timeframe as ${first}, expected each timeframe once` });
      continue;
    }
    seen.set(tf, path);
    history[tf] = c.number(v, path, DEFAULT_HISTORY, depthOk, depth);
  }
  return history;
}

function barsSection(c: Checker, value: unknown): BarsConfig {
  const b = c.section(value, 'bars', BARS_KEYS);
  return {
    graceMs: c.number(b.graceMs, 'bars.graceMs', DEFAULT_GRACE_MS, (n) => n >= 0 && n <= MAX_GRACE_MS,
      `a number of milliseconds >= 0 and <= ${MAX_GRACE_MS}`),
    fillEmpty: c.boolean(b.fillEmpty, 'bars.fillEmpty', DEFAULT_FILL_EMPTY),
    lateToleranceMs: c.number(b.lateToleranceMs, 'bars.lateToleranceMs', DEFAULT_LATE_TOLERANCE_MS,
      (n) => n >= 0 && n <= MAX_LATE_TOLERANCE_MS, `a number of milliseconds >= 0 and <= ${MAX_LATE_TOLERANCE_MS}`),
  };
}

function exchangesSection(c: Checker, value: unknown): Record<string, ExchangeConfig> {
  const exchanges: Record<string, ExchangeConfig> = {};
  const expected = `a map of exchange name to its settings, with at least one of ${KNOWN_EXCHANGES.join(', ')}`;
  if (!isMap(value) || Object.keys(value).length === 0) {
    c.fail('exchanges', value, expected);
    return exchanges;
  }
  for (const [name, body] of Object.entries(value)) {
    const path = join('exchanges', name);
    const entry = adapterFor(name);
    if (entry === undefined) {
      c.issues.push({ path, message: `unknown exchange, expected one of ${KNOWN_EXCHANGES.join(', ')}` });
      continue;
    }
    exchanges[name] = exchange(c, name, entry, body, path);
  }
  return exchanges;
}

function exchange(c: Checker, name: string, entry: AdapterEntry, value: unknown, path: string): ExchangeConfig {
  const allowed = [...EXCHANGE_KEYS, ...entry.extraKeys];
  const e = c.section(value, path, allowed, (key) => {
    const owners = KNOWN_EXCHANGES.filter((x) => adapterFor(x)!.extraKeys.includes(key));
    return owners.length > 0 ? ` (${key} applies to ${owners.join(', ')} only)` : '';
  });
  const simulated = name === 'simulated';
  const offered = entry.capabilities.channels;
  const chosen = channels(c, e.channels, join(path, 'channels'), offered);
  const accepts = (key: string) => entry.extraKeys.includes(key);
  const envName = name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
  const assetClass = accepts('assetClass') ? oneOf(c, e.assetClass, join(path, 'assetClass'), ['stocks', 'crypto'] as const, 'stocks') : 'stocks';
  const config: ExchangeConfig = {
    url: url(c, e.url, join(path, 'url')),
    symbols: symbols(c, e.symbols, join(path, 'symbols')),
    channels: chosen,
    rate: simulated
      ? c.number(e.rate, join(path, 'rate'), DEFAULT_RATE, (n) => n > 0 && n <= MAX_RATE, `a number of trades per second > 0 and <= ${MAX_RATE}`)
      : DEFAULT_RATE,
    seed: simulated ? c.number(e.seed, join(path, 'seed'), DEFAULT_SEED, Number.isSafeInteger, 'an integer') : DEFAULT_SEED,
    key: accepts('key') ? credential(c, e.key, join(path, 'key'), entry.requiredKeys.includes('key'), `the API key id, e.g. key: \${${envName}_API_KEY}`) : undefined,
    secret: accepts('secret')
      ? credential(c, e.secret, join(path, 'secret'), entry.requiredKeys.includes('secret'), `the API secret, e.g. secret: \${${envName}_SECRET_KEY}`)
      : undefined,
    restUrl: accepts('restUrl') ? httpUrl(c, e.restUrl, join(path, 'restUrl')) : undefined,
    assetClass,
    feed: accepts('feed') ? optionalOneOf(c, e.feed, join(path, 'feed'), assetClass === 'stocks' ? ['iex', 'sip', 'test'] : ['us']) : undefined,
  };
  streamsFit(c, name, entry, config, path);
  return config;
}

/** An account limited to a few connections must fit its streams in them. */
function streamsFit(c: Checker, name: string, entry: AdapterEntry, config: ExchangeConfig, path: string): void {
  if (entry.maxConnections === undefined || config.symbols.length === 0) return;
  const perConnection = capabilitiesOf(entry, config).maxStreamsPerConnection;
  const streams = config.symbols.length * config.channels.length;
  const limit = perConnection * entry.maxConnections;
  if (streams <= limit) return;
  c.issues.push({
    path: join(path, 'symbols'),
    message:
      `got ${config.symbols.length} symbols × ${config.channels.length} channels = ${streams} streams, expected at most ${limit}: ` +
      `${name} allows ${entry.maxConnections} connection(s) of ${perConnection} streams on this feed (fewer symbols, or a plan with a larger limit)`,
  });
}

/** A credential: text, required or not. Its value is never shown in a message. */
function credential(c: Checker, value: unknown, path: string, required: boolean, expected: string): string | undefined {
  if (value === undefined || value === null || value === '') {
    if (required) c.issues.push({ path, message: `missing, expected ${expected}` });
    return undefined;
  }
  if (typeof value === 'string') return value;
  c.issues.push({ path, message: `got a ${Array.isArray(value) ? 'list' : typeof value} (not shown), expected ${expected}` });
  return undefined;
}

function oneOf<T extends string>(c: Checker, value: unknown, path: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined || value === null) return fallback;
  if ((allowed as readonly unknown[]).includes(value)) return value as T;
  c.fail(path, value, `one of ${allowed.join(', ')}`);
  return fallback;
}

function optionalOneOf(c: Checker, value: unknown, path: string, allowed: readonly string[]): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (allowed.includes(value as string)) return value as string;
  c.fail(path, value, `one of ${allowed.join(', ')}`);
  return undefined;
}

/** Absent, null or '' → undefined (the venue's default); else an http(s) URL. */
function httpUrl(c: Checker, value: unknown, path: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') {
    try {
      const u = new URL(value);
      if (u.protocol === 'http:' || u.protocol === 'https:') return value;
    } catch {
      // reported below
    }
  }
  c.fail(path, value, 'an http:// or https:// URL');
  return undefined;
}

/** Absent, null or '' (e.g. `${BINANCE_URL:-}`) → undefined, the venue's default. */
function url(c: Checker, value: unknown, path: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') {
    try {
      const u = new URL(value);
      if (u.protocol === 'ws:' || u.protocol === 'wss:') return value;
    } catch {
      // reported below
    }
  }
  c.fail(path, value, 'a ws:// or wss:// URL');
  return undefined;
}

function symbols(c: Checker, value: unknown, path: string): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    c.fail(path, value, 'a non-empty list of symbols, as the exchange names them');
    return [];
  }
  const out: string[] = [];
  const firstAt = new Map<string, number>();
  value.forEach((v, i) => {
    const at = index(path, i);
    if (typeof v !== 'string' || !SYMBOL_PATTERN.test(v)) {
      const quote = typeof v === 'number' || typeof v === 'boolean' ? ' (quote it to make it text)' : '';
      c.fail(at, v, `a symbol of 1 to 40 letters, digits or . _ - / :${quote}`);
      return;
    }
    const first = firstAt.get(v);
    if (first !== undefined) {
      c.fail(at, v, `each symbol once (already at ${index(path, first)})`);
      return;
    }
    firstAt.set(v, i);
    out.push(v);
  });
  return out;
}

/** The channels asked for (default: every channel the venue offers), each one the venue offers. */
function channels(c: Checker, value: unknown, path: string, offered: readonly FeedChannel[]): FeedChannel[] {
  const fallback = DEFAULT_CHANNELS.filter((ch) => offered.includes(ch));
  if (value === undefined || value === null) return fallback;
  const expected = `a non-empty list of ${CHANNELS.join(', ')}`;
  if (!Array.isArray(value) || value.length === 0) {
    c.fail(path, value, expected);
    return fallback;
  }
  const given = new Set<FeedChannel>();
  value.forEach((v, i) => {
    if (!(CHANNELS as readonly unknown[]).includes(v)) c.fail(index(path, i), v, `one of ${CHANNELS.join(', ')}`);
    else if (!offered.includes(v as FeedChannel)) c.fail(index(path, i), v, `one of ${offered.join(', ')} (the venue offers no ${v as string})`);
    else given.add(v as FeedChannel);
  });
  return CHANNELS.filter((ch) => given.has(ch));
}

// ───────────────────────────────────────────────────────────── checker

const NUMERIC = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Collects issues; each check reports and returns a usable fallback so validation goes on. */
class Checker {
  readonly issues: ConfigIssue[] = [];
  private readonly fromEnv: ReadonlyMap<string, readonly string[]>;

  constructor(fromEnv: ReadonlyMap<string, readonly string[]>) {
    this.fromEnv = fromEnv;
  }

  fail(path: string, value: unknown, expected: string): void {
    this.issues.push({ path, message: `${this.describe(path, value)}, expected ${expected}` });
  }

  /** A map section: absent or null → {} (all defaults); unknown keys reported. */
  section(value: unknown, path: string, allowed: readonly string[], hint?: (key: string) => string): Record<string, unknown> {
    if (value === undefined || value === null) return {};
    if (!isMap(value)) {
      this.fail(path, value, `a map with the keys ${allowed.join(', ')}`);
      return {};
    }
    this.unknownKeys(value, path, allowed, hint);
    return value;
  }

  unknownKeys(map: Record<string, unknown>, path: string, allowed: readonly string[], hint?: (key: string) => string): void {
    for (const key of Object.keys(map)) {
      if (allowed.includes(key)) continue;
      this.issues.push({ path: join(path, key), message: `unknown key, expected one of ${allowed.join(', ')}${hint?.(key) ?? ''}` });
    }
  }

  /** Absent or null → `fallback`. A string from `${VAR}` counts when it reads as a number. */
  number(value: unknown, path: string, fallback: number, ok: (n: number) => boolean, expected: string): number {
    if (value === undefined || value === null) return fallback;
    let n: number | undefined;
    if (typeof value === 'number') n = value;
    else if (typeof value === 'string' && this.fromEnv.has(path) && NUMERIC.test(value.trim())) n = Number(value);
    if (n !== undefined && Number.isFinite(n) && ok(n)) return n;
    this.fail(path, value, expected);
    return fallback;
  }

  /** Absent or null → `fallback`. A string from `${VAR}` counts when it is true or false. */
  boolean(value: unknown, path: string, fallback: boolean): boolean {
    if (value === undefined || value === null) return fallback;
    if (typeof value === 'boolean') return value;
    if (typeof value === 'string' && this.fromEnv.has(path)) {
      const s = value.trim().toLowerCase();
      if (s === 'true' || s === 'false') return s === 'true';
    }
    this.fail(path, value, 'true or false');
    return fallback;
  }

  /** "got <value>", without ever showing a value read from the environment. */
  describe(path: string, value: unknown): string {
    const vars = this.fromEnv.get(path);
    if (vars !== undefined) return `got the value of ${vars.map((v) => `\${${v}}`).join(', ')} (not shown)`;
    if (value === undefined) return 'missing';
    if (value === null) return 'got an empty value';
    if (typeof value === 'string') return `got ${JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)}`;
    if (typeof value === 'number' || typeof value === 'boolean') return `got ${String(value)}`;
    if (Array.isArray(value)) return value.length === 0 ? 'got an empty list' : 'got a list';
    if (isMap(value)) return Object.keys(value).length === 0 ? 'got an empty map' : 'got a map';
    return `got a ${typeof value}`;
  }
}

// ───────────────────────────────────────────────────────────── helpers

function isMap(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

const SIMPLE_KEY = /^[A-Za-z0-9_-]+$/;

/** `exchanges` + `binance` → `exchanges.binance`; odd keys are quoted: `exchanges["a b"]`. */
function join(path: string, key: string): string {
  if (!SIMPLE_KEY.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path === '' ? key : `${path}.${key}`;
}

function index(path: string, i: number): string {
  return `${path}[${i}]`;
}

let accepted: string | undefined;
function acceptedTimeframes(): string {
  accepted ??= `${TIMEFRAMES.join(' ')} or ${Object.keys(METATRADER_ALIASES).join(' ')}`;
  return accepted;
}

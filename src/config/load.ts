/**
 * Configuration loading: YAML text → `${VAR}` substitution (env.ts) →
 * validation, one module per section → `TickwireConfig` with every default
 * filled in. Runs once at start-up; the result is trusted afterwards, nothing
 * on the live path re-checks it.
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
 *
 * Sections: server.ts (server, cors), auth.ts, bars.ts (timeframes, history,
 * bars), cluster.ts (scale-out over NATS), exchanges.ts (with each venue's own keys checked by its registry
 * entry), storage.ts, stream.ts, limits.ts (file size, symbols, memory: the
 * memory a config reserves is refused at load, before anything is
 * allocated); the checker itself is src/check/.
 */
import { readFileSync, statSync } from 'node:fs';
import { parse } from 'yaml';
import { Checker } from '../check/checker.ts';
import { isMap } from '../check/paths.ts';
import { authSection } from './auth.ts';
import { clusterSection } from './cluster.ts';
import { barsSection, historySection, timeframesSection } from './bars.ts';
import { defaultStreamConfig } from './defaults.ts';
import { substitute, type Env, type Substitution } from './env.ts';
import { ConfigError } from './error.ts';
import { exchangesSection } from './exchanges.ts';
import { checkSymbolCount, configMemory, configSizeIssue, limitsSection, memoryIssue } from './limits.ts';
import { serverSection } from './server.ts';
import { storageSection } from './storage.ts';
import { streamSection } from './stream.ts';
import type { TickwireConfig } from './types.ts';

export { DEFAULT_CONFIG_YAML } from './defaults.ts';
export { ConfigError } from './error.ts';

const TOP_KEYS = ['server', 'timeframes', 'history', 'bars', 'exchanges', 'storage', 'stream', 'auth', 'limits', 'cluster'] as const;

/** Read and validate a YAML config file; unreadable and oversized files (limits.ts) are a `ConfigError` too. */
export function loadConfigFile(path: string, env: Env = process.env): TickwireConfig {
  let text: string;
  try {
    const tooBig = configSizeIssue(statSync(path).size);
    if (tooBig !== undefined) throw new ConfigError(path, [tooBig]);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
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
export function loadConfigText(yamlText: string, source: string, env: Env = process.env): TickwireConfig {
  const tooBig = configSizeIssue(Buffer.byteLength(yamlText));
  if (tooBig !== undefined) throw new ConfigError(source, [tooBig]);
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

interface ValidateOptions {
  /** Config files persist bars in DEFAULT_STORAGE_PATH unless they say otherwise; library objects only when they ask. */
  storageByDefault: boolean;
}

function validate(input: unknown, source: string, fromEnv: ReadonlyMap<string, readonly string[]>, options: ValidateOptions): TickwireConfig {
  const c = new Checker(fromEnv);
  const root = input === undefined || input === null ? {} : input;
  if (!isMap(root)) {
    c.fail('', root, `a mapping with the keys ${TOP_KEYS.join(', ')}`);
    throw new ConfigError(source, c.issues);
  }
  c.unknownKeys(root, '', TOP_KEYS);

  // Limits first: an oversized symbol list is counted, not checked symbol by symbol.
  const limits = limitsSection(c, root.limits);
  const symbolsFit = checkSymbolCount(c, root.exchanges, limits.maxSymbols);
  const server = serverSection(c, root.server);
  const timeframes = timeframesSection(c, root.timeframes);
  const history = historySection(c, root.history, timeframes);
  const bars = barsSection(c, root.bars);
  const exchanges = exchangesSection(c, root.exchanges, symbolsFit);
  const storage = storageSection(c, root.storage, options.storageByDefault);
  const stream = streamSection(c, root.stream, 'stream', defaultStreamConfig());
  const auth = authSection(c, root.auth, server.host);
  const cluster = clusterSection(c, root.cluster);
  const tooMuch = memoryIssue(configMemory({ timeframes, history, exchanges, stream }), limits);
  if (tooMuch !== undefined) c.issues.push(tooMuch);

  if (c.issues.length > 0) throw new ConfigError(source, c.issues);
  return { server, timeframes, history, bars, exchanges, storage, stream, auth, limits, cluster };
}

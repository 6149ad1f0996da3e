/**
 * Configuration loading: YAML text → the chosen environment merged over it
 * (environments.ts) → `${VAR}` substitution (env.ts) →
 * validation, one module per section → `TickwireConfig` with every default
 * filled in. Runs once at start-up; the result is trusted afterwards, nothing
 * on the live path re-checks it.
 *
 * Errors: one `ConfigError` (code `INVALID_CONFIG`) carrying EVERY problem
 * found, one per line, each `<source>: <key.path>: <what was given>, expected
 * <what is accepted>`. Values that came from the environment are never
 * printed (credentials live there); the message names the variable instead.
 *
 * Rules (the YAML contract is docs/configuration.md):
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
 * entry), feeds.ts, portfolios.ts, alerts.ts, storage.ts, stream.ts, streamer.ts (which exchange `/streamer/*` serves), limits.ts (file size, symbols, memory: the
 * memory a config reserves is refused at load, before anything is
 * allocated), strategies.ts (strategies and their pool); the checker itself
 * is src/check/.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { parse } from 'yaml';
import { Checker } from '../check/checker.ts';
import { isMap } from '../check/paths.ts';
import { portfolioIds } from '../portfolios/paper-portfolios.ts';
import { authSection } from './auth.ts';
import { clusterSection } from './cluster.ts';
import { barsSection, historySection, timeframesSection } from './bars.ts';
import { defaultStreamConfig } from './defaults.ts';
import { substitute, type Env, type Substitution } from './env.ts';
import { applyEnvironment, chosenEnvironment } from './environments.ts';
import { ConfigError } from './error.ts';
import { exchangesSection } from './exchanges.ts';
import { alertsSection } from './alerts.ts';
import { feedsSection } from './feeds.ts';
import { checkPaperPortfolioIds, portfoliosSection } from './portfolios.ts';
import { checkSymbolCount, configMemory, configSizeIssue, limitsSection, memoryIssue } from './limits.ts';
import { logSection } from './log.ts';
import { serverSection } from './server.ts';
import { storageSection } from './storage.ts';
import { poolSection, strategiesSection } from './strategies.ts';
import { pluginsSection } from './plugins.ts';
import { loadPlugins } from '../plugins/load.ts';
import { streamSection } from './stream.ts';
import { streamerSection } from './streamer.ts';
import type { TickwireConfig } from './types.ts';

export { DEFAULT_CONFIG_YAML } from './defaults.ts';
export { ConfigError } from './error.ts';

// `environments` is merged away before validation (environments.ts); listed so a misspelt key's message names it.
const TOP_KEYS = ['server', 'timeframes', 'history', 'bars', 'exchanges', 'storage', 'stream', 'auth', 'limits', 'log', 'streamer', 'feeds', 'portfolios', 'alerts', 'strategies', 'pool', 'cluster', 'plugins', 'environments'] as const;

/**
 * Read and validate a YAML config file; unreadable and oversized files
 * (limits.ts) are a `ConfigError` too. `environment` (`--env`) picks an entry
 * of `environments:`; undefined: TICKWIRE_ENV from `env`, if set (environments.ts).
 */
export function loadConfigFile(path: string, env: Env = process.env, environment?: string): TickwireConfig {
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
  return parseText(text, path, env, dirname(path), environment);
}

/**
 * Parse YAML, merge the chosen environment over it (`environment`, else
 * TICKWIRE_ENV from `env`), substitute `${VAR}` / `${VAR:-default}` from
 * `env` in every string value, then validate (see `parseConfig`). `source`
 * names the text in messages (usually the file path).
 */
export function loadConfigText(yamlText: string, source: string, env: Env = process.env, environment?: string): TickwireConfig {
  return parseText(yamlText, source, env, process.cwd(), environment);
}

/** `baseDir`: where strategy module and plugin paths are resolved from (the config file's folder). */
function parseText(yamlText: string, source: string, env: Env, baseDir: string, environment: string | undefined): TickwireConfig {
  const tooBig = configSizeIssue(Buffer.byteLength(yamlText));
  if (tooBig !== undefined) throw new ConfigError(source, [tooBig]);
  let doc: unknown;
  try {
    // logLevel 'error': syntax errors still throw, warnings (unknown tags) do not print.
    doc = parse(yamlText, { prettyErrors: false, logLevel: 'error' });
  } catch (err) {
    throw yamlSyntaxError(yamlText, source, err);
  }
  const name = chosenEnvironment(environment, env);
  const named = name === undefined ? source : `${source} (environment ${name})`;
  const chosen = applyEnvironment(doc, name);
  if (chosen.issues.length > 0) throw new ConfigError(source, chosen.issues);
  const subst: Substitution = { issues: [], fromEnv: new Map() };
  const substituted = substitute(chosen.doc, '', env, subst);
  if (subst.issues.length > 0) throw new ConfigError(named, subst.issues);
  return validate(substituted, named, subst.fromEnv, { storageByDefault: true, baseDir });
}

/**
 * Validate a plain object (a parsed YAML or JSON document) and fill in the
 * defaults, after merging `environments.<environment>` over it when one is
 * named (environments.ts). Throws one `ConfigError` listing every problem, one per line.
 */
export function parseConfig(input: unknown, source = 'config', environment?: string): TickwireConfig {
  const chosen = applyEnvironment(input, chosenEnvironment(environment, {}));
  if (chosen.issues.length > 0) throw new ConfigError(source, chosen.issues);
  return validate(chosen.doc, environment === undefined ? source : `${source} (environment ${environment})`, new Map(), { storageByDefault: false, baseDir: process.cwd() });
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
  /** Where relative strategy module and plugin paths, and plugin packages, are resolved from. */
  baseDir: string;
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
  // Plugins load before the exchanges that use them are checked; one that cannot is a PluginError, thrown here.
  const issuesBefore = c.issues.length;
  const pluginList = pluginsSection(c, root.plugins);
  const plugins = c.issues.length === issuesBefore ? loadPlugins(pluginList, options.baseDir) : new Map();
  const exchanges = exchangesSection(c, root.exchanges, symbolsFit, plugins);
  const storage = storageSection(c, root.storage, options.storageByDefault);
  const stream = streamSection(c, root.stream, 'stream', defaultStreamConfig());
  const auth = authSection(c, root.auth, server.host);
  const log = logSection(c, root.log);
  const streamer = streamerSection(c, root.streamer, Object.keys(exchanges));
  const feeds = feedsSection(c, root.feeds, exchanges, timeframes);
  const portfolios = portfoliosSection(c, root.portfolios, feeds, exchanges);
  const strategies = strategiesSection(c, root.strategies, { baseDir: options.baseDir, exchanges, timeframes });
  checkPaperPortfolioIds(c, portfolios, strategies);
  const alerts = alertsSection(c, root.alerts, { exchanges, feeds: Object.keys(feeds), portfolios: portfolioIds({ portfolios, strategies }), timeframes });
  const pool = poolSection(c, root.pool);
  const cluster = clusterSection(c, root.cluster);
  const tooMuch = memoryIssue(configMemory({ timeframes, history, exchanges, stream }), limits);
  if (tooMuch !== undefined) c.issues.push(tooMuch);

  if (c.issues.length > 0) throw new ConfigError(source, c.issues);
  const config: TickwireConfig = { server, timeframes, history, bars, exchanges, storage, stream, auth, limits, log, streamer, feeds, portfolios, alerts, cluster };
  // Only when given: a config without strategies is the same object it always was.
  if (root.strategies !== undefined && root.strategies !== null) config.strategies = strategies;
  if (root.pool !== undefined && root.pool !== null) config.pool = pool;
  if (pluginList.length > 0) config.plugins = pluginList;
  return config;
}

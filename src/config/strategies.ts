/**
 * The `strategies:` and `pool:` sections (docs/strategies.md). Checked here:
 * every key's shape, that each strategy's series is one the config keeps
 * (exchange, symbol, timeframe), that a module given as a path exists, and
 * bounds on everything that sizes memory (lookback, params, features).
 * What needs the module loaded (a `predict` export, `checkParams`) is checked
 * by the strategy runtime before the server listens, reported the same way
 * (src/strategies/probe.ts).
 *
 * Module paths: relative ones are resolved against the config file's folder
 * (the working directory for configs built in code); anything not starting
 * with `.` or `/` is a package name, resolved when the module is loaded.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Checker } from '../check/checker.ts';
import { isMap, keyPath } from '../check/paths.ts';
import { SymbolIndex } from '../model/symbols.ts';
import { isTimeframe, parseTimeframe, type TimeframeName } from '../model/timeframes.ts';
import { DEFAULT_NICE } from '../strategies/thread-priority.ts';
import type { ExchangeConfig, ExecutorConfig, FeatureSpec, PoolConfig, StrategyConfig } from './types.ts';

const STRATEGY_KEYS = ['module', 'exchange', 'symbol', 'timeframe', 'lookback', 'params', 'features', 'timeoutMs', 'maxErrors', 'executor'] as const;
const FEATURE_KINDS: readonly FeatureSpec['kind'][] = ['sma', 'ema', 'rsi', 'atr', 'returns'];
const EXECUTOR_KINDS = ['paper', 'webhook', 'module'] as const;
/** Strategy names become channel names (`signals:<name>`): letters, digits, `-`, `_`, `.`. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Most strategies one config may run (each holds a window of bars, features and a paper account). */
export const MAX_STRATEGIES = 1000;
/** Most closed bars a strategy may look back over (each call copies them to a worker). */
export const MAX_LOOKBACK = 10_000;
/** Largest `params` (and executor params), as JSON bytes: they are copied into every call. */
export const MAX_PARAMS_BYTES = 64 * 1024;
/** Most features per strategy. */
export const MAX_FEATURES = 64;
/** Longest indicator period. */
export const MAX_PERIOD = 10_000;
export const DEFAULT_TIMEOUT_MS = 250;
export const DEFAULT_MAX_ERRORS = 5;
/** Most pool threads. */
export const MAX_POOL_THREADS = 64;

/** Where relative module paths are resolved from. */
export interface StrategyContext {
  baseDir: string;
  exchanges: Record<string, ExchangeConfig>;
  timeframes: readonly TimeframeName[];
}

/** `strategies:` → name → validated strategy; absent → {}. */
export function strategiesSection(c: Checker, value: unknown, ctx: StrategyContext): Record<string, StrategyConfig> {
  const out: Record<string, StrategyConfig> = {};
  if (value === undefined || value === null) return out;
  if (!isMap(value)) {
    c.fail('strategies', value, 'a map of strategy name to its settings');
    return out;
  }
  const names = Object.keys(value);
  if (names.length > MAX_STRATEGIES) {
    c.fail('strategies', value, `at most ${MAX_STRATEGIES} strategies (got ${names.length})`);
    return out;
  }
  for (const name of names) {
    const at = keyPath('strategies', name);
    if (!NAME.test(name)) {
      c.issues.push({ path: at, message: 'invalid strategy name, expected 1 to 64 letters, digits, ".", "-" or "_", starting with a letter or digit' });
      continue;
    }
    const s = strategy(c, value[name], at, ctx);
    if (s !== undefined) out[name] = s;
  }
  return out;
}

/** `pool:` → threads (undefined: decided at start from the cores) and nice (default: the lowest priority). */
export function poolSection(c: Checker, value: unknown): PoolConfig {
  const p = c.section(value, 'pool', ['threads', 'nice']);
  const threads = p.threads === undefined || p.threads === null
    ? undefined
    : c.number(p.threads, 'pool.threads', 1, (n) => Number.isInteger(n) && n >= 1 && n <= MAX_POOL_THREADS, `an integer from 1 to ${MAX_POOL_THREADS}`);
  const nice = c.number(p.nice ?? DEFAULT_NICE, 'pool.nice', DEFAULT_NICE, (n) => Number.isInteger(n) && n >= 0 && n <= 19, 'an integer from 0 (the gateway\'s priority) to 19 (the lowest)');
  return { threads, nice };
}

function strategy(c: Checker, value: unknown, at: string, ctx: StrategyContext): StrategyConfig | undefined {
  if (!isMap(value)) {
    c.fail(at, value, `a map with the keys ${STRATEGY_KEYS.join(', ')}`);
    return undefined;
  }
  const s = c.section(value, at, STRATEGY_KEYS);
  const before = c.issues.length;
  const module = modulePath(c, s.module, keyPath(at, 'module'), ctx.baseDir);
  const series = seriesOf(c, s, at, ctx);
  const lookback = c.number(s.lookback, keyPath(at, 'lookback'), 1, (n) => Number.isInteger(n) && n >= 1 && n <= MAX_LOOKBACK, `an integer from 1 to ${MAX_LOOKBACK}`);
  const params = plainJson(c, s.params, keyPath(at, 'params'));
  const features = featuresOf(c, s.features, keyPath(at, 'features'));
  const timeoutMs = c.number(s.timeoutMs, keyPath(at, 'timeoutMs'), DEFAULT_TIMEOUT_MS, (n) => Number.isInteger(n) && n >= 1 && n <= 60_000, 'an integer number of ms from 1 to 60000');
  const maxErrors = c.number(s.maxErrors, keyPath(at, 'maxErrors'), DEFAULT_MAX_ERRORS, (n) => Number.isInteger(n) && n >= 1 && n <= 1000, 'an integer from 1 to 1000');
  const executor = executorOf(c, s.executor, keyPath(at, 'executor'), ctx.baseDir);
  if (c.issues.length > before || module === undefined || series === undefined || executor === undefined) return undefined;
  return { module, ...series, lookback, params, features, timeoutMs, maxErrors, executor };
}

/** A module: a path (resolved, must exist as a file) or a package name (resolved at load). */
function modulePath(c: Checker, value: unknown, at: string, baseDir: string): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') {
    c.fail(at, value, 'an ES module file path (.mjs, .js, or .ts under tsx) or a package name');
    return undefined;
  }
  if (!value.startsWith('.') && !path.isAbsolute(value)) return value;
  const file = path.resolve(baseDir, value);
  if (!existsSync(file) || !statSync(file).isFile()) {
    c.fail(at, value, `an existing module file (looked for ${file})`);
    return undefined;
  }
  return file;
}

function seriesOf(c: Checker, s: Record<string, unknown>, at: string, ctx: StrategyContext): { exchange: string; symbol: string; timeframe: TimeframeName } | undefined {
  const exchanges = Object.keys(ctx.exchanges);
  const ex = s.exchange;
  if (typeof ex !== 'string' || ctx.exchanges[ex] === undefined) {
    c.fail(keyPath(at, 'exchange'), ex, `a configured exchange (${exchanges.join(', ') || 'none'})`);
    return undefined;
  }
  const symbols = new SymbolIndex();
  for (const sym of ctx.exchanges[ex].symbols) symbols.add(sym);
  const native = typeof s.symbol === 'string' ? symbols.resolve(s.symbol)?.native : undefined;
  if (native === undefined) {
    c.fail(keyPath(at, 'symbol'), s.symbol, `a symbol configured on ${ex} (${ctx.exchanges[ex].symbols.join(', ')})`);
    return undefined;
  }
  const tf = s.timeframe;
  if (typeof tf !== 'string' || !isTimeframe(tf) || !ctx.timeframes.includes(parseTimeframe(tf).name)) {
    c.fail(keyPath(at, 'timeframe'), tf, `a timeframe the config keeps (${ctx.timeframes.join(' ')})`);
    return undefined;
  }
  return { exchange: ex, symbol: native, timeframe: parseTimeframe(tf).name };
}

/** Plain JSON (no cycles, finite numbers), at most MAX_PARAMS_BYTES; absent → {}. */
function plainJson(c: Checker, value: unknown, at: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (!isMap(value)) {
    c.fail(at, value, 'a map of plain values');
    return {};
  }
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch {
    c.fail(at, value, 'plain JSON values');
    return {};
  }
  if (Buffer.byteLength(text) > MAX_PARAMS_BYTES) {
    c.fail(at, value, `at most ${MAX_PARAMS_BYTES} bytes as JSON`);
    return {};
  }
  return JSON.parse(text) as Record<string, unknown>;
}

/** `features: { sma20: { sma: 20 } }` → name → spec. */
function featuresOf(c: Checker, value: unknown, at: string): Record<string, FeatureSpec> {
  const out: Record<string, FeatureSpec> = {};
  if (value === undefined || value === null) return out;
  if (!isMap(value) || Object.keys(value).length > MAX_FEATURES) {
    c.fail(at, value, `a map of up to ${MAX_FEATURES} feature names to { <kind>: <period> } (kinds: ${FEATURE_KINDS.join(', ')})`);
    return out;
  }
  for (const [name, spec] of Object.entries(value)) {
    const fat = keyPath(at, name);
    if (name === 'vwap' || name === 'imbalance' || name === 'spread') {
      c.issues.push({ path: fat, message: `"${name}" is always computed (the bar's own), expected another name` });
      continue;
    }
    const keys = isMap(spec) ? Object.keys(spec) : [];
    const kind = keys[0] as FeatureSpec['kind'];
    if (keys.length !== 1 || !FEATURE_KINDS.includes(kind)) {
      c.fail(fat, spec, `one of ${FEATURE_KINDS.map((k) => `{ ${k}: <period> }`).join(', ')}`);
      continue;
    }
    const period = c.number((spec as Record<string, unknown>)[kind], keyPath(fat, kind), 1, (n) => Number.isInteger(n) && n >= 1 && n <= MAX_PERIOD, `an integer period from 1 to ${MAX_PERIOD}`);
    out[name] = { kind, period };
  }
  return out;
}

function executorOf(c: Checker, value: unknown, at: string, baseDir: string): ExecutorConfig | undefined {
  if (value === undefined || value === null) return { kind: 'paper', cash: 10_000, feeBps: 0, slippageBps: 0 };
  if (!isMap(value)) {
    c.fail(at, value, `a map with kind (${EXECUTOR_KINDS.join(', ')}) and its settings`);
    return undefined;
  }
  const kind = c.oneOf(value.kind, keyPath(at, 'kind'), EXECUTOR_KINDS, 'paper');
  if (value.kind === undefined) c.fail(keyPath(at, 'kind'), undefined, EXECUTOR_KINDS.join(', '));
  const bps = (v: unknown, key: string) =>
    c.number(v, keyPath(at, key), 0, (n) => n >= 0 && n <= 1000, 'basis points from 0 to 1000');
  if (kind === 'paper') {
    const e = c.section(value, at, ['kind', 'cash', 'feeBps', 'slippageBps']);
    return {
      kind,
      cash: c.number(e.cash, keyPath(at, 'cash'), 10_000, (n) => n > 0 && n <= 1e15, 'a positive amount of quote currency'),
      feeBps: bps(e.feeBps, 'feeBps'),
      slippageBps: bps(e.slippageBps, 'slippageBps'),
    };
  }
  if (kind === 'webhook') {
    const e = c.section(value, at, ['kind', 'url', 'retries', 'timeoutMs', 'headers']);
    const url = c.url(e.url, keyPath(at, 'url'), ['http:', 'https:'], 'an http(s) URL');
    if (url === undefined && (e.url === undefined || e.url === '')) c.fail(keyPath(at, 'url'), e.url, 'an http(s) URL');
    const headers: Record<string, string> = {};
    if (e.headers !== undefined && e.headers !== null) {
      if (!isMap(e.headers)) c.fail(keyPath(at, 'headers'), e.headers, 'a map of header name to text');
      else {
        for (const [h, v] of Object.entries(e.headers)) {
          const hv = c.credential(v, keyPath(keyPath(at, 'headers'), h), true, 'a header value');
          if (hv !== undefined) headers[h.toLowerCase()] = hv;
        }
      }
    }
    return {
      kind,
      url: url ?? '',
      retries: c.number(e.retries, keyPath(at, 'retries'), 3, (n) => Number.isInteger(n) && n >= 0 && n <= 10, 'an integer from 0 to 10'),
      timeoutMs: c.number(e.timeoutMs, keyPath(at, 'timeoutMs'), 2_000, (n) => Number.isInteger(n) && n >= 1 && n <= 60_000, 'an integer number of ms from 1 to 60000'),
      headers,
    };
  }
  const e = c.section(value, at, ['kind', 'module', 'params']);
  const module = modulePath(c, e.module, keyPath(at, 'module'), baseDir);
  if (module === undefined) return undefined;
  return { kind, module, params: plainJson(c, e.params, keyPath(at, 'params')) };
}

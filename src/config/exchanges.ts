/**
 * The `exchanges:` section: at least one exchange of KNOWN_EXCHANGES or of
 * the config's plugins, each
 * with the keys every venue takes (url, symbols, channels, reliability:
 * reliability.ts), checked here,
 * and the venue's own keys, checked by its registry entry (`checkConfig`).
 */
import type { Checker } from '../check/checker.ts';
import { indexPath, isMap, keyPath } from '../check/paths.ts';
import { adapterNames, builtInAdapterFor, capabilitiesOf, type AdapterEntry } from '../exchanges/registry.ts';
import { DEFAULT_CHANNELS, DEFAULT_RATE, DEFAULT_SEED } from './defaults.ts';
import { reliabilitySection } from './reliability.ts';
import type { ExchangeConfig, FeedChannel } from './types.ts';

/** Exchanges a config may name without a plugin: the built-in adapters. */
export const KNOWN_EXCHANGES: readonly string[] = adapterNames();

/** Keys every exchange accepts; the registry adds each venue's own. */
const EXCHANGE_KEYS = ['url', 'symbols', 'channels', 'reliability', 'onDemand'] as const;
const ON_DEMAND_KEYS = ['maxSymbols', 'idleS'] as const;
/** `onDemand` defaults (docs/on-demand.md). */
export const DEFAULT_ON_DEMAND = { maxSymbols: 50, idleS: 300 } as const;
/** Most symbols one exchange may feed on demand (each can take a symbol slot for good: their history stays). */
export const MAX_ON_DEMAND_SYMBOLS = 1000;
const DAY_S = 86_400;
const CHANNELS: readonly FeedChannel[] = ['trades', 'quotes'];
const WS_PROTOCOLS = ['ws:', 'wss:'] as const;

/** Exchange-native symbol ids: BTCUSDT, BTC-USD, XBT/USD, BTC-PERP:USDT, 1000PEPE.X. */
export const SYMBOL_PATTERN = /^[A-Za-z0-9._\-/:]{1,40}$/;

/**
 * `exchanges:`: a map of exchange name to its settings. `checkSymbols` false
 * (the lists are over limits.maxSymbols, already reported): the symbol lists
 * are taken as given, unchecked, so an oversized config is refused fast.
 */
export function exchangesSection(c: Checker, value: unknown, checkSymbols = true, plugins: ReadonlyMap<string, AdapterEntry> = new Map()): Record<string, ExchangeConfig> {
  const exchanges: Record<string, ExchangeConfig> = {};
  const known = [...KNOWN_EXCHANGES, ...plugins.keys()];
  const expected = `a map of exchange name to its settings, with at least one of ${known.join(', ')}`;
  if (!isMap(value) || Object.keys(value).length === 0) {
    c.fail('exchanges', value, expected);
    return exchanges;
  }
  for (const [name, body] of Object.entries(value)) {
    const path = keyPath('exchanges', name);
    // The config's own plugins only: one loaded for another config of this process does not count.
    const entry = builtInAdapterFor(name) ?? plugins.get(name);
    if (entry === undefined) {
      c.issues.push({ path, message: `unknown exchange, expected one of ${known.join(', ')}` });
      continue;
    }
    exchanges[name] = exchange(c, name, entry, body, path, checkSymbols);
  }
  return exchanges;
}

function exchange(c: Checker, name: string, entry: AdapterEntry, value: unknown, path: string, checkSymbols: boolean): ExchangeConfig {
  const allowed = [...EXCHANGE_KEYS, ...entry.extraKeys];
  const e = c.section(value, path, allowed, (key) => {
    if (entry.plugin !== undefined) return ` (the keys of plugin ${entry.plugin.specifier}'s exchanges)`;
    const owners = KNOWN_EXCHANGES.filter((x) => builtInAdapterFor(x)!.extraKeys.includes(key));
    return owners.length > 0 ? ` (${key} applies to ${owners.join(', ')} only)` : '';
  });
  const chosen = channels(c, e.channels, keyPath(path, 'channels'), entry.capabilities.channels);
  const common: ExchangeConfig = {
    url: c.url(e.url, keyPath(path, 'url'), WS_PROTOCOLS, 'a ws:// or wss:// URL'),
    symbols: checkSymbols || !Array.isArray(e.symbols) ? symbols(c, e.symbols, keyPath(path, 'symbols')) : (e.symbols as string[]),
    channels: chosen,
    rate: DEFAULT_RATE,
    seed: DEFAULT_SEED,
    key: undefined,
    secret: undefined,
    restUrl: undefined,
    assetClass: 'stocks',
    feed: undefined,
    reliability: reliabilitySection(c, e.reliability, path),
    ...onDemandSection(c, e.onDemand, keyPath(path, 'onDemand')),
  };
  const config: ExchangeConfig = entry.checkConfig === undefined ? common : { ...common, ...entry.checkConfig(c, e, path, common) };
  streamsFit(c, name, entry, config, path);
  return config;
}

/** `onDemand:` a map (`{}`: the defaults) or true; absent, null or false: off. */
function onDemandSection(c: Checker, value: unknown, path: string): Pick<ExchangeConfig, 'onDemand'> {
  if (value === undefined || value === null || value === false) return {};
  const d = c.section(value === true ? {} : value, path, ON_DEMAND_KEYS);
  const int = (v: unknown, key: string, fallback: number, max: number): number =>
    c.number(v, keyPath(path, key), fallback, (n) => Number.isInteger(n) && n >= 1 && n <= max, `an integer from 1 to ${max}`);
  return {
    onDemand: {
      maxSymbols: int(d.maxSymbols, 'maxSymbols', DEFAULT_ON_DEMAND.maxSymbols, MAX_ON_DEMAND_SYMBOLS),
      idleS: int(d.idleS, 'idleS', DEFAULT_ON_DEMAND.idleS, DAY_S),
    },
  };
}

/** An account limited to a few connections must fit its streams in them. */
function streamsFit(c: Checker, name: string, entry: AdapterEntry, config: ExchangeConfig, path: string): void {
  if (entry.maxConnections === undefined || config.symbols.length === 0) return;
  const perConnection = capabilitiesOf(entry, config).maxStreamsPerConnection;
  const streams = config.symbols.length * config.channels.length;
  const limit = perConnection * entry.maxConnections;
  if (streams <= limit) return;
  c.issues.push({
    path: keyPath(path, 'symbols'),
    message:
      `got ${config.symbols.length} symbols × ${config.channels.length} channels = ${streams} streams, expected at most ${limit}: ` +
      `${name} allows ${entry.maxConnections} connection(s) of ${perConnection} streams on this feed (fewer symbols, or a plan with a larger limit)`,
  });
}

function symbols(c: Checker, value: unknown, path: string): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    c.fail(path, value, 'a non-empty list of symbols, as the exchange names them');
    return [];
  }
  const out: string[] = [];
  const seen = new Set<string>();
  // Paths are built only for a symbol in error (measured: building one per symbol was most of 1.2 s for 800k).
  value.forEach((v, i) => {
    if (typeof v !== 'string' || !SYMBOL_PATTERN.test(v)) {
      const quote = typeof v === 'number' || typeof v === 'boolean' ? ' (quote it to make it text)' : '';
      c.fail(indexPath(path, i), v, `a symbol of 1 to 40 letters, digits or . _ - / :${quote}`);
      return;
    }
    if (seen.has(v)) {
      c.fail(indexPath(path, i), v, `each symbol once (already at ${indexPath(path, value.indexOf(v))})`);
      return;
    }
    seen.add(v);
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
    if (!(CHANNELS as readonly unknown[]).includes(v)) c.fail(indexPath(path, i), v, `one of ${CHANNELS.join(', ')}`);
    else if (!offered.includes(v as FeedChannel)) c.fail(indexPath(path, i), v, `one of ${offered.join(', ')} (the venue offers no ${v as string})`);
    else given.add(v as FeedChannel);
  });
  return CHANNELS.filter((ch) => given.has(ch));
}

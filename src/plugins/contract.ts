/**
 * The adapter plugin contract (docs/plugins.md): what a module listed under
 * `plugins:` exports, and the check that turns it into a registry entry
 * usable exactly like a built-in venue (same worker, aggregator, gap
 * recovery, status and metrics).
 *
 * A plugin declares the contract version it was written against
 * (`contract: 1`), the exchange name it serves, its capabilities, the venue's
 * limits and a schema of its own config keys (options.ts). `checkPlugin`
 * refuses anything else with a PluginError naming the plugin and every
 * problem found, before anything connects. The check ends with a probe: the
 * plugin builds an adapter for no symbols, which must have every method its
 * declared capabilities need.
 *
 * Decisions where the issue is silent: capabilities are declared, not
 * guessed from methods (a declared one whose method is missing is refused;
 * an undeclared method is never called); start-up backfill from klines is not
 * part of contract 1 (it reads Binance-format klines only); a plugin may not
 * take a built-in venue's name.
 */
import type { TradeIdOrder } from '../bars/recent-ids.ts';
import type { ExchangeConfig, FeedChannel, PluginOptionValue } from '../config/types.ts';
import { ErrorCode, PluginError, showValue } from '../errors.ts';
import { handQuote, handTrade, type AdapterCapabilities, type ExchangeAdapter, type FeedCallbacks, type FeedHandler, type FrameKind } from '../exchanges/adapter.ts';
import { builtInAdapterFor, type AdapterEntry } from '../exchanges/registry.ts';
import { pluginKit, type PluginKit } from './kit.ts';
import { checkOptionSchema, optionChecker, optionDefaults, type PluginOption } from './options.ts';

/** The adapter contract version this tickwire implements. */
export const PLUGIN_CONTRACT = 1;
/** Oldest contract version a plugin may declare and still load. */
export const OLDEST_PLUGIN_CONTRACT = 1;

/**
 * What a plugin can declare: `trades` and `quotes` (the channels it feeds),
 * `gapRecovery` (trades fetched over the venue's REST API after a reconnect:
 * the adapter has `tradesFrom` and `restPageSize`, the venue a
 * `defaultRestUrl`), `liveSymbols` (symbols added and removed on the open
 * connection: `addSymbols` and `removeSymbols`).
 */
export const PLUGIN_CAPABILITIES = ['trades', 'quotes', 'gapRecovery', 'liveSymbols'] as const;
export type PluginCapability = (typeof PLUGIN_CAPABILITIES)[number];

/** The venue's fixed facts, as `AdapterCapabilities` holds them for built-in venues. */
export interface PluginVenue {
  /** WebSocket URL used when the config gives no `url` (ws:// or wss://). */
  defaultUrl: string;
  /** REST base URL for gap recovery when the config gives no `restUrl` (http:// or https://); needed with `gapRecovery`. */
  defaultRestUrl?: string;
  /** `increasing`: trade ids grow with time per symbol (a compact de-duplication window); `any` otherwise. */
  tradeIdOrder: TradeIdOrder;
  /** Streams (symbol × channel) one connection may carry. */
  maxStreamsPerConnection: number;
  /** Client messages per second the venue tolerates on one connection. */
  maxMessagesPerSecond: number;
  /** Longest a connection may live, ms (tickwire reconnects before). */
  maxConnectionAgeMs: number;
}

/** What `create` is given besides the symbols. */
export interface PluginContext {
  /** The channels the config asks for (a subset of the declared trades and quotes). */
  channels: readonly FeedChannel[];
  /** The plugin's own config keys, checked against its `options` schema, defaults filled in. */
  options: Readonly<Record<string, PluginOptionValue>>;
  /** The adapter's `capabilities`: expose this object as the adapter's `capabilities` property. */
  capabilities: AdapterCapabilities;
  /** Helpers from the host: frame kinds, the venue's rate-limited REST GET, number checks. */
  kit: PluginKit;
}

/**
 * An adapter as a plugin writes it: an ExchangeAdapter whose `parse` is
 * handed FeedCallbacks, each trade and quote one call with its numbers as
 * arguments (contract 1). The host bridges them to the feed's FeedHandler
 * (`hosted`), so the built-in adapters' typed-memory hand-over changed
 * nothing for plugins.
 */
export interface PluginAdapter extends Omit<ExchangeAdapter, 'parse'> {
  parse(frame: string, handler: FeedCallbacks): FrameKind;
}

/** The default export of an adapter plugin module. */
export interface AdapterPlugin {
  /** The contract version the plugin was written against: `1`. */
  contract: number;
  /** The exchange name configs use for it (`exchanges: { deribit: ... }`): lower-case letters, digits and `-`. */
  name: string;
  /** The plugin's own version (shown in status and logs). */
  version: string;
  capabilities: readonly PluginCapability[];
  venue: PluginVenue;
  /** Its own config keys, by name (options.ts); none when absent. */
  options?: Readonly<Record<string, PluginOption>>;
  /** One adapter for `symbols` (exchange-native ids); must not connect or start timers (it is also built to be checked). */
  create(symbols: readonly string[], context: PluginContext): PluginAdapter;
}

const NAME = /^[a-z][a-z0-9-]{0,31}$/;
const WS_PROTOCOLS = ['ws:', 'wss:'];
const HTTP_PROTOCOLS = ['http:', 'https:'];
/** Methods every adapter has, whatever it declares. */
const REQUIRED_METHODS = ['connectUrl', 'subscribeRequests', 'parse'] as const;
/** Methods each capability needs on the adapter. */
const METHODS_OF: Readonly<Record<PluginCapability, readonly string[]>> = {
  trades: [],
  quotes: [],
  gapRecovery: ['tradesFrom'],
  liveSymbols: ['addSymbols', 'removeSymbols'],
};

/**
 * Check a plugin module's exports (`label`: the plugin as the config lists
 * it, `file`: where it was loaded from) and build its registry entry.
 * Throws PluginError: PLUGIN_CONTRACT for a contract version outside
 * OLDEST_PLUGIN_CONTRACT..PLUGIN_CONTRACT, PLUGIN_INVALID for the rest.
 */
export function checkPlugin(exports: unknown, label: string, file: string): AdapterEntry {
  const plugin = pluginOf(exports);
  if (plugin === undefined) {
    throw new PluginError(ErrorCode.PLUGIN_INVALID, label, 'exports no adapter plugin, expected a default export { contract, name, version, capabilities, venue, create } (docs/plugins.md)');
  }
  checkContract(plugin.contract, label);
  const problems: string[] = [];
  const name = plugin.name;
  if (typeof name !== 'string' || !NAME.test(name)) problems.push(`name: got ${showValue(name)}, expected 1 to 32 lower-case letters, digits or - (the exchange name configs use)`);
  else if (builtInAdapterFor(name) !== undefined) problems.push(`name: ${name} is a venue tickwire ships, expected a name of its own`);
  if (typeof plugin.version !== 'string' || plugin.version.length === 0 || plugin.version.length > 40) problems.push(`version: got ${showValue(plugin.version)}, expected text of 1 to 40 characters`);
  const capabilities = checkCapabilities(plugin.capabilities, problems);
  checkVenue(plugin.venue, capabilities, problems);
  checkOptionSchema(plugin.options, capabilities.includes('gapRecovery'), problems);
  if (typeof plugin.create !== 'function') problems.push('create: missing, expected a function (symbols, context) => adapter');
  if (problems.length > 0) throw new PluginError(ErrorCode.PLUGIN_INVALID, label, problems.join('; '));

  const venue = plugin.venue;
  const adapterCapabilities: AdapterCapabilities = {
    name,
    defaultUrl: venue.defaultUrl,
    channels: (['trades', 'quotes'] as const).filter((ch) => capabilities.includes(ch)),
    tradeIdOrder: venue.tradeIdOrder,
    maxStreamsPerConnection: venue.maxStreamsPerConnection,
    maxMessagesPerSecond: venue.maxMessagesPerSecond,
    maxConnectionAgeMs: venue.maxConnectionAgeMs,
  };
  const options = plugin.options ?? {};
  const entry: AdapterEntry = {
    version: plugin.version,
    assetTypes: ['crypto'],
    extraKeys: [...Object.keys(options), ...(capabilities.includes('gapRecovery') ? ['restUrl'] : [])],
    checkConfig: optionChecker(options, capabilities.includes('gapRecovery'), label),
    capabilities: adapterCapabilities,
    defaultUrl: () => venue.defaultUrl,
    ...(venue.defaultRestUrl === undefined ? {} : { defaultRestUrl: venue.defaultRestUrl }),
    create: (symbols, channels, config) =>
      hosted(plugin.create(symbols, { channels, options: config.options ?? optionDefaults(options), capabilities: adapterCapabilities, kit: pluginKit(name) })),
    plugin: { specifier: label, file },
  };
  probe(entry, capabilities, label);
  return entry;
}

/** What `checkAdapterPlugin` gives a plugin's own tests. */
export interface CheckedPlugin {
  /** The capabilities tickwire derived from the plugin's declaration (what its adapters must expose). */
  capabilities: AdapterCapabilities;
  /** An adapter for `symbols`, built as a feed worker builds it (every declared channel; options at their defaults unless given). */
  create(symbols: readonly string[], options?: Readonly<Record<string, PluginOptionValue>>): ExchangeAdapter;
}

/**
 * Check a plugin module's exports as `tickwire start` will (throws the same
 * PluginError) and build adapters from it the way a feed worker does: for a
 * plugin's own tests, e.g. of `parse` on recorded frames.
 */
export function checkAdapterPlugin(exports: unknown, label = 'plugin'): CheckedPlugin {
  const entry = checkPlugin(exports, label, label);
  const defaults = optionDefaults(pluginOf(exports)!.options ?? {});
  return {
    capabilities: entry.capabilities,
    create: (symbols, options = {}) => entry.create(symbols, entry.capabilities.channels, standaloneConfig(entry, symbols, { ...defaults, ...options })),
  };
}

/**
 * A plugin's adapter as the feed uses it: its own object (its `ackId`,
 * `error` and optional methods are read from it), with `parse` handing the
 * plugin FeedCallbacks that write each trade's or quote's numbers into the
 * feed's FeedHandler. Not on a fast path: a plugin's `parse` allocates anyway.
 */
function hosted(adapter: PluginAdapter): ExchangeAdapter {
  const parse = adapter.parse.bind(adapter);
  let target: FeedHandler | undefined;
  const callbacks: FeedCallbacks = {
    trade: (symbol, ts, price, size, side, tradeId) => handTrade(target!, symbol, ts, price, size, side, tradeId),
    quote: (symbol, ts, bidPrice, bidSize, askPrice, askSize) => handQuote(target!, symbol, ts, bidPrice, bidSize, askPrice, askSize),
  };
  const hostParse: ExchangeAdapter['parse'] = (frame, handler) => {
    target = handler;
    return parse(frame, callbacks);
  };
  // A view, not a change to the plugin's object: its own code still finds its own parse (this.parse).
  return new Proxy(adapter as unknown as ExchangeAdapter, { get: (o, key) => (key === 'parse' ? hostParse : Reflect.get(o, key, o)) });
}

/** The plugin object of a module's exports: its default export (ES module), else the exports themselves (CommonJS). */
function pluginOf(exports: unknown): AdapterPlugin | undefined {
  const candidate = isObject(exports) && 'default' in exports && isObject(exports.default) ? exports.default : exports;
  return isObject(candidate) ? (candidate as unknown as AdapterPlugin) : undefined;
}

function checkContract(contract: unknown, label: string): void {
  const supported = OLDEST_PLUGIN_CONTRACT === PLUGIN_CONTRACT ? `${PLUGIN_CONTRACT}` : `${OLDEST_PLUGIN_CONTRACT} to ${PLUGIN_CONTRACT}`;
  if (contract === undefined) {
    throw new PluginError(ErrorCode.PLUGIN_CONTRACT, label, `declares no adapter contract version, expected contract: ${PLUGIN_CONTRACT} (this tickwire supports ${supported})`);
  }
  if (typeof contract !== 'number' || !Number.isInteger(contract) || contract < OLDEST_PLUGIN_CONTRACT || contract > PLUGIN_CONTRACT) {
    const hint = typeof contract === 'number' && contract > PLUGIN_CONTRACT ? ': it needs a newer tickwire' : ': it was written for an older tickwire';
    throw new PluginError(ErrorCode.PLUGIN_CONTRACT, label, `declares adapter contract ${showValue(contract)}, this tickwire supports ${supported}${hint}`);
  }
}

function checkCapabilities(value: unknown, problems: string[]): PluginCapability[] {
  const expected = `a list of ${PLUGIN_CAPABILITIES.join(', ')} with trades or quotes`;
  if (!Array.isArray(value) || value.length === 0 || value.length > PLUGIN_CAPABILITIES.length) {
    problems.push(`capabilities: got ${showValue(value)}, expected ${expected}`);
    return [];
  }
  const out: PluginCapability[] = [];
  for (const v of value) {
    if (!(PLUGIN_CAPABILITIES as readonly unknown[]).includes(v)) problems.push(`capabilities: unknown capability ${showValue(v)}, expected one of ${PLUGIN_CAPABILITIES.join(', ')}`);
    else if (!out.includes(v as PluginCapability)) out.push(v as PluginCapability);
  }
  if (!out.includes('trades') && !out.includes('quotes')) problems.push(`capabilities: declares neither trades nor quotes, expected ${expected}`);
  return out;
}

function checkVenue(venue: unknown, capabilities: readonly PluginCapability[], problems: string[]): void {
  if (!isObject(venue)) {
    problems.push(`venue: got ${showValue(venue)}, expected { defaultUrl, tradeIdOrder, maxStreamsPerConnection, maxMessagesPerSecond, maxConnectionAgeMs }`);
    return;
  }
  if (!isUrl(venue.defaultUrl, WS_PROTOCOLS)) problems.push(`venue.defaultUrl: got ${showValue(venue.defaultUrl)}, expected a ws:// or wss:// URL`);
  if (venue.tradeIdOrder !== 'increasing' && venue.tradeIdOrder !== 'any') problems.push(`venue.tradeIdOrder: got ${showValue(venue.tradeIdOrder)}, expected increasing or any`);
  for (const key of ['maxStreamsPerConnection', 'maxMessagesPerSecond', 'maxConnectionAgeMs'] as const) {
    const n = venue[key];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) problems.push(`venue.${key}: got ${showValue(n)}, expected a positive integer`);
  }
  if (venue.defaultRestUrl !== undefined && !isUrl(venue.defaultRestUrl, HTTP_PROTOCOLS)) {
    problems.push(`venue.defaultRestUrl: got ${showValue(venue.defaultRestUrl)}, expected an http:// or https:// URL`);
  }
  if (capabilities.includes('gapRecovery') && venue.defaultRestUrl === undefined) problems.push('venue.defaultRestUrl: missing, expected the REST base URL gapRecovery fetches trades from');
}

/** Build an adapter for no symbols and check it has what the contract and the declared capabilities need. */
function probe(entry: AdapterEntry, capabilities: readonly PluginCapability[], label: string): void {
  let adapter: unknown;
  try {
    adapter = entry.create([], entry.capabilities.channels, standaloneConfig(entry, [], undefined));
  } catch (err) {
    throw new PluginError(ErrorCode.PLUGIN_INVALID, label, `create([]) threw: ${err instanceof Error ? err.message : showValue(err)}`, { cause: err });
  }
  if (!isObject(adapter)) throw new PluginError(ErrorCode.PLUGIN_INVALID, label, `create([]) returned ${showValue(adapter)}, expected an adapter object`);
  const problems: string[] = [];
  if (adapter.capabilities !== entry.capabilities) problems.push('the adapter\'s capabilities: expected the object create was given as context.capabilities');
  for (const method of REQUIRED_METHODS) {
    if (typeof adapter[method] !== 'function') problems.push(`the adapter has no ${method} method, which every adapter needs`);
  }
  for (const capability of capabilities) {
    for (const method of METHODS_OF[capability]) {
      if (typeof adapter[method] !== 'function') problems.push(`declares ${capability} but the adapter has no ${method} method`);
    }
  }
  if (capabilities.includes('gapRecovery')) {
    const size = adapter.restPageSize;
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 1) problems.push(`declares gapRecovery but the adapter's restPageSize is ${showValue(size)}, expected a positive integer`);
  }
  const heartbeat = adapter.heartbeat;
  if (heartbeat !== undefined && (!isObject(heartbeat) || typeof heartbeat.text !== 'string' || typeof heartbeat.intervalMs !== 'number' || !(heartbeat.intervalMs >= 1_000))) {
    problems.push(`the adapter's heartbeat: got ${showValue(heartbeat)}, expected { intervalMs: at least 1000, text }`);
  }
  if (problems.length > 0) throw new PluginError(ErrorCode.PLUGIN_INVALID, label, problems.join('; '));
}

/** The config of an adapter built outside a config file (the probe, a plugin's tests): every declared channel; no options: the defaults. */
function standaloneConfig(entry: AdapterEntry, symbols: readonly string[], options: Readonly<Record<string, PluginOptionValue>> | undefined): ExchangeConfig {
  return {
    url: undefined,
    symbols: [...symbols],
    channels: [...entry.capabilities.channels],
    rate: 0,
    seed: 0,
    restUrl: undefined,
    key: undefined,
    secret: undefined,
    assetClass: 'stocks',
    feed: undefined,
    ...(options === undefined ? {} : { options }),
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && !Array.isArray(v);
}

function isUrl(v: unknown, protocols: readonly string[]): boolean {
  if (typeof v !== 'string') return false;
  try {
    return protocols.includes(new URL(v).protocol);
  } catch {
    return false;
  }
}

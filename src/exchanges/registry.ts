/**
 * The adapters tickwire knows, by exchange name, with what the config is
 * checked against before anything connects: the channels a venue offers,
 * and the config keys only it accepts, which its entry checks itself
 * (`checkConfig`, with the shared checker of src/check/).
 *
 * A new venue is one file in src/exchanges/ plus one entry here, or an
 * adapter plugin outside tickwire (docs/plugins.md): src/plugins/ checks it
 * and registers its entry here, by the exchange name it declares.
 */
import type { Checker } from '../check/checker.ts';
import { keyPath } from '../check/paths.ts';
import type { ExchangeConfig, FeedChannel } from '../config/types.ts';
import { usEquitySession, type SessionFilter } from '../model/sessions.ts';
import type { AdapterCapabilities, ExchangeAdapter } from './adapter.ts';
import { AlpacaAdapter, alpacaCapabilities, type AlpacaFeed } from './alpaca.ts';
import { BinanceAdapter, binanceCapabilities } from './binance.ts';
import { BinanceUsdmAdapter, binanceUsdmCapabilities } from './binance-usdm.ts';
import { BybitAdapter, bybitCapabilities } from './bybit.ts';
import { BitstampAdapter, bitstampCapabilities } from './bitstamp.ts';
import { CoinbaseAdapter, coinbaseCapabilities } from './coinbase.ts';
import { KrakenAdapter, krakenCapabilities } from './kraken.ts';
import { OkxAdapter, okxCapabilities } from './okx.ts';
import {
  alpacaSymbolList,
  binanceSymbolList,
  binanceUsdmSymbolList,
  bitstampSymbolList,
  bybitSymbolList,
  coinbaseSymbolList,
  krakenSymbolList,
  okxSymbolList,
  type SymbolListSource,
} from './venue-symbols.ts';

/** The settings of an exchange's config that only some venues accept. */
export type VenueSettings = Partial<Pick<ExchangeConfig, 'rate' | 'seed' | 'restUrl' | 'key' | 'secret' | 'assetClass' | 'feed' | 'options'>>;

/** Where a plugin's entry came from (src/plugins/load.ts). */
export interface PluginSource {
  /** The plugin as the config lists it. */
  specifier: string;
  /** The module file it resolved to: what a feed worker loads. */
  file: string;
}

export interface AdapterEntry {
  /** Adapter version: bumped when its normalization changes. */
  version: string;
  assetTypes: readonly ('crypto' | 'stocks')[];
  /** Config keys this venue accepts beyond url, symbols and channels. */
  extraKeys: readonly string[];
  /**
   * Check this venue's own keys (`extraKeys`) in its config section at `path`,
   * reporting to `c`; `base` holds the common keys, checked, and the defaults.
   * Returns the venue's settings (a key absent: its default from `base`).
   */
  checkConfig?(c: Checker, section: Readonly<Record<string, unknown>>, path: string, base: ExchangeConfig): VenueSettings;
  /** The venue's capabilities in general (what the config is checked against)... */
  capabilities: AdapterCapabilities;
  /** ...and for one configured account or feed, when they differ (stream limits by plan). */
  capabilitiesFor?(config: ExchangeConfig): AdapterCapabilities;
  /** Connections one account may hold at once (default: as many as the streams need). */
  maxConnections?: number;
  /** The URL to use when the config gives none. */
  defaultUrl(config: ExchangeConfig): string;
  /** REST base URL for gap recovery when the config gives none (venues whose adapter has `tradesFrom`). */
  defaultRestUrl?: string;
  /**
   * The venue's REST symbol list (venue-symbols.ts), fetched from the exchange's
   * REST URL (`restUrlOf`) at start and daily: live additions and on-demand
   * symbols are checked against it. None: additions are not checked.
   */
  symbolList?: SymbolListSource;
  /** The venue serves Binance-format klines at `<restUrl>/api/v3/klines`: start-up backfill uses them (src/backfill/). */
  klines?: boolean;
  /** When the configured market trades (stocks); none: around the clock. */
  session?(config: ExchangeConfig): SessionFilter | undefined;
  create(symbols: readonly string[], channels: readonly FeedChannel[], config: ExchangeConfig): ExchangeAdapter;
  /** Set for an adapter plugin: where it was loaded from. */
  plugin?: PluginSource;
}

/** The simulated exchange speaks the Binance protocol from a local server (src/sim/). */
const simulatedCapabilities: AdapterCapabilities = {
  ...binanceCapabilities,
  name: 'simulated',
  defaultUrl: '', // the local server's URL, known once it listens
};

/** `simulated`: most trades per second per symbol a config may ask for. */
export const MAX_SIMULATED_RATE = 10_000;
const HTTP_PROTOCOLS = ['http:', 'https:'] as const;

/** An entry for a crypto venue with no options of its own. */
function plain(capabilities: AdapterCapabilities, create: AdapterEntry['create']): AdapterEntry {
  return { version: '1', assetTypes: ['crypto'], extraKeys: [], capabilities, defaultUrl: () => capabilities.defaultUrl, create };
}

/** The `restUrl` key of venues with a public REST API (gap recovery, backfill), defaulting to `defaultRestUrl`. */
function restUrlKey(defaultRestUrl: string): Pick<AdapterEntry, 'extraKeys' | 'defaultRestUrl' | 'checkConfig'> {
  return {
    extraKeys: ['restUrl'],
    defaultRestUrl,
    checkConfig: (c, e, path) => ({ restUrl: restUrlSetting(c, e, path) }),
  };
}

/** The `restUrl` key at `path`: absent, null or '' → undefined, the venue's default (restUrlOf). */
function restUrlSetting(c: Checker, e: Readonly<Record<string, unknown>>, path: string): string | undefined {
  return c.url(e.restUrl, keyPath(path, 'restUrl'), HTTP_PROTOCOLS, 'an http:// or https:// URL');
}

const ADAPTERS: Readonly<Record<string, AdapterEntry>> = {
  binance: {
    ...plain(binanceCapabilities, (s, c) => new BinanceAdapter(s, c)),
    ...restUrlKey('https://api.binance.com'),
    klines: true,
    symbolList: binanceSymbolList,
  },
  'binance-usdm': {
    ...plain(binanceUsdmCapabilities, (s, c) => new BinanceUsdmAdapter(s, c)),
    ...restUrlKey('https://fapi.binance.com'),
    symbolList: binanceUsdmSymbolList,
  },
  coinbase: {
    ...plain(coinbaseCapabilities, (s, c) => new CoinbaseAdapter(s, c)),
    ...restUrlKey('https://api.exchange.coinbase.com'),
    symbolList: coinbaseSymbolList,
  },
  kraken: { ...plain(krakenCapabilities, (s, c) => new KrakenAdapter(s, c)), ...restUrlKey('https://api.kraken.com'), symbolList: krakenSymbolList },
  okx: { ...plain(okxCapabilities, (s, c) => new OkxAdapter(s, c)), ...restUrlKey('https://www.okx.com'), symbolList: okxSymbolList },
  bybit: {
    ...plain(bybitCapabilities, (s, ch, c) => new BybitAdapter(s, ch, { category: BybitAdapter.categoryOf(c.url) })),
    ...restUrlKey('https://api.bybit.com'),
    symbolList: bybitSymbolList,
  },
  alpaca: {
    version: '1',
    assetTypes: ['stocks', 'crypto'],
    extraKeys: ['key', 'secret', 'assetClass', 'feed', 'restUrl'],
    // The trading API's asset list (paper accounts: restUrl: https://paper-api.alpaca.markets).
    defaultRestUrl: 'https://api.alpaca.markets',
    symbolList: alpacaSymbolList,
    checkConfig: (c, e, path) => {
      const assetClass = c.oneOf(e.assetClass, keyPath(path, 'assetClass'), ['stocks', 'crypto'] as const, 'stocks');
      return {
        key: c.credential(e.key, keyPath(path, 'key'), true, 'the API key id, e.g. key: ${ALPACA_API_KEY}'),
        secret: c.credential(e.secret, keyPath(path, 'secret'), true, 'the API secret, e.g. secret: ${ALPACA_SECRET_KEY}'),
        assetClass,
        feed: c.optionalOneOf(e.feed, keyPath(path, 'feed'), assetClass === 'stocks' ? ['iex', 'sip', 'test'] : ['us']),
        restUrl: restUrlSetting(c, e, path),
      };
    },
    capabilities: alpacaCapabilities('stocks'),
    capabilitiesFor: (c) => alpacaCapabilities(c.assetClass, c.feed as AlpacaFeed | undefined),
    maxConnections: 1, // a second session is refused (406)
    session: (c) => (c.assetClass === 'stocks' ? usEquitySession : undefined),
    defaultUrl: (c) => alpacaCapabilities(c.assetClass, c.feed as AlpacaFeed | undefined).defaultUrl,
    create: (s, ch, c) =>
      new AlpacaAdapter(s, ch, { credentials: { key: c.key ?? '', secret: c.secret ?? '' }, assetClass: c.assetClass, feed: c.feed as AlpacaFeed | undefined }),
  },
  bitstamp: {
    ...plain(bitstampCapabilities, (s, c) => new BitstampAdapter(s, c)),
    ...restUrlKey('https://www.bitstamp.net'),
    symbolList: bitstampSymbolList,
  },
  simulated: {
    version: '1',
    assetTypes: ['crypto'],
    extraKeys: ['rate', 'seed'],
    checkConfig: (c, e, path, base) => ({
      rate: c.number(e.rate, keyPath(path, 'rate'), base.rate, (n) => n > 0 && n <= MAX_SIMULATED_RATE,
        `a number of trades per second > 0 and <= ${MAX_SIMULATED_RATE}`),
      seed: c.number(e.seed, keyPath(path, 'seed'), base.seed, Number.isSafeInteger, 'an integer'),
    }),
    capabilities: simulatedCapabilities,
    defaultUrl: () => '',
    // The local server lists its market (src/sim/); its REST URL is known once it listens.
    symbolList: binanceSymbolList,
    create: (s, c) => new BinanceAdapter(s, c, simulatedCapabilities),
  },
};

/** Adapter plugins loaded in this thread, by exchange name (src/plugins/load.ts registers them). */
const PLUGINS = new Map<string, AdapterEntry>();

/** The built-in adapter entry for `exchange`, or undefined when tickwire ships none. */
export function builtInAdapterFor(exchange: string): AdapterEntry | undefined {
  return Object.hasOwn(ADAPTERS, exchange) ? ADAPTERS[exchange] : undefined;
}

/** The adapter entry for `exchange` (built in, or a plugin loaded in this thread), or undefined when there is none. */
export function adapterFor(exchange: string): AdapterEntry | undefined {
  return builtInAdapterFor(exchange) ?? PLUGINS.get(exchange);
}

/** Names of the built-in adapters. */
export function adapterNames(): string[] {
  return Object.keys(ADAPTERS);
}

/** Names of every adapter usable in this thread: the built-in ones, then the plugins loaded. */
export function knownAdapterNames(): string[] {
  return [...Object.keys(ADAPTERS), ...PLUGINS.keys()];
}

/**
 * Make a plugin's entry the adapter of exchange `name` in this thread
 * (src/plugins/load.ts checks the name is free first); replaces the entry of
 * a plugin reloaded by `--watch`.
 */
export function registerPluginAdapter(name: string, entry: AdapterEntry): void {
  PLUGINS.set(name, entry);
}

/**
 * The REST base URL for one configured exchange: the config's `restUrl`, else
 * the venue's public API, but only with the venue's public WebSocket: a custom
 * `url` (testnet, proxy, local fake) without a `restUrl` means no REST rather
 * than mixing two environments.
 */
export function restUrlOf(entry: AdapterEntry, config: ExchangeConfig): string | undefined {
  return config.restUrl ?? (config.url === undefined ? entry.defaultRestUrl : undefined);
}

/** The capabilities that apply to one configured exchange. */
export function capabilitiesOf(entry: AdapterEntry, config: ExchangeConfig): AdapterCapabilities {
  return entry.capabilitiesFor?.(config) ?? entry.capabilities;
}

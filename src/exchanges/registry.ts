/**
 * The adapters tickwire knows, by exchange name, with what the config is
 * checked against before anything connects: the channels a venue offers,
 * whether it needs credentials, and the config keys only it accepts.
 *
 * A new venue is one file in src/exchanges/ plus one entry here.
 */
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

export interface AdapterEntry {
  /** Adapter version: bumped when its normalization changes. */
  version: string;
  assetTypes: readonly ('crypto' | 'stocks')[];
  /** Config keys this venue accepts beyond url, symbols and channels. */
  extraKeys: readonly string[];
  /** Config keys that must be set (credentials), if any. */
  requiredKeys: readonly string[];
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
  /** The venue serves Binance-format klines at `<restUrl>/api/v3/klines`: start-up backfill uses them (src/backfill/). */
  klines?: boolean;
  /** When the configured market trades (stocks); none: around the clock. */
  session?(config: ExchangeConfig): SessionFilter | undefined;
  create(symbols: readonly string[], channels: readonly FeedChannel[], config: ExchangeConfig): ExchangeAdapter;
}

/** The simulated exchange speaks the Binance protocol from a local server (src/sim/). */
const simulatedCapabilities: AdapterCapabilities = {
  ...binanceCapabilities,
  name: 'simulated',
  defaultUrl: '', // the local server's URL, known once it listens
};

/** An entry for a crypto venue with no options of its own. */
function plain(capabilities: AdapterCapabilities, create: AdapterEntry['create']): AdapterEntry {
  return { version: '1', assetTypes: ['crypto'], extraKeys: [], requiredKeys: [], capabilities, defaultUrl: () => capabilities.defaultUrl, create };
}

const ADAPTERS: Readonly<Record<string, AdapterEntry>> = {
  binance: {
    ...plain(binanceCapabilities, (s, c) => new BinanceAdapter(s, c)),
    extraKeys: ['restUrl'],
    defaultRestUrl: 'https://api.binance.com',
    klines: true,
  },
  'binance-usdm': plain(binanceUsdmCapabilities, (s, c) => new BinanceUsdmAdapter(s, c)),
  coinbase: { ...plain(coinbaseCapabilities, (s, c) => new CoinbaseAdapter(s, c)), extraKeys: ['restUrl'], defaultRestUrl: 'https://api.exchange.coinbase.com' },
  kraken: { ...plain(krakenCapabilities, (s, c) => new KrakenAdapter(s, c)), extraKeys: ['restUrl'], defaultRestUrl: 'https://api.kraken.com' },
  okx: { ...plain(okxCapabilities, (s, c) => new OkxAdapter(s, c)), extraKeys: ['restUrl'], defaultRestUrl: 'https://www.okx.com' },
  bybit: {
    ...plain(bybitCapabilities, (s, ch, c) => new BybitAdapter(s, ch, { category: BybitAdapter.categoryOf(c.url) })),
    extraKeys: ['restUrl'],
    defaultRestUrl: 'https://api.bybit.com',
  },
  alpaca: {
    version: '1',
    assetTypes: ['stocks', 'crypto'],
    extraKeys: ['key', 'secret', 'assetClass', 'feed'],
    requiredKeys: ['key', 'secret'],
    capabilities: alpacaCapabilities('stocks'),
    capabilitiesFor: (c) => alpacaCapabilities(c.assetClass, c.feed as AlpacaFeed | undefined),
    maxConnections: 1, // a second session is refused (406)
    session: (c) => (c.assetClass === 'stocks' ? usEquitySession : undefined),
    defaultUrl: (c) => alpacaCapabilities(c.assetClass, c.feed as AlpacaFeed | undefined).defaultUrl,
    create: (s, ch, c) =>
      new AlpacaAdapter(s, ch, { credentials: { key: c.key ?? '', secret: c.secret ?? '' }, assetClass: c.assetClass, feed: c.feed as AlpacaFeed | undefined }),
  },
  bitstamp: { ...plain(bitstampCapabilities, (s, c) => new BitstampAdapter(s, c)), extraKeys: ['restUrl'], defaultRestUrl: 'https://www.bitstamp.net' },
  simulated: {
    version: '1',
    assetTypes: ['crypto'],
    extraKeys: ['rate', 'seed'],
    requiredKeys: [],
    capabilities: simulatedCapabilities,
    defaultUrl: () => '',
    create: (s, c) => new BinanceAdapter(s, c, simulatedCapabilities),
  },
};

/** The adapter entry for `exchange`, or undefined when tickwire has none. */
export function adapterFor(exchange: string): AdapterEntry | undefined {
  return Object.hasOwn(ADAPTERS, exchange) ? ADAPTERS[exchange] : undefined;
}

/** Names of every registered adapter. */
export function adapterNames(): string[] {
  return Object.keys(ADAPTERS);
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

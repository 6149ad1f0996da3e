/**
 * The adapters tickwire knows, by exchange name, with what the config is
 * checked against before anything connects: the channels a venue offers,
 * whether it needs credentials, and the config keys only it accepts.
 *
 * A new venue is one file in src/exchanges/ plus one entry here.
 */
import type { ExchangeConfig, FeedChannel } from '../config/types.ts';
import type { AdapterCapabilities, ExchangeAdapter } from './adapter.ts';
import { BinanceAdapter, binanceCapabilities } from './binance.ts';

export interface AdapterEntry {
  /** Adapter version: bumped when its normalization changes. */
  version: string;
  assetTypes: readonly ('crypto' | 'stocks')[];
  /** Config keys this venue accepts beyond url, symbols and channels. */
  extraKeys: readonly string[];
  /** Config keys that must be set (credentials), if any. */
  requiredKeys: readonly string[];
  capabilities: AdapterCapabilities;
  /** The URL to use when the config gives none. */
  defaultUrl(config: ExchangeConfig): string;
  create(symbols: readonly string[], channels: readonly FeedChannel[], config: ExchangeConfig): ExchangeAdapter;
}

/** The simulated exchange speaks the Binance protocol from a local server (src/sim/). */
const simulatedCapabilities: AdapterCapabilities = {
  ...binanceCapabilities,
  name: 'simulated',
  defaultUrl: '', // the local server's URL, known once it listens
};

const ADAPTERS: Readonly<Record<string, AdapterEntry>> = {
  binance: {
    version: '1',
    assetTypes: ['crypto'],
    extraKeys: [],
    requiredKeys: [],
    capabilities: binanceCapabilities,
    defaultUrl: () => binanceCapabilities.defaultUrl,
    create: (s, c) => new BinanceAdapter(s, c),
  },
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

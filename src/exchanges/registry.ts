/**
 * The adapters tickwire knows, by exchange name. A new venue is one file in
 * src/exchanges/ plus one line here.
 */
import type { FeedChannel } from '../config/types.ts';
import type { AdapterCapabilities, ExchangeAdapter } from './adapter.ts';
import { BinanceAdapter, binanceCapabilities } from './binance.ts';

export interface AdapterEntry {
  capabilities: AdapterCapabilities;
  create(symbols: readonly string[], channels: readonly FeedChannel[]): ExchangeAdapter;
}

/** The simulated exchange speaks the Binance protocol from a local server (src/sim/). */
const simulatedCapabilities: AdapterCapabilities = {
  ...binanceCapabilities,
  name: 'simulated',
  defaultUrl: '', // the local server's URL, known once it listens
};

const ADAPTERS: Readonly<Record<string, AdapterEntry>> = {
  binance: { capabilities: binanceCapabilities, create: (s, c) => new BinanceAdapter(s, c) },
  simulated: { capabilities: simulatedCapabilities, create: (s, c) => new BinanceAdapter(s, c, simulatedCapabilities) },
};

/** The adapter entry for `exchange`, or undefined when tickwire has none. */
export function adapterFor(exchange: string): AdapterEntry | undefined {
  return Object.hasOwn(ADAPTERS, exchange) ? ADAPTERS[exchange] : undefined;
}

/** Names of every registered adapter. */
export function adapterNames(): string[] {
  return Object.keys(ADAPTERS);
}

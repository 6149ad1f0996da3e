/**
 * The configuration, as validated (every default filled in). The YAML form is
 * the external contract of ARCHITECTURE.md ("Config (YAML)"); `loadConfig`
 * (load.ts) turns a file or an object into this.
 */
import type { TimeframeName } from '../model/timeframes.ts';

/** Channels an exchange feed can carry. */
export type FeedChannel = 'trades' | 'quotes';

export interface ServerConfig {
  host: string;
  port: number;
}

export interface BarsConfig {
  graceMs: number;
  fillEmpty: boolean;
  lateToleranceMs: number;
}

/** One configured exchange (the key in `exchanges` is its name: `binance`, `simulated`). */
export interface ExchangeConfig {
  /** WebSocket base URL override (testnet, proxy, local fake); undefined = the venue's default. */
  url: string | undefined;
  /** Exchange-native symbols, as given. */
  symbols: string[];
  channels: FeedChannel[];
  /** `simulated` only: mean trades per second per symbol. */
  rate: number;
  /** `simulated` only: PRNG seed, so a run can be reproduced. */
  seed: number;
  /** REST base URL for gap recovery (venues that have one; default: the venue's public API). */
  restUrl: string | undefined;
  /** `alpaca` only: API key id and secret (set them from the environment: `key: ${ALPACA_API_KEY}`). */
  key: string | undefined;
  secret: string | undefined;
  /** `alpaca` only: which market (default stocks). */
  assetClass: 'stocks' | 'crypto';
  /** `alpaca` only: data feed (stocks: iex, sip or test; crypto: us); default iex / us. */
  feed: string | undefined;
}

export interface TickwireConfig {
  server: ServerConfig;
  /** Canonical names, shortest first, no duplicates (MetaTrader aliases resolved). */
  timeframes: TimeframeName[];
  /** Closed bars kept per series, per timeframe (a single number in YAML applies to all). */
  history: Record<TimeframeName, number>;
  bars: BarsConfig;
  exchanges: Record<string, ExchangeConfig>;
}

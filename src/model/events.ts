/**
 * The library's event payloads: what `Tickwire.on()` hands over for trades,
 * quotes and bars, and what the server's stream and the wire encoders read.
 * Plain objects (the readable form); the hot path inside the library moves
 * the same values as float64 records (records.ts).
 */
import type { Bar } from './records.ts';
import type { TimeframeName } from './timeframes.ts';

/** Aggressor side as the contract spells it. */
export type SideName = 'buy' | 'sell' | 'unknown';

export interface TradeEvent {
  exchange: string;
  /** Exchange-native symbol. */
  symbol: string;
  /** Exchange trade id, null when the venue has none. */
  tradeId: number | null;
  price: number;
  size: number;
  side: SideName;
  /** Exchange trade time, ms. */
  ts: number;
  /** Local receive time, ms with µs fraction. */
  recvTs: number;
}

export interface QuoteEvent {
  exchange: string;
  symbol: string;
  bidPrice: number;
  bidSize: number;
  askPrice: number;
  askSize: number;
  ts: number;
  recvTs: number;
}

export interface BarUpdate {
  exchange: string;
  symbol: string;
  timeframe: TimeframeName;
  bar: Bar;
}

/** What a live change did (admin routes, reload, SIGHUP); the `system` room publishes each. */
export type ConfigChangeAction = 'symbol_added' | 'symbol_removed' | 'exchange_added' | 'exchange_removed';

/** One applied live change. */
export interface ConfigChange {
  action: ConfigChangeAction;
  exchange: string;
  /** The symbol added or removed; null for an exchange's change. */
  symbol: string | null;
  /** Closed bars loaded from storage for what was added (0 otherwise). */
  restoredBars: number;
  /** When it was applied, ms. */
  ts: number;
}

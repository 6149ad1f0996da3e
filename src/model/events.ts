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
  /** The channel's seq when it was assigned upstream (a cluster edge serves the feed's); absent: the stream assigns it. */
  seq?: number;
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
  /** As TradeEvent.seq. */
  seq?: number;
}

export interface BarUpdate {
  exchange: string;
  symbol: string;
  timeframe: TimeframeName;
  bar: Bar;
  /** As TradeEvent.seq. */
  seq?: number;
}

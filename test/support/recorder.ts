/** A FeedHandler that records everything an adapter hands it, for assertions. */
import { callbackHandler, type FeedHandler } from '../../src/exchanges/adapter.ts';

export interface RecordedTrade {
  symbol: number;
  ts: number;
  price: number;
  size: number;
  side: number;
  id: number;
}

export interface RecordedQuote {
  symbol: number;
  ts: number;
  bid: number;
  bidSize: number;
  ask: number;
  askSize: number;
}

/** A handler with the trades and quotes it received, in order. */
export function recorder(): FeedHandler & { trades: RecordedTrade[]; quotes: RecordedQuote[] } {
  const trades: RecordedTrade[] = [];
  const quotes: RecordedQuote[] = [];
  return {
    trades,
    quotes,
    ...callbackHandler({
      trade: (symbol, ts, price, size, side, id) => void trades.push({ symbol, ts, price, size, side, id }),
      quote: (symbol, ts, bid, bidSize, ask, askSize) => void quotes.push({ symbol, ts, bid, bidSize, ask, askSize }),
    }),
  };
}

/**
 * The normalized records and their float64 layouts.
 *
 * Objects (`Trade`, `Quote`, `Bar`) are the readable form for the library API
 * and tests; the hot path moves the same values as fixed-size float64 records
 * in typed arrays, at the offsets named here.
 */

/** Aggressor (taker) side: +1 buy, -1 sell, 0 unknown. */
export const Side = { BUY: 1, SELL: -1, UNKNOWN: 0 } as const;
export type Side = (typeof Side)[keyof typeof Side];

/** One trade as the exchange printed it. */
export interface Trade {
  seriesId: number;
  /** Exchange trade time, ms since the epoch (exchange clock). */
  exchangeTs: number;
  /** Local receive time, µs since the epoch. */
  recvTs: number;
  price: number;
  size: number;
  side: Side;
  /** Exchange trade id; NaN when the venue has none (then no de-duplication). */
  tradeId: number;
  seq: number;
}

/** Best bid and offer. */
export interface Quote {
  seriesId: number;
  exchangeTs: number;
  recvTs: number;
  bidPrice: number;
  bidSize: number;
  askPrice: number;
  askSize: number;
  seq: number;
}

/** One OHLCV bar; `openTime` is its key. Absent values (no trade, no quote) are null. */
export interface Bar {
  /** Bucket start, ms UTC, aligned to the timeframe. */
  openTime: number;
  /** Last millisecond inside the bucket (`openTime + tf - 1`, as exchange klines). */
  closeTime: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  quoteVolume: number;
  /** Volume where the buyer was the aggressor. */
  buyVolume: number;
  /** Volume where the seller was the aggressor. */
  sellVolume: number;
  trades: number;
  firstTradeId: number | null;
  lastTradeId: number | null;
  /** quoteVolume / volume; null when the bar has no volume. */
  vwap: number | null;
  /** Mean quoted spread (ask − bid) over the quotes seen in the bar; null without quotes. */
  spread: number | null;
  closed: boolean;
  /** 0 when first published; +1 for every amendment after close. */
  revision: number;
  /** Present (true) when trades may be missing: the feed was down during the bar and the gap could not be filled. */
  gapped?: true;
  /** Present when the bar did not come from live trades: `backfill` = fetched from the venue's klines REST endpoint. */
  source?: 'backfill';
}

/**
 * Where an adapter leaves a trade's numbers in `FeedHandler.fields` before
 * calling `trade` (src/exchanges/adapter.ts), and what
 * `BarAggregator.takeTrade` reads: exchange time (ms), price, size, trade id
 * (NaN when none).
 */
export const TradeField = { TS: 0, PRICE: 1, SIZE: 2, ID: 3 } as const;
/** The same for a quote: exchange time (ms; NaN when the venue sends none: the feed stamps it), best bid and ask. */
export const QuoteField = { TS: 0, BID: 1, BID_SIZE: 2, ASK: 3, ASK_SIZE: 4 } as const;
/** Length of `FeedHandler.fields`. */
export const FEED_FIELDS = 5;

/** Float64 offsets of a bar record (`BAR_FIELDS` values). NaN encodes null. */
export const BarField = {
  OPEN_TIME: 0,
  CLOSE_TIME: 1,
  OPEN: 2,
  HIGH: 3,
  LOW: 4,
  CLOSE: 5,
  VOLUME: 6,
  QUOTE_VOLUME: 7,
  BUY_VOLUME: 8,
  SELL_VOLUME: 9,
  TRADES: 10,
  FIRST_TRADE_ID: 11,
  LAST_TRADE_ID: 12,
  VWAP: 13,
  SPREAD: 14,
  CLOSED: 15,
  REVISION: 16,
  /** 1 when trades may be missing (an outage that could not be filled), else 0. */
  GAPPED: 17,
  /** `BarSource` of the bar: 0 live trades, 1 backfilled from the venue's klines. */
  SOURCE: 18,
} as const;
export const BAR_FIELDS = 19;

/** Where a bar's values came from (`BarField.SOURCE`). */
export const BarSource = { LIVE: 0, BACKFILL: 1 } as const;

/** Float64 offsets of a tick record in a `TickRing` (`TICK_FIELDS` values). */
export const TickField = {
  /** `TickKind` of the record. */
  KIND: 0,
  SERIES: 1,
  EXCHANGE_TS: 2,
  RECV_TS: 3,
  /** Trade: price. Quote: bid price. */
  PRICE: 4,
  /** Trade: size. Quote: bid size. */
  SIZE: 5,
  /** Trade: side. Quote: ask price. */
  SIDE: 6,
  /** Trade: trade id. Quote: ask size. */
  TRADE_ID: 7,
  SEQ: 8,
  ASK_PRICE: 6,
  ASK_SIZE: 7,
} as const;
export const TICK_FIELDS = 9;

/** What a tick record holds. */
export const TickKind = { TRADE: 1, QUOTE: 2 } as const;
export type TickKind = (typeof TickKind)[keyof typeof TickKind];

function nullable(v: number): number | null {
  return Number.isNaN(v) ? null : v;
}

/** Read the bar record at `offset` into a plain object (not for the hot path). */
export function readBar(buf: Float64Array, offset: number): Bar {
  return {
    openTime: buf[offset + BarField.OPEN_TIME]!,
    closeTime: buf[offset + BarField.CLOSE_TIME]!,
    open: buf[offset + BarField.OPEN]!,
    high: buf[offset + BarField.HIGH]!,
    low: buf[offset + BarField.LOW]!,
    close: buf[offset + BarField.CLOSE]!,
    volume: buf[offset + BarField.VOLUME]!,
    quoteVolume: buf[offset + BarField.QUOTE_VOLUME]!,
    buyVolume: buf[offset + BarField.BUY_VOLUME]!,
    sellVolume: buf[offset + BarField.SELL_VOLUME]!,
    trades: buf[offset + BarField.TRADES]!,
    firstTradeId: nullable(buf[offset + BarField.FIRST_TRADE_ID]!),
    lastTradeId: nullable(buf[offset + BarField.LAST_TRADE_ID]!),
    vwap: nullable(buf[offset + BarField.VWAP]!),
    spread: nullable(buf[offset + BarField.SPREAD]!),
    closed: buf[offset + BarField.CLOSED] === 1,
    revision: buf[offset + BarField.REVISION]!,
    ...(buf[offset + BarField.GAPPED] === 1 ? { gapped: true as const } : {}),
    ...(buf[offset + BarField.SOURCE] === BarSource.BACKFILL ? { source: 'backfill' as const } : {}),
  };
}

/** Write a plain bar into a bar record at `offset` (null becomes NaN). */
export function writeBar(bar: Bar, buf: Float64Array, offset: number): void {
  buf[offset + BarField.OPEN_TIME] = bar.openTime;
  buf[offset + BarField.CLOSE_TIME] = bar.closeTime;
  buf[offset + BarField.OPEN] = bar.open;
  buf[offset + BarField.HIGH] = bar.high;
  buf[offset + BarField.LOW] = bar.low;
  buf[offset + BarField.CLOSE] = bar.close;
  buf[offset + BarField.VOLUME] = bar.volume;
  buf[offset + BarField.QUOTE_VOLUME] = bar.quoteVolume;
  buf[offset + BarField.BUY_VOLUME] = bar.buyVolume;
  buf[offset + BarField.SELL_VOLUME] = bar.sellVolume;
  buf[offset + BarField.TRADES] = bar.trades;
  buf[offset + BarField.FIRST_TRADE_ID] = bar.firstTradeId ?? NaN;
  buf[offset + BarField.LAST_TRADE_ID] = bar.lastTradeId ?? NaN;
  buf[offset + BarField.VWAP] = bar.vwap ?? NaN;
  buf[offset + BarField.SPREAD] = bar.spread ?? NaN;
  buf[offset + BarField.CLOSED] = bar.closed ? 1 : 0;
  buf[offset + BarField.REVISION] = bar.revision;
  buf[offset + BarField.GAPPED] = bar.gapped === true ? 1 : 0;
  buf[offset + BarField.SOURCE] = bar.source === 'backfill' ? BarSource.BACKFILL : BarSource.LIVE;
}

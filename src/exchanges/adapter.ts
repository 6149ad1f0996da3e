/**
 * What an exchange adapter is: a plain object with the venue's capabilities,
 * how to connect and subscribe, and a pure `parse(frame)` — the hot path —
 * that turns one WebSocket frame into normalized trades and quotes handed to
 * a `FeedHandler`. Connection handling (backoff, heartbeat, staleness, pacing)
 * lives once in src/feed/connection.ts, shared by every adapter.
 */
import type { TradeIdOrder } from '../bars/recent-ids.ts';
import type { FeedChannel } from '../config/types.ts';
import { FEED_FIELDS, QuoteField, TradeField } from '../model/records.ts';

export { FEED_FIELDS, QuoteField, TradeField };

/**
 * Receives what `parse` found. Symbols are indices into the adapter's symbol
 * list. The numbers travel in typed memory, not as arguments: the adapter
 * writes them into `fields` (laid out as TradeField / QuoteField), then calls
 * `trade` or `quote`. Why: V8 does not inline that call, and each double
 * argument of a call it does not inline is boxed on the heap (the last ~64
 * bytes per trade the ingest worker allocated, docs/benchmarks.md). Adapters
 * off the hot path call `handTrade` / `handQuote`, which do the writing.
 */
export interface FeedHandler {
  /** FEED_FIELDS numbers of the trade or quote being handed over; valid only until `trade` / `quote` returns. */
  readonly fields: Float64Array;
  /** A trade whose numbers are in `fields` (TradeField); `side`: +1 aggressor buy, -1 aggressor sell, 0 unknown. */
  trade(symbol: number, side: number): void;
  /** A best bid/offer whose numbers are in `fields` (QuoteField). */
  quote(symbol: number): void;
}

/** Hand one trade to `handler` (`tradeId` NaN when none): the readable way for adapters whose frames are not on a fast path. */
export function handTrade(handler: FeedHandler, symbol: number, ts: number, price: number, size: number, side: number, tradeId: number): void {
  const f = handler.fields;
  f[TradeField.TS] = ts;
  f[TradeField.PRICE] = price;
  f[TradeField.SIZE] = size;
  f[TradeField.ID] = tradeId;
  handler.trade(symbol, side);
}

/** Hand one best bid/offer to `handler` (`ts` NaN when the venue sends no quote time). */
export function handQuote(handler: FeedHandler, symbol: number, ts: number, bidPrice: number, bidSize: number, askPrice: number, askSize: number): void {
  const f = handler.fields;
  f[QuoteField.TS] = ts;
  f[QuoteField.BID] = bidPrice;
  f[QuoteField.BID_SIZE] = bidSize;
  f[QuoteField.ASK] = askPrice;
  f[QuoteField.ASK_SIZE] = askSize;
  handler.quote(symbol);
}

/**
 * Trades and quotes as plain calls with their numbers as arguments: what an
 * adapter plugin's `parse` is handed (contract 1, docs/plugins.md), and a
 * convenient shape for tests and tools off the hot path.
 */
export interface FeedCallbacks {
  /** `side`: +1 aggressor buy, -1 aggressor sell, 0 unknown; `tradeId` NaN when none. */
  trade(symbol: number, ts: number, price: number, size: number, side: number, tradeId: number): void;
  /** `ts` NaN when the venue sends no quote time (the feed stamps it). */
  quote(symbol: number, ts: number, bidPrice: number, bidSize: number, askPrice: number, askSize: number): void;
}

/** A FeedHandler that reads each trade's and quote's fields and calls `callbacks` with them. */
export function callbackHandler(callbacks: FeedCallbacks): FeedHandler {
  const f = new Float64Array(FEED_FIELDS);
  return {
    fields: f,
    trade: (symbol, side) => callbacks.trade(symbol, f[TradeField.TS]!, f[TradeField.PRICE]!, f[TradeField.SIZE]!, side, f[TradeField.ID]!),
    quote: (symbol) => callbacks.quote(symbol, f[QuoteField.TS]!, f[QuoteField.BID]!, f[QuoteField.BID_SIZE]!, f[QuoteField.ASK]!, f[QuoteField.ASK_SIZE]!),
  };
}

/** What one frame was. */
export const FrameKind = {
  /** Market data (zero or more trades/quotes were handed to the handler). */
  DATA: 0,
  /** An acknowledgement of request `ackId`. */
  ACK: 1,
  /** The venue reported an error (`error`, and `ackId` when it names a request). */
  ERROR: 2,
  /** The venue announced it will close the connection: reconnect now. */
  SHUTDOWN: 3,
  /** Valid but of no interest (other streams, heartbeats). */
  IGNORED: 4,
  /** Not a frame this venue sends: counted as a parse error, never fatal. */
  MALFORMED: 5,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/** Static facts about a venue, checked against the config before anything connects. */
export interface AdapterCapabilities {
  name: string;
  defaultUrl: string;
  channels: readonly FeedChannel[];
  tradeIdOrder: TradeIdOrder;
  /** Streams one connection may carry. */
  maxStreamsPerConnection: number;
  /** Client messages per second the venue tolerates on one connection. */
  maxMessagesPerSecond: number;
  /** Longest a connection is allowed to live, ms (the venue disconnects after). */
  maxConnectionAgeMs: number;
}

/** A message the connection sends after connecting. */
export interface ClientRequest {
  /** The id the venue's ACK or ERROR will carry (the adapter maps venue ids to it). */
  id: number;
  text: string;
  /** Wait for this request's ACK before sending the next (authentication). */
  awaitAck?: boolean;
}

/** A keepalive the client must send (venues whose servers do not ping). */
export interface ClientHeartbeat {
  intervalMs: number;
  text: string;
}

/** A trade fetched over REST to fill a gap (same units as `FeedHandler.trade`). */
export interface RecoveredTrade {
  ts: number;
  price: number;
  size: number;
  side: number;
  id: number;
}

/** One venue's protocol, bound to a list of symbols. */
export interface ExchangeAdapter {
  readonly capabilities: AdapterCapabilities;
  /** The URL to open for `baseUrl` (the config's `url` or the default). */
  connectUrl(baseUrl: string): string;
  /** Requests to send once connected, in order (authentication first where needed). */
  subscribeRequests(nextId: () => number): ClientRequest[];
  /** The client keepalive, when the venue needs one. */
  readonly heartbeat?: ClientHeartbeat;
  /**
   * Gap recovery, where the venue's public REST API serves recent trades: up
   * to one page of `symbol`'s trades after the last one seen (id `fromId` − 1
   * at exchange time `fromTs`), oldest first. Venues paging by id use
   * `fromId`; venues paging by time use `fromTs` (and drop trades with ids
   * already seen where ids are ordered). Throw when the venue cannot cover
   * the gap (e.g. only a short window of recent trades): the bars are then
   * marked gapped.
   */
  tradesFrom?(restUrl: string, symbol: string, fromId: number, fromTs: number): Promise<RecoveredTrade[]>;
  /** Most trades one `tradesFrom` page holds (a shorter page means the venue has no more). */
  readonly restPageSize?: number;
  /**
   * Live changes (optional): parse `symbols` too, numbered after the symbols
   * this adapter already has, and return the requests that subscribe them on
   * the open connection (later `subscribeRequests` include them). Venues
   * without it get a new connection for an added symbol.
   */
  addSymbols?(symbols: readonly string[], nextId: () => number): ClientRequest[];
  /**
   * Live changes (optional): stop subscribing `symbols` and return the
   * requests that unsubscribe them on the open connection. Frames of theirs
   * still in flight are dropped by the feed.
   */
  removeSymbols?(symbols: readonly string[], nextId: () => number): ClientRequest[];
  /** Parse one frame; never throws. ACK/ERROR details are left in `ackId` / `error`. */
  parse(frame: string, handler: FeedHandler): FrameKind;
  /** Request id of the last ACK or ERROR frame (NaN when it named none). */
  readonly ackId: number;
  /** Message of the last ERROR or MALFORMED frame. */
  readonly error: string;
}

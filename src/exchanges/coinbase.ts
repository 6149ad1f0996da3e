/**
 * Coinbase Exchange market-data feed ("ws-feed", formerly Coinbase Pro).
 * Docs: https://docs.cdp.coinbase.com/exchange/websocket-feed
 * Protocol notes and recorded frames: ../shared/fixtures/coinbase/protocol.md
 * (section A; (D1)–(D3) are the official pages, (R1) the 2021 recording).
 *
 * - One subscribe message in the documented object form, each channel naming
 *   its products (D2): `matches` for trades, `ticker` for quotes, and
 *   `heartbeat` for the first product only. The heartbeat channel sends one
 *   frame a second (D2); one product is enough to prove the connection alive
 *   when the subscribed products are quiet, so the staleness check in
 *   FeedConnection does not replace a healthy connection. No client keepalive
 *   exists or is needed (D1: plain WebSocket ping/pong).
 * - The subscribe must arrive within 5 s of connecting (D1): FeedConnection
 *   sends the first request as soon as the socket opens.
 * - Ack: Coinbase answers each subscribe with one `subscriptions` frame
 *   listing all current subscriptions, and carries no request id (R1: three
 *   requests, three acks, in order). A failed subscribe gets one
 *   `{"type":"error","message":"Failed to subscribe","reason":..}` instead.
 *   So each `subscriptions` or `error` reply is matched to the oldest request
 *   still waiting, in order (`pending` below, reset on every connection).
 * - Trades: `match`, and one `last_match` per product right after the
 *   subscribe (R1), a real past trade, possibly minutes old. Taken: after a
 *   reconnect it is either the last trade before the gap (kept) or a trade
 *   already seen (the aggregator drops it by trade id: `trade_id` is an
 *   integer increasing per product, so tradeIdOrder is 'increasing').
 * - `side` in `match`/`last_match` is the MAKER order's side (D2; verified in
 *   R1, where the `ticker` of the same trade_id carries the taker side): the
 *   aggressor is the opposite, so maker `sell` → +1 (buy), maker `buy` → -1.
 * - Quotes: `ticker` carries `best_bid`/`best_ask` (and, since ~2022,
 *   `best_bid_size`/`best_ask_size`; absent sizes are handed on as NaN). It
 *   is emitted on trades only, so it is not a full BBO stream.
 * - `time` is RFC 3339 UTC with µs (`2021-04-17T16:43:37.089723Z`); read
 *   here to epoch ms, the fraction truncated to ms (what Date.parse gives for
 *   up to 6 digits; see `parseRfc3339Ms` in ./decode.ts for why Date.parse
 *   itself is not used).
 *   Prices and sizes are decimal strings.
 *
 * Capabilities (sources in brackets):
 * - maxMessagesPerSecond 8: "Requests per second per IP: 8" (D3; bursts up to
 *   20, 100 client messages/s per IP). Per IP, not per connection, so the
 *   lower figure; only one request per connection is sent anyway.
 * - maxStreamsPerConnection 100: UNVERIFIED — Coinbase publishes no
 *   per-connection limit (D3 limits subscriptions per product per channel to
 *   10 per account, which a make-before-break handover's doubling stays
 *   under). 100 keeps one subscribe message small; the heartbeat stream for
 *   one product comes on top.
 * - maxConnectionAgeMs 24 h: UNVERIFIED — no maximum age is published; the
 *   connection is rotated daily (make-before-break, de-duplicated) as a
 *   conservative default.
 *
 * Gap recovery (`tradesFrom`) over the public REST API,
 * `GET /products/{product_id}/trades?limit=&after=` (docs.cdp.coinbase.com,
 * "Get product trades" and "Pagination"): newest trades first, `limit` at
 * most 1000, and `after=<trade_id>` pages BACKWARD (trades older than the
 * cursor). Items are `{time, trade_id, price, size, side}` where `side` is
 * the maker's, as in `match`. See `tradesFrom` for how a backward-paging API
 * answers the forward question GapRecovery asks.
 */
import type { FeedChannel } from '../config/types.ts';
import { ErrorCode, VenueRestError } from '../errors.ts';
import { FrameKind, handQuote, handTrade, type AdapterCapabilities, type ClientRequest, type ExchangeAdapter, type FeedHandler, type RecoveredTrade } from './adapter.ts';
import { Rfc3339, decimalWithExponent, isPlausibleMs, parseRfc3339Ms, venueText } from './decode.ts';
import { answerError, restGet, tradesPagedBackward } from './rest.ts';

export const coinbaseCapabilities: AdapterCapabilities = {
  name: 'coinbase',
  defaultUrl: 'wss://ws-feed.exchange.coinbase.com', // (D1)
  channels: ['trades', 'quotes'],
  tradeIdOrder: 'increasing', // integer trade_id, increasing per product (R1)
  maxStreamsPerConnection: 100, // UNVERIFIED, see above
  maxMessagesPerSecond: 8, // (D3), per IP
  maxConnectionAgeMs: 24 * 3600_000, // UNVERIFIED, see above
};

/** Trades per REST page: the API's maximum `limit` (docs, "Pagination"). */
export const REST_LIMIT = 1000;

/**
 * Most REST pages fetched for one gap (20 000 trades, minutes of the busiest
 * product): a longer gap throws and its bars are marked gapped. Pages are
 * fetched one after the other; Coinbase allows ~10 public requests a second
 * per IP, so one gap at this bound may run into it (a 429, which throws).
 */
export const REST_MAX_PAGES = 20;

/** Headers of every REST request: JSON asked for, and a user agent named. */
const REST_HEADERS = { accept: 'application/json', 'user-agent': 'tickwire' };

/** A Coinbase Exchange adapter for `symbols` (product ids such as `BTC-USD`, any case). */
export class CoinbaseAdapter implements ExchangeAdapter {
  readonly capabilities: AdapterCapabilities = coinbaseCapabilities;
  /**
   * Larger than any answer of `tradesFrom`, which returns the whole gap at
   * once (the API pages backward from the newest trade, so the method pages
   * through to `fromId` itself): GapRecovery takes an answer shorter than
   * `restPageSize` as "the venue has no more" and never asks for a second
   * page, which would start after the newest trade and only repeat the work.
   */
  readonly restPageSize = Number.MAX_SAFE_INTEGER;
  ackId = NaN;
  error = '';
  /** Native product id (upper case, as Coinbase prints `product_id`) → index into `symbols`. */
  private readonly index = new Map<string, number>();
  /** Distinct product ids, in the order given. */
  private readonly products: string[] = [];
  private readonly trades: boolean;
  private readonly quotes: boolean;
  /** Ids of the requests sent on the current connection and not yet answered, oldest first. */
  private pending: number[] = [];

  constructor(symbols: readonly string[], channels: readonly FeedChannel[]) {
    symbols.forEach((symbol, i) => {
      const name = symbol.toUpperCase();
      if (this.index.has(name)) return; // the same product twice: the first index gets it
      this.index.set(name, i);
      this.products.push(name);
    });
    this.trades = channels.includes('trades');
    this.quotes = channels.includes('quotes');
  }

  connectUrl(baseUrl: string): string {
    return baseUrl;
  }

  subscribeRequests(nextId: () => number): ClientRequest[] {
    this.pending = [];
    if (this.products.length === 0 || (!this.trades && !this.quotes)) return [];
    const channels: WireChannel[] = [];
    if (this.trades) channels.push({ name: 'matches', product_ids: this.products });
    if (this.quotes) channels.push({ name: 'ticker', product_ids: this.products });
    channels.push({ name: 'heartbeat', product_ids: [this.products[0]!] });
    const id = nextId();
    this.pending.push(id);
    const request: WireSubscribe = { type: 'subscribe', channels };
    return [{ id, text: JSON.stringify(request) }];
  }

  /**
   * One frame, validated field by field through JSON.parse. Measured choice:
   * a FrameScanner fast path like Binance's was tried for `match` frames and
   * gave no gain here (1.6 µs against 1.65 µs per frame: two UUIDs to check
   * and an ISO time to read leave little for JSON.parse to lose), so it is
   * not kept.
   */
  parse(frame: string, handler: FeedHandler): FrameKind {
    let msg: unknown;
    try {
      msg = JSON.parse(frame);
    } catch {
      return this.malformed('not JSON');
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return this.malformed('not an object');
    const m = msg as Record<string, unknown>;
    switch (m['type']) {
      case 'match':
      case 'last_match':
        return this.match(m as Partial<WireMatch>, handler);
      case 'ticker':
        return this.ticker(m as Partial<WireTicker>, handler);
      case 'heartbeat':
        return FrameKind.IGNORED;
      case 'subscriptions':
        if (!Array.isArray(m['channels'])) return this.malformed('subscriptions without a channel list');
        this.ackId = this.pending.shift() ?? NaN;
        return FrameKind.ACK;
      case 'error': {
        const e = m as Partial<WireError>;
        this.ackId = this.pending.shift() ?? NaN;
        const message = typeof e.message === 'string' ? venueText(e.message) : 'error';
        this.error = `coinbase: ${message}${typeof e.reason === 'string' && e.reason !== '' ? `: ${venueText(e.reason)}` : ''}`;
        return FrameKind.ERROR;
      }
      default:
        // Other channels (level2, full, status, ...) are valid but not ours.
        return typeof m['type'] === 'string' ? FrameKind.IGNORED : this.malformed('no type');
    }
  }

  private match(d: Partial<WireMatch>, handler: FeedHandler): FrameKind {
    const symbol = this.symbolOf(d.product_id);
    if (symbol === -1) return FrameKind.IGNORED;
    if (symbol < 0) return this.malformed('match without product_id');
    const id = d.trade_id;
    const price = decimalWithExponent(d.price);
    const size = decimalWithExponent(d.size);
    const ts = isoMs(d.time);
    // The maker's side: the aggressor took the other one.
    const side = d.side === 'sell' ? 1 : d.side === 'buy' ? -1 : 0;
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0 || !(price > 0) || !(size > 0) || !isPlausibleMs(ts) || side === 0) {
      return this.malformed('bad match fields');
    }
    handTrade(handler, symbol, ts, price, size, side, id);
    return FrameKind.DATA;
  }

  private ticker(d: Partial<WireTicker>, handler: FeedHandler): FrameKind {
    const symbol = this.symbolOf(d.product_id);
    if (symbol === -1) return FrameKind.IGNORED;
    if (symbol < 0) return this.malformed('ticker without product_id');
    const bid = decimalWithExponent(d.best_bid);
    const ask = decimalWithExponent(d.best_ask);
    // Sizes and time are optional (sizes since ~2022); present, they must be valid.
    const bidSize = d.best_bid_size === undefined ? NaN : decimalWithExponent(d.best_bid_size);
    const askSize = d.best_ask_size === undefined ? NaN : decimalWithExponent(d.best_ask_size);
    const ts = d.time === undefined ? NaN : isoMs(d.time);
    if (
      !(bid > 0) ||
      !(ask > 0) ||
      (d.best_bid_size !== undefined && !(bidSize >= 0)) ||
      (d.best_ask_size !== undefined && !(askSize >= 0)) ||
      (d.time !== undefined && !isPlausibleMs(ts))
    ) {
      return this.malformed('bad ticker fields');
    }
    handQuote(handler, symbol, ts, bid, bidSize, ask, askSize);
    return FrameKind.DATA;
  }

  /**
   * Every trade of `symbol` with trade_id ≥ `fromId`, oldest first, from the
   * public REST API. The API pages backward only (`after=<trade_id>` gives
   * the trades older than it, newest first), so this pages from the newest
   * trade (no cursor) back until a page reaches an id below `fromId`, or an
   * empty page says the product's history ends; the trades ≥ `fromId` are
   * kept. The answer therefore runs up to the newest trade, possibly beyond
   * the live ones held (the aggregator drops those by id). A gap that needs
   * more than REST_MAX_PAGES pages throws, as does any error status, an
   * answer that is not a list, a malformed item or a page that did not move
   * back past its cursor. `fromTs` is not needed: trade ids are ordered.
   */
  async tradesFrom(restUrl: string, symbol: string, fromId: number, _fromTs: number): Promise<RecoveredTrade[]> {
    if (!Number.isSafeInteger(fromId)) {
      throw new VenueRestError('coinbase', `coinbase REST: bad trade id to recover from: ${fromId}`, { code: ErrorCode.INVALID_PARAMETER });
    }
    const path = `/products/${encodeURIComponent(symbol.toUpperCase())}/trades`;
    const base = `${restUrl.replace(/\/+$/, '')}${path}?limit=${REST_LIMIT}`;
    return tradesPagedBackward(fromId, {
      venue: 'coinbase',
      endpoint: path,
      limit: REST_LIMIT,
      maxPages: REST_MAX_PAGES,
      async page(cursor) {
        const answer = await restGet('coinbase', cursor === cursor ? `${base}&after=${cursor}` : base, { headers: REST_HEADERS });
        if (!answer.ok) throw answerError(answer, `coinbase REST ${answer.status} for ${path}${restMessage(answer.text)}`);
        if (answer.body === undefined) throw answerError(answer, `coinbase REST: ${path} did not answer JSON`);
        if (!Array.isArray(answer.body)) throw answerError(answer, `coinbase REST: ${path} did not answer a list${restMessage(answer.text)}`);
        return { answer, items: answer.body };
      },
      trade: restTrade,
    });
  }

  /** Index of product `v`; -1 a product not ours, -2 not a product id at all. */
  private symbolOf(v: unknown): number {
    if (typeof v !== 'string') return -2;
    return this.index.get(v) ?? -1;
  }

  private malformed(why: string): FrameKind {
    this.error = `coinbase: ${why}`;
    return FrameKind.MALFORMED;
  }
}

/** One item of GET /products/{id}/trades as a trade; undefined when any field is off. */
function restTrade(item: unknown): RecoveredTrade | undefined {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return undefined;
  const d = item as Partial<WireRestTrade>;
  const id = d.trade_id;
  const price = decimalWithExponent(d.price);
  const size = decimalWithExponent(d.size);
  const ts = isoMs(d.time);
  // The maker's side, as in `match`: the aggressor took the other one.
  const side = d.side === 'sell' ? 1 : d.side === 'buy' ? -1 : 0;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0 || !(price > 0) || !(size > 0) || !isPlausibleMs(ts) || side === 0) return undefined;
  return { ts, price, size, side, id };
}

/** `: <message>` of a REST error body (`{"message":".."}`), or nothing. */
function restMessage(text: string): string {
  try {
    const m = (JSON.parse(text) as { message?: unknown } | null)?.message;
    return typeof m === 'string' ? `: ${m.slice(0, 200)}` : '';
  } catch {
    return '';
  }
}

/** Coinbase's `time` (RFC 3339 UTC, `Z`, up to 9 fraction digits) as epoch ms, the fraction truncated; NaN for anything else. */
function isoMs(v: unknown): number {
  return typeof v === 'string' ? parseRfc3339Ms(v, Rfc3339.UTC) : NaN;
}

// ───────────────────────────────────────────────────────────── wire types

/** One entry of a subscribe's `channels`, object form (D2). */
export interface WireChannel {
  name: 'matches' | 'ticker' | 'heartbeat';
  product_ids: string[];
}

/** Client → Coinbase. */
export interface WireSubscribe {
  type: 'subscribe';
  channels: WireChannel[];
}

/** `match` and `last_match` (matches channel). */
export interface WireMatch {
  type: 'match' | 'last_match';
  trade_id: number;
  maker_order_id: string;
  taker_order_id: string;
  /** The maker order's side. */
  side: 'buy' | 'sell';
  size: string;
  price: string;
  product_id: string;
  sequence: number;
  time: string;
}

/** `ticker`: sent on each trade; `side` here is the taker's. */
export interface WireTicker {
  type: 'ticker';
  sequence: number;
  product_id: string;
  price: string;
  open_24h: string;
  volume_24h: string;
  low_24h: string;
  high_24h: string;
  volume_30d: string;
  best_bid: string;
  best_bid_size?: string;
  best_ask: string;
  best_ask_size?: string;
  side: 'buy' | 'sell';
  time?: string;
  trade_id: number;
  last_size: string;
}

/** The reply to every subscribe: all subscriptions of the connection. */
export interface WireSubscriptions {
  type: 'subscriptions';
  channels: { name: string; product_ids: string[] }[];
}

/** `heartbeat` channel, once a second per product. */
export interface WireHeartbeat {
  type: 'heartbeat';
  sequence: number;
  last_trade_id: number;
  product_id: string;
  time: string;
}

/** One item of REST `GET /products/{product_id}/trades`; `side` is the maker's. */
export interface WireRestTrade {
  time: string;
  trade_id: number;
  price: string;
  size: string;
  side: 'buy' | 'sell';
}

/** A refused request. */
export interface WireError {
  type: 'error';
  message: string;
  reason?: string;
}

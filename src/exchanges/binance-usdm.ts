/**
 * Binance USDⓈ-M futures market streams.
 * Docs: https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams
 *       https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/Important-WebSocket-Change-Notice
 * Protocol notes and recorded frames: ../shared/fixtures/binance-usdm/protocol.md
 *
 * - Since 2026-04-23 every connection goes to one ROUTE: `/public`
 *   (high-frequency: `@bookTicker`, `@depth*`, and `@trade`), `/market`
 *   (`@aggTrade`, `@kline_*`, `@markPrice`, tickers, `@forceOrder`) or
 *   `/private`. A stream subscribed on the wrong route is acknowledged and
 *   then silent; the legacy unrouted URLs deliver only public streams. So a
 *   connection carries one route's streams: `@trade` + `@bookTicker` share
 *   `/public` (the default); `@aggTrade` needs `/market` and cannot share a
 *   connection with quotes.
 *   Where `@trade` lives is not in the official mapping excerpt: it is on
 *   `/public` per observations after the cut-over (binance-public-data#472:
 *   `@trade` kept flowing on the unrouted URL while `@aggTrade` stopped;
 *   BYTEX-TRADE/bytex#7: `/public` carries "book ticker, trades, depth"; ccxt
 *   routes it there) — UNVERIFIED by an official source.
 * - Combined-stream protocol as on spot: `/stream`, payloads as
 *   `{"stream":..,"data":..}`, live `SUBSCRIBE` acked with `{"result":null,"id":N}`,
 *   errors `{"code":N,"msg":..,"id":N}` — the pieces shared with spot are in
 *   ./binance-protocol.ts.
 * - Trades: `<symbol>@trade` by default — one frame per fill, so trade counts
 *   match Binance's klines. It is undocumented for futures but recorded
 *   (2024) and carries `X`: only `MARKET` fills are handed on; insurance-fund
 *   and ADL fills (`X` other than MARKET) are not order-book trades and are
 *   ignored. Frames from before `X` existed count as MARKET.
 *   Alternatively `@aggTrade` (`{ trades: 'aggTrade' }`): documented, but fills
 *   of one price and taker side within 100 ms arrive as ONE trade (`f`..`l`),
 *   so OHLC and volume still match klines but the trade count does not.
 *   Ids: `t` (trade) or `a` (aggregate), both increasing per symbol.
 * - `m` is "the buyer is the market maker": m=true means the seller was the
 *   aggressor.
 * - `<symbol>@bookTicker` carries `e`, `E` and `T` on futures (unlike spot):
 *   the quote time is `T` (transaction time).
 * - The server pings every 3 minutes (the ws client pongs). That is longer
 *   than the connection's default staleness limit (60 s), so a quiet
 *   trades-only connection would be judged dead: the adapter sends
 *   `GET_PROPERTY combined` with id 0 every 30 s, whose reply
 *   (`{"result":true,"id":0}`) proves the connection alive and is ignored.
 * - Limits: 10 incoming messages per second; 24 h per connection; streams
 *   per connection 1024 or 200 depending on which copy of the docs — 200.
 */
import type { FeedChannel } from '../config/types.ts';
import { InvalidParameterError } from '../errors.ts';
import { FrameKind, handQuote, handTrade, type AdapterCapabilities, type ClientHeartbeat, type ClientRequest, type ExchangeAdapter, type FeedHandler } from './adapter.ts';
import { BinanceSymbols, KEY, SLOT, endFastQuote, endFastTrade, readBookSides, readTradeFields, errorText, isReply, replyId, subscribeRequests } from './binance-protocol.ts';
import { isEpochMs, isTradeId, plainDecimal } from './decode.ts';
import { FrameScanner } from './scan.ts';

/** Sources: ../shared/fixtures/binance-usdm/protocol.md (D1 market streams, D2 change notice). */
export const binanceUsdmCapabilities: AdapterCapabilities = {
  name: 'binance-usdm',
  /** D2: the routed endpoint of @trade and @bookTicker (the adapter picks the route; see connectUrl). */
  defaultUrl: 'wss://fstream.binance.com/public',
  channels: ['trades', 'quotes'],
  /** `t` and `a` both increase per symbol (recorded @trade ids are contiguous). */
  tradeIdOrder: 'increasing',
  /** D1: 1024 on developers.binance.com, 200 on the .me mirror: the smaller. */
  maxStreamsPerConnection: 200,
  /** D1: 10 incoming messages per second. */
  maxMessagesPerSecond: 10,
  /** D1: a connection is valid for 24 h. */
  maxConnectionAgeMs: 24 * 3600_000,
};

/** Which trade stream to read. */
export type BinanceUsdmTradeStream = 'trade' | 'aggTrade';

export interface BinanceUsdmOptions {
  /** `trade` (default): every fill, on /public. `aggTrade`: 100 ms aggregates, on /market. */
  trades?: BinanceUsdmTradeStream;
}

/** The routed path of a connection. */
export type BinanceUsdmRoute = 'public' | 'market';

/** Request id of the keepalive (FeedConnection numbers requests from 1). */
const HEARTBEAT_ID = 0;
const HEARTBEAT: ClientHeartbeat = { intervalMs: 30_000, text: `{"method":"GET_PROPERTY","params":["combined"],"id":${HEARTBEAT_ID}}` };

/** A Binance USDⓈ-M futures adapter for `symbols`. */
export class BinanceUsdmAdapter implements ExchangeAdapter {
  readonly capabilities: AdapterCapabilities = binanceUsdmCapabilities;
  readonly heartbeat: ClientHeartbeat | undefined = HEARTBEAT;
  readonly route: BinanceUsdmRoute;
  ackId = NaN;
  error = '';
  private readonly streams: string[] = [];
  private readonly tradeStream: BinanceUsdmTradeStream | undefined;
  private readonly quotes: boolean;
  private readonly symbols: BinanceSymbols;
  private readonly scan = new FrameScanner();

  /** Throws InvalidParameterError for `aggTrade` together with quotes (two routes, two connections). */
  constructor(symbols: readonly string[], channels: readonly FeedChannel[], options: BinanceUsdmOptions = {}) {
    const tradeStream = options.trades ?? 'trade';
    if (tradeStream !== 'trade' && tradeStream !== 'aggTrade') {
      throw new InvalidParameterError('trades', tradeStream, "'trade' or 'aggTrade'");
    }
    this.tradeStream = channels.includes('trades') ? tradeStream : undefined;
    this.quotes = channels.includes('quotes');
    if (this.tradeStream === 'aggTrade' && this.quotes) {
      throw new InvalidParameterError(
        'channels with trades: aggTrade',
        channels,
        "['trades'] alone: @aggTrade is served on /market and @bookTicker on /public, one route per connection — use one adapter per channel, or trades: 'trade' (on /public with the quotes)",
      );
    }
    this.route = this.tradeStream === 'aggTrade' ? 'market' : 'public';
    this.symbols = new BinanceSymbols(symbols);
    symbols.forEach((symbol) => {
      const stream = symbol.toLowerCase();
      if (this.tradeStream !== undefined) this.streams.push(`${stream}@${this.tradeStream}`);
      if (this.quotes) this.streams.push(`${stream}@bookTicker`);
    });
  }

  /**
   * `<root>/<route>/stream`. The route is decided by the streams, so a base
   * URL that already ends in a route (the default does) has it replaced.
   */
  connectUrl(baseUrl: string): string {
    const root = baseUrl.replace(/\/+$/, '').replace(/\/(?:public|market|private)$/, '');
    return `${root}/${this.route}/stream`;
  }

  subscribeRequests(nextId: () => number): ClientRequest[] {
    return subscribeRequests(this.streams, nextId);
  }

  parse(frame: string, handler: FeedHandler): FrameKind {
    const fast = this.parseFast(frame, handler);
    return fast >= 0 ? (fast as FrameKind) : this.parseJson(frame, handler);
  }

  /**
   * The hot path: the exact shapes recorded for futures @trade and
   * @bookTicker in combined form, read in place without JSON.parse. Returns
   * -1 to decline (any other shape, order or surprise) and the JSON path
   * decides; it never decides differently (see the agreement test).
   */
  private parseFast(frame: string, handler: FeedHandler): number {
    const sc = this.scan;
    sc.reset(frame);
    if (!sc.expect('{"stream":') || sc.stringStart() < 0 || !sc.expect(',"data":{"e":"')) return -1;
    if (this.tradeStream === 'trade' && sc.expect('trade","E":')) {
      sc.int(SLOT.SKIP);
      if (!sc.key(KEY.T)) return -1;
      sc.int(SLOT.TS);
      if (!sc.key(KEY.s)) return -1;
      const symbol = this.symbols.at(frame, sc.stringStart(), sc.stringEnd, sc.stringHash);
      if (!readTradeFields(sc)) return -1;
      if (!sc.expect(',"X":"MARKET","m":')) return -1;
      const buyerIsMaker = sc.bool();
      return endFastTrade(sc, handler, symbol, buyerIsMaker);
    }
    sc.ok = true;
    if (this.quotes && sc.expect('bookTicker","u":')) {
      sc.int(SLOT.SKIP);
      if (!sc.key(KEY.s)) return -1;
      const symbol = this.symbols.at(frame, sc.stringStart(), sc.stringEnd, sc.stringHash);
      if (!readBookSides(sc)) return -1;
      if (!sc.key(KEY.T)) return -1;
      sc.int(SLOT.TS);
      if (!sc.key(KEY.E)) return -1;
      sc.int(SLOT.SKIP);
      if (!isEpochMs(sc.numbers[SLOT.TS]!)) return -1;
      return endFastQuote(sc, handler, symbol);
    }
    return -1;
  }

  /** The general path: any frame, validated field by field. */
  private parseJson(frame: string, handler: FeedHandler): FrameKind {
    let msg: unknown;
    try {
      msg = JSON.parse(frame);
    } catch {
      return this.malformed('not JSON');
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return this.malformed('not an object');
    const m = msg as Record<string, unknown>;
    if ('data' in m) {
      const data = m['data'];
      if (Array.isArray(data)) return FrameKind.IGNORED; // `!ticker@arr` and the like
      if (typeof data === 'object' && data !== null) return this.payload(data as Record<string, unknown>, handler);
      return this.malformed('data is not an object');
    }
    if (isReply(m)) {
      if (m['id'] === HEARTBEAT_ID) return FrameKind.IGNORED; // the keepalive's answer
      this.ackId = replyId(m);
      return FrameKind.ACK;
    }
    // `{"code":2,"msg":"..","id":1}`, or nested as `{"error":{"code":..,"msg":..},"id":1}`.
    const err = typeof m['error'] === 'object' && m['error'] !== null ? (m['error'] as Record<string, unknown>) : m;
    const error = errorText('binance-usdm', err);
    if (error !== undefined) {
      this.ackId = replyId(m);
      this.error = error;
      return FrameKind.ERROR;
    }
    if (typeof m['e'] === 'string') return this.payload(m, handler); // a raw (non-combined) payload
    return this.malformed('unknown frame');
  }

  private payload(d: Record<string, unknown>, handler: FeedHandler): FrameKind {
    const e = d['e'];
    switch (e) {
      case 'trade':
        return this.tradeStream === 'trade' ? this.trade(d as unknown as WireTrade, handler) : FrameKind.IGNORED;
      case 'aggTrade':
        return this.tradeStream === 'aggTrade' ? this.aggTrade(d as unknown as WireAggTrade, handler) : FrameKind.IGNORED;
      case 'bookTicker':
        return this.quotes ? this.bookTicker(d as unknown as WireBookTicker, handler) : FrameKind.IGNORED;
      case 'serverShutdown':
        return FrameKind.SHUTDOWN; // documented on spot; harmless should futures send it
      default:
        return typeof e === 'string' ? FrameKind.IGNORED : this.malformed('payload without an event type');
    }
  }

  private trade(d: WireTrade, handler: FeedHandler): FrameKind {
    const symbol = this.symbols.of(d.s);
    if (symbol < 0) return symbol === -1 ? FrameKind.IGNORED : this.malformed('trade without symbol');
    const price = plainDecimal(d.p);
    const size = plainDecimal(d.q);
    if (!isEpochMs(d.T) || !isTradeId(d.t) || !(price > 0) || !(size > 0) || typeof d.m !== 'boolean' || (d.X !== undefined && typeof d.X !== 'string')) {
      return this.malformed('bad trade fields');
    }
    if (d.X !== undefined && d.X !== 'MARKET') return FrameKind.IGNORED; // insurance-fund / ADL fill: not a book trade
    handTrade(handler, symbol, d.T, price, size, d.m ? -1 : 1, d.t);
    return FrameKind.DATA;
  }

  private aggTrade(d: WireAggTrade, handler: FeedHandler): FrameKind {
    const symbol = this.symbols.of(d.s);
    if (symbol < 0) return symbol === -1 ? FrameKind.IGNORED : this.malformed('aggTrade without symbol');
    const price = plainDecimal(d.p);
    const size = plainDecimal(d.q);
    if (!isEpochMs(d.T) || !isTradeId(d.a) || !isTradeId(d.f) || !isTradeId(d.l) || d.l < d.f || !(price > 0) || !(size > 0) || typeof d.m !== 'boolean') {
      return this.malformed('bad aggTrade fields');
    }
    handTrade(handler, symbol, d.T, price, size, d.m ? -1 : 1, d.a);
    return FrameKind.DATA;
  }

  private bookTicker(d: WireBookTicker, handler: FeedHandler): FrameKind {
    const symbol = this.symbols.of(d.s);
    if (symbol < 0) return symbol === -1 ? FrameKind.IGNORED : this.malformed('bookTicker without symbol');
    const bid = plainDecimal(d.b);
    const bidSize = plainDecimal(d.B);
    const ask = plainDecimal(d.a);
    const askSize = plainDecimal(d.A);
    if (!isEpochMs(d.T) || !(bid > 0) || !(ask > 0) || !(bidSize >= 0) || !(askSize >= 0)) return this.malformed('bad bookTicker fields');
    handQuote(handler, symbol, d.T, bid, bidSize, ask, askSize);
    return FrameKind.DATA;
  }

  private malformed(why: string): FrameKind {
    this.error = `binance-usdm: ${why}`;
    return FrameKind.MALFORMED;
  }
}

// ── wire types (what Binance sends; every field unchecked until validated) ───

/** `<symbol>@trade` (undocumented on futures; recorded 2024). */
interface WireTrade {
  e: 'trade';
  /** Event time, ms. */
  E: number;
  /** Trade time, ms. */
  T: number;
  s: string;
  /** Trade id. */
  t: number;
  p: string;
  q: string;
  /** Execution type: MARKET, INSURANCE_FUND, ADL (absent in frames before 2020). */
  X?: string;
  /** The buyer is the maker (so the seller was the aggressor). */
  m: boolean;
}

/** `<symbol>@aggTrade` */
interface WireAggTrade {
  e: 'aggTrade';
  E: number;
  /** Aggregate trade id. */
  a: number;
  s: string;
  p: string;
  q: string;
  /** Quantity without RPI fills (newer frames). */
  nq?: string;
  /** First and last trade id aggregated. */
  f: number;
  l: number;
  T: number;
  m: boolean;
}

/** `<symbol>@bookTicker` (futures form: with `e`, `T`, `E`). */
interface WireBookTicker {
  e: 'bookTicker';
  /** Order-book update id. */
  u: number;
  s: string;
  b: string;
  B: string;
  a: string;
  A: string;
  /** Transaction time, ms. */
  T: number;
  /** Event time, ms. */
  E: number;
}

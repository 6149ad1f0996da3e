/**
 * Bybit v5 public market streams.
 * Docs: https://bybit-exchange.github.io/docs/v5/ws/connect
 *       https://bybit-exchange.github.io/docs/v5/websocket/public/trade
 *       https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook
 * Protocol notes and recorded frames: ../shared/fixtures/bybit/protocol.md
 *
 * - One socket per category: spot `/v5/public/spot` (the default), linear
 *   `/v5/public/linear`, inverse `/v5/public/inverse`. The parse is the same
 *   for all three; the category is chosen by the URL.
 * - Subscribe `{"op":"subscribe","args":[topics],"req_id":"<id>"}`; spot takes
 *   at most 10 args per request (a larger one is refused with
 *   `"ret_msg":"args size >10"`), so requests are chunked by 10 everywhere.
 *   Ack: `{"success":true,"ret_msg":"subscribe","req_id":"<id>","op":"subscribe"}`
 *   (linear/inverse: `"ret_msg":""`); refusal: `"success":false` with the
 *   reason in `ret_msg`, and not always a `req_id`.
 * - Bybit does not ping: the client sends `{"op":"ping"}` (every 20 s
 *   recommended); without pings and data the connection is cut after 10 min.
 *   The pong is `{"success":true,"ret_msg":"pong",..,"op":"ping"}` (spot,
 *   linear) or `{"op":"pong","args":[..]}` (option): ignored.
 * - `publicTrade.<SYMBOL>`: `data` is an array of trades (up to 1024), each
 *   `{T, s, S, v, p, i, BT, ...}`. `S` is the TAKER's side (Buy/Sell); `v`, `p`
 *   decimal strings; `T` fill time (ms). `i` is a UUID on derivatives and a
 *   19-digit string on spot (beyond 2^53): every id is hashed to a 53-bit
 *   integer (`bybitTradeId`), so ids carry no order (`tradeIdOrder: 'any'`).
 * - Best bid/offer from `orderbook.1.<SYMBOL>`, not `tickers.<SYMBOL>`: spot
 *   tickers carry no bid/ask at all, and derivative ticker deltas carry only
 *   the fields that changed. Level 1 is documented as snapshot-only today
 *   (re-sent every 3 s unchanged, same `u`; `u = 1` after a service restart),
 *   but 2023 recordings show `delta` frames, so both are applied: a delta
 *   level with size > 0 is the side's new best, a size-0 level that is the
 *   current best empties that side. A quote is handed on only when both
 *   sides are known; an unchanged re-sent snapshot is not repeated. The book
 *   is forgotten whenever a connection (re)subscribes.
 * - Quote time: `cts` (matching engine, comparable with trades' `T`) when
 *   present, else the frame's `ts`.
 * - Key order differs by category ("ts" before or after "type"): no fast
 *   path reading a fixed order here; JSON.parse, once per frame of up to
 *   1024 trades.
 * - Gap recovery (`tradesFrom`): the public REST API serves only the most
 *   recent trades, `GET /v5/market/recent-trade?category=&symbol=&limit=`
 *   (docs v5/market/recent-trade: limit spot [1,60], others [1,1000]),
 *   newest first, `{retCode:0, result:{list:[{execId, symbol, price, size,
 *   side (taker), time (ms string), isBlockTrade}]}}`. With no order in the
 *   ids, trades are selected by time; a full window that does not reach back
 *   to the last trade seen cannot fill the gap, and says so.
 */
import type { FeedChannel } from '../config/types.ts';
import { ErrorCode, VenueRestError } from '../errors.ts';
import {
  FrameKind,
  handQuote,
  handTrade,
  type AdapterCapabilities,
  type ClientHeartbeat,
  type ClientRequest,
  type ExchangeAdapter,
  type FeedHandler,
  type RecoveredTrade,
} from './adapter.ts';
import { isEpochMs, plainDecimal, venueText } from './decode.ts';
import { answerError, restGet } from './rest.ts';

/**
 * Sources: ../shared/fixtures/bybit/protocol.md (B1 = bybit-exchange/docs v5).
 * UNVERIFIED values are chosen conservatively and say so.
 */
export const bybitCapabilities: AdapterCapabilities = {
  name: 'bybit',
  /** B1 connect: spot public endpoint (mainnet). */
  defaultUrl: 'wss://stream.bybit.com/v5/public/spot',
  channels: ['trades', 'quotes'],
  /** Hashed UUIDs / 19-digit ids: no usable order. */
  tradeIdOrder: 'any',
  /**
   * B1 limits the args of one connection to 21,000 characters, not a count:
   * 500 topics of up to 38 characters (`orderbook.1.` + a 26-character
   * symbol; BTCUSDT makes 19) stay below it even counting JSON quotes and
   * commas (500 × 41 = 20,500).
   */
  maxStreamsPerConnection: 500,
  /** UNVERIFIED: no per-connection message rate is documented for public streams; 5/s is conservative. */
  maxMessagesPerSecond: 5,
  /** UNVERIFIED: no maximum connection age is documented; rotating daily is harmless. */
  maxConnectionAgeMs: 24 * 3600_000,
};

/** B1: spot accepts at most 10 args per subscribe request. */
export const BYBIT_TOPICS_PER_REQUEST = 10;

/** B1: a ping every 20 s is recommended. */
const HEARTBEAT: ClientHeartbeat = { intervalMs: 20_000, text: '{"op":"ping"}' };

const TRADE_PREFIX = 'publicTrade.';
const BOOK_PREFIX = 'orderbook.1.';

/** A product category: one WebSocket path and the REST `category` parameter. */
export type BybitCategory = 'spot' | 'linear' | 'inverse' | 'option';

/** Most trades `/v5/market/recent-trade` returns per category (docs: spot [1,60], others [1,1000]). */
export const BYBIT_RECENT_TRADES: Readonly<Record<BybitCategory, number>> = { spot: 60, linear: 1000, inverse: 1000, option: 1000 };

export interface BybitOptions {
  /** The category the symbols belong to, for the REST API (default spot; see `BybitAdapter.categoryOf`). */
  category?: BybitCategory;
}

/** Float64 slots per symbol in the level-1 book. */
const BOOK_FIELDS = 5;
const BID = 0;
const BID_SIZE = 1;
const ASK = 2;
const ASK_SIZE = 3;
const UPDATE_ID = 4;

/** A Bybit v5 public-stream adapter for `symbols`. */
export class BybitAdapter implements ExchangeAdapter {
  readonly capabilities: AdapterCapabilities = bybitCapabilities;
  readonly heartbeat: ClientHeartbeat | undefined = HEARTBEAT;
  /**
   * No page size: the venue serves one window of recent trades that cannot
   * be continued, so `tradesFrom` answers in one request (or throws). A value
   * no answer reaches makes GapRecovery stop after that one call.
   */
  readonly restPageSize = Number.MAX_SAFE_INTEGER;
  readonly category: BybitCategory;
  ackId = NaN;
  error = '';
  private readonly topics: string[] = [];
  /** Native symbol (upper case, as Bybit prints it in topics and `s`) → index. */
  private readonly index = new Map<string, number>();
  /** Level-1 book per symbol (BOOK_FIELDS each); NaN = unknown. */
  private readonly book: Float64Array;
  /** Scratch for one trade frame: validated before anything is handed on. */
  private tradeTs = new Float64Array(64);
  private tradePrice = new Float64Array(64);
  private tradeSize = new Float64Array(64);
  private tradeSide = new Float64Array(64);
  private tradeId = new Float64Array(64);
  /** Results of `readLevels`. */
  private levelPrice = NaN;
  private levelSize = NaN;
  private removesPrice = NaN;

  /** The category a WebSocket base URL connects to: the `/v5/public/<category>` it names, else spot (as `connectUrl`). */
  static categoryOf(url: string | undefined): BybitCategory {
    const m = /\/v5\/public\/(spot|linear|inverse|option)\/*$/.exec(url ?? '');
    return m === null ? 'spot' : (m[1] as BybitCategory);
  }

  constructor(symbols: readonly string[], channels: readonly FeedChannel[], options: BybitOptions = {}) {
    this.category = options.category ?? 'spot';
    symbols.forEach((symbol, i) => {
      const name = symbol.toUpperCase();
      this.index.set(name, i);
      if (channels.includes('trades')) this.topics.push(TRADE_PREFIX + name);
      if (channels.includes('quotes')) this.topics.push(BOOK_PREFIX + name);
    });
    this.book = new Float64Array(symbols.length * BOOK_FIELDS).fill(NaN);
  }

  /** A base URL that names a `/v5/public/<category>` path is used as is; a bare host gets the spot path. */
  connectUrl(baseUrl: string): string {
    const base = baseUrl.replace(/\/+$/, '');
    return /\/v5\/public\/[a-z]+$/.test(base) ? base : `${base}/v5/public/spot`;
  }

  subscribeRequests(nextId: () => number): ClientRequest[] {
    this.book.fill(NaN); // a new connection starts again from its snapshots
    const requests: ClientRequest[] = [];
    for (let i = 0; i < this.topics.length; i += BYBIT_TOPICS_PER_REQUEST) {
      const id = nextId();
      requests.push({ id, text: JSON.stringify({ op: 'subscribe', args: this.topics.slice(i, i + BYBIT_TOPICS_PER_REQUEST), req_id: String(id) }) });
    }
    return requests;
  }

  /**
   * Gap recovery from the recent-trades window: the trades at or after
   * `fromTs` (the last trade seen) other than that trade (id `fromId` - 1,
   * hashed as the WebSocket's), oldest first. Trades already seen at the
   * same millisecond come back too; the aggregator drops them by id. Throws
   * when the window is full yet neither holds the last trade seen nor
   * reaches back before its time: trades in between may be missing.
   */
  async tradesFrom(restUrl: string, symbol: string, fromId: number, fromTs: number): Promise<RecoveredTrade[]> {
    // fromId is a 53-bit hash + 1: up to 2^53, an integer but not a "safe" one.
    if (!Number.isFinite(fromTs) || !Number.isInteger(fromId)) {
      throw new VenueRestError('bybit', 'bybit REST: no last trade to recover from', { code: ErrorCode.INVALID_PARAMETER });
    }
    const name = symbol.toUpperCase();
    const limit = BYBIT_RECENT_TRADES[this.category];
    const url = `${restUrl.replace(/\/+$/, '')}/v5/market/recent-trade?category=${this.category}&symbol=${encodeURIComponent(name)}&limit=${limit}`;
    const answer = await restGet('bybit', url);
    if (!answer.ok) throw answerError(answer, `bybit REST ${answer.status} for recent-trade`);
    const body = answer.body;
    if (body === undefined) throw answerError(answer, 'bybit REST: recent-trade did not answer JSON');
    const b = (typeof body === 'object' && body !== null ? body : {}) as Partial<WireRecentTrades>;
    if (typeof b.retCode !== 'number') throw answerError(answer, 'bybit REST: recent-trade answer without retCode');
    if (b.retCode !== 0) throw answerError(answer, `bybit REST error ${b.retCode}: ${typeof b.retMsg === 'string' ? b.retMsg : 'no message'}`);
    const list = typeof b.result === 'object' && b.result !== null ? b.result.list : undefined;
    if (!Array.isArray(list)) throw answerError(answer, 'bybit REST: recent-trade answer without result.list');
    const lastSeen = fromId - 1;
    let sawLast = false;
    let oldest = Infinity;
    const trades: RecoveredTrade[] = [];
    // Newest first: walked backwards, so equal times stay in the venue's order.
    for (let k = list.length - 1; k >= 0; k--) {
      const t = list[k] as Partial<WireRecentTrade> | null;
      if (typeof t !== 'object' || t === null) throw answerError(answer, 'bybit REST: malformed trade in recent-trade');
      const price = plainDecimal(t.price);
      const size = plainDecimal(t.size);
      const time = timeString(t.time);
      const side = t.side === 'Buy' ? 1 : t.side === 'Sell' ? -1 : 0;
      const execId = t.execId;
      if (
        typeof execId !== 'string' ||
        execId.length === 0 ||
        execId.length > 64 ||
        t.symbol !== name ||
        !(price > 0) ||
        !(size > 0) ||
        !(time > 0) ||
        side === 0 ||
        (t.isBlockTrade !== undefined && typeof t.isBlockTrade !== 'boolean')
      ) {
        throw answerError(answer, 'bybit REST: malformed trade in recent-trade');
      }
      const id = bybitTradeId(execId);
      if (time < oldest) oldest = time;
      if (id === lastSeen) sawLast = true;
      else if (time >= fromTs) trades.push({ ts: time, price, size, side, id });
    }
    if (list.length >= limit && !sawLast && oldest >= fromTs) {
      throw answerError(
        answer,
        `bybit REST: gap longer than the venue's recent-trades window (the last ${list.length} trades go back to ${new Date(oldest).toISOString()}, the gap to ${new Date(fromTs).toISOString()})`,
      );
    }
    return trades.sort((x, y) => x.ts - y.ts); // stable: equal times keep their order
  }

  parse(frame: string, handler: FeedHandler): FrameKind {
    let msg: unknown;
    try {
      msg = JSON.parse(frame);
    } catch {
      return this.malformed('not JSON');
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return this.malformed('not an object');
    const m = msg as Record<string, unknown>;
    const topic = m['topic'];
    if (typeof topic === 'string') {
      if (topic.startsWith(TRADE_PREFIX)) {
        const name = topic.slice(TRADE_PREFIX.length);
        const symbol = this.index.get(name);
        return symbol === undefined ? FrameKind.IGNORED : this.trades(symbol, name, m as unknown as WireTradeFrame, handler);
      }
      if (topic.startsWith(BOOK_PREFIX)) {
        const name = topic.slice(BOOK_PREFIX.length);
        const symbol = this.index.get(name);
        return symbol === undefined ? FrameKind.IGNORED : this.quote(symbol, name, m as unknown as WireBookFrame, handler);
      }
      return FrameKind.IGNORED; // other topics: deeper books, tickers, klines, liquidations
    }
    if (topic !== undefined) return this.malformed('topic is not a string');
    return this.control(m as WireControl);
  }

  /** Acks, refusals and pongs. */
  private control(m: WireControl): FrameKind {
    const op = m.op;
    if (m.success === false) {
      this.ackId = requestId(m.req_id);
      const reason = typeof m.ret_msg === 'string' && m.ret_msg !== '' ? venueText(m.ret_msg) : 'no reason given';
      this.error = `bybit refused${typeof op === 'string' ? ` ${venueText(op)}` : ''}: ${reason}`;
      return FrameKind.ERROR;
    }
    if (op === 'ping' || op === 'pong') return FrameKind.IGNORED;
    if (m.success === true) {
      if (op === 'subscribe' || op === 'unsubscribe') {
        this.ackId = requestId(m.req_id);
        return FrameKind.ACK;
      }
      if (m.type === 'COMMAND_RESP') {
        // The option/spread form: which topics took, which did not.
        this.ackId = requestId(m.req_id);
        const failed: unknown = m.data?.failTopics;
        if (failed !== undefined && (!Array.isArray(failed) || !failed.every((t) => typeof t === 'string'))) return this.malformed('failTopics is not a list of topics');
        if (failed !== undefined && failed.length > 0) {
          this.error = `bybit refused topics: ${venueText(failed.join(', '))}`;
          return FrameKind.ERROR;
        }
        return FrameKind.ACK;
      }
      return FrameKind.IGNORED; // an acknowledgement of nothing we send (auth, the pre-v5 shape)
    }
    return this.malformed('unknown frame');
  }

  private trades(symbol: number, name: string, m: WireTradeFrame, handler: FeedHandler): FrameKind {
    const data = m.data;
    if (m.type !== 'snapshot' || !isEpochMs(m.ts) || !Array.isArray(data)) return this.malformed('bad publicTrade frame');
    const n = data.length;
    if (n === 0) return FrameKind.IGNORED;
    if (n > this.tradeTs.length) this.growScratch(n);
    // Validate the whole frame first: a bad trade anywhere hands on none of it.
    for (let k = 0; k < n; k++) {
      const t = data[k] as WireTrade | null;
      if (typeof t !== 'object' || t === null) return this.malformed('trade is not an object');
      const price = plainDecimal(t.p);
      const size = plainDecimal(t.v);
      const side = t.S === 'Buy' ? 1 : t.S === 'Sell' ? -1 : 0;
      const id = t.i;
      if (!isEpochMs(t.T) || !(price > 0) || !(size > 0) || side === 0 || typeof id !== 'string' || id.length === 0 || id.length > 64 || t.s !== name) {
        return this.malformed('bad trade fields');
      }
      if (t.BT !== undefined && typeof t.BT !== 'boolean') return this.malformed('bad trade fields');
      this.tradeTs[k] = t.T;
      this.tradePrice[k] = price;
      this.tradeSize[k] = size;
      this.tradeSide[k] = side;
      this.tradeId[k] = bybitTradeId(id);
    }
    for (let k = 0; k < n; k++) {
      handTrade(handler, symbol, this.tradeTs[k]!, this.tradePrice[k]!, this.tradeSize[k]!, this.tradeSide[k]!, this.tradeId[k]!);
    }
    return FrameKind.DATA;
  }

  private quote(symbol: number, name: string, m: WireBookFrame, handler: FeedHandler): FrameKind {
    const type = m.type;
    const d = m.data;
    if ((type !== 'snapshot' && type !== 'delta') || !isEpochMs(m.ts) || (m.cts !== undefined && !isEpochMs(m.cts))) {
      return this.malformed('bad orderbook.1 frame');
    }
    if (typeof d !== 'object' || d === null || d.s !== name || !Number.isSafeInteger(d.u) || d.u < 0) {
      return this.malformed('bad orderbook.1 data');
    }
    const book = this.book;
    const at = symbol * BOOK_FIELDS;
    // Read both sides before changing anything.
    if (!this.readLevels(d.b, 1, book[at + BID]!)) return this.malformed('bad bid levels');
    const bid = this.levelPrice;
    const bidSize = this.levelSize;
    const bidRemoved = this.removesPrice;
    if (!this.readLevels(d.a, -1, book[at + ASK]!)) return this.malformed('bad ask levels');
    const ask = this.levelPrice;
    const askSize = this.levelSize;
    const askRemoved = this.removesPrice;

    if (type === 'snapshot') {
      if (book[at + UPDATE_ID] === d.u && book[at + BID] === bid && book[at + BID_SIZE] === bidSize && book[at + ASK] === ask && book[at + ASK_SIZE] === askSize) {
        return FrameKind.DATA; // the 3-second re-send of an unchanged book
      }
      book[at + BID] = bid;
      book[at + BID_SIZE] = bidSize;
      book[at + ASK] = ask;
      book[at + ASK_SIZE] = askSize;
    } else {
      if (bid === bid) {
        book[at + BID] = bid;
        book[at + BID_SIZE] = bidSize;
      } else if (bidRemoved === bidRemoved) {
        book[at + BID] = NaN;
        book[at + BID_SIZE] = NaN;
      }
      if (ask === ask) {
        book[at + ASK] = ask;
        book[at + ASK_SIZE] = askSize;
      } else if (askRemoved === askRemoved) {
        book[at + ASK] = NaN;
        book[at + ASK_SIZE] = NaN;
      }
    }
    book[at + UPDATE_ID] = d.u;
    const b = book[at + BID]!;
    const a = book[at + ASK]!;
    if (b === b && a === a) handQuote(handler, symbol, m.cts ?? m.ts, b, book[at + BID_SIZE]!, a, book[at + ASK_SIZE]!);
    return FrameKind.DATA;
  }

  /**
   * Validate one side's `[[price, size], ...]` and leave in `levelPrice` /
   * `levelSize` its best level with size > 0 (highest bid, `dir` 1; lowest
   * ask, `dir` -1), NaN when none, and in `removesPrice` `current` when a
   * size-0 level deletes it (else NaN). False when malformed.
   */
  private readLevels(levels: unknown, dir: number, current: number): boolean {
    this.levelPrice = NaN;
    this.levelSize = NaN;
    this.removesPrice = NaN;
    if (!Array.isArray(levels)) return false;
    for (let k = 0; k < levels.length; k++) {
      const level = levels[k] as unknown;
      if (!Array.isArray(level) || level.length !== 2) return false;
      const price = plainDecimal(level[0]);
      const size = plainDecimal(level[1]);
      if (!(price > 0) || !(size >= 0)) return false;
      if (size === 0) {
        if (price === current) this.removesPrice = price;
      } else if (!(this.levelPrice === this.levelPrice) || (price - this.levelPrice) * dir > 0) {
        this.levelPrice = price;
        this.levelSize = size;
      }
    }
    return true;
  }

  private growScratch(n: number): void {
    let cap = this.tradeTs.length;
    while (cap < n) cap *= 2;
    this.tradeTs = new Float64Array(cap);
    this.tradePrice = new Float64Array(cap);
    this.tradeSize = new Float64Array(cap);
    this.tradeSide = new Float64Array(cap);
    this.tradeId = new Float64Array(cap);
  }

  private malformed(why: string): FrameKind {
    this.error = `bybit: ${why}`;
    return FrameKind.MALFORMED;
  }
}

/**
 * A Bybit trade id (a UUID, or a 19-digit string on spot) as a non-negative
 * integer below 2^53: cyrb53 (bryc, public domain) — two 32-bit
 * multiplicative hashes of the UTF-16 code units, cross-mixed with murmur3's
 * finalizer constants, 21 bits of one and 32 of the other. Deterministic on
 * every platform; two ids collide with probability ~2^-53.
 */
export function bybitTradeId(id: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** `req_id` as the numeric request id we sent; NaN when absent, empty or not ours. */
function requestId(reqId: unknown): number {
  if (typeof reqId !== 'string' || !/^[0-9]{1,15}$/.test(reqId)) return NaN;
  return Number(reqId);
}

/** An epoch-ms timestamp as REST prints it, a string of digits; NaN for anything else. */
function timeString(v: unknown): number {
  if (typeof v !== 'string' || !/^[1-9][0-9]{0,15}$/.test(v)) return NaN;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : NaN;
}

// ── wire types (what Bybit sends; every field unchecked until validated) ──────

/** `publicTrade.<SYMBOL>` */
interface WireTradeFrame {
  topic: string;
  type: 'snapshot';
  /** System time of the push, ms. */
  ts: number;
  data: unknown[];
}

interface WireTrade {
  /** Fill time, ms. */
  T: number;
  s: string;
  /** Taker side. */
  S: 'Buy' | 'Sell';
  /** Size, decimal string. */
  v: string;
  /** Price, decimal string. */
  p: string;
  /** Trade id: UUID (derivatives) or a 19-digit string (spot). */
  i: string;
  /** Block trade. */
  BT?: boolean;
  /** Tick direction (derivatives only). */
  L?: string;
  /** Cross sequence (newer frames). */
  seq?: number;
  /** Retail-price-improvement trade (newer frames). */
  RPI?: boolean;
}

/** `GET /v5/market/recent-trade` */
interface WireRecentTrades {
  retCode: number;
  retMsg: string;
  result: { category: string; list: unknown[] } | null;
  time: number;
}

interface WireRecentTrade {
  execId: string;
  symbol: string;
  /** Decimal strings. */
  price: string;
  size: string;
  /** Taker side. */
  side: 'Buy' | 'Sell';
  /** Trade time, ms, as a string. */
  time: string;
  isBlockTrade?: boolean;
}

/** `orderbook.1.<SYMBOL>` */
interface WireBookFrame {
  topic: string;
  type: 'snapshot' | 'delta';
  ts: number;
  /** Matching-engine time, ms (newer frames). */
  cts?: number;
  data: { s: string; b: unknown; a: unknown; u: number; seq?: number } | null;
}

/** Acks, refusals, pongs (shapes in ../shared/fixtures/bybit/control.jsonl). */
interface WireControl {
  success?: boolean;
  ret_msg?: string;
  conn_id?: string;
  req_id?: string;
  op?: string;
  args?: string[];
  /** Option/spread acks. */
  type?: string;
  data?: { failTopics?: string[]; successTopics?: string[] };
}

/**
 * Kraken spot WebSocket API v2, public market data.
 * Docs: https://docs.kraken.com/exchange/api-reference/spot-websocket-v2/trade
 *       (and …/spot-websocket-v2/ticker, …/heartbeat, …/ping; endpoints and v1/v2 table at
 *       https://docs.kraken.com/exchange/api-reference/spot-websocket)
 * Protocol notes: ../shared/fixtures/kraken/protocol.md (K0–K8 below are its sources).
 *
 * v2 only. The evidence for every v2 shape here is documentation: the docs'
 * examples (doc_frames_v2.jsonl, the ack in control.jsonl, the failure example
 * quoted by rustrade-data). No recorded v2 traffic exists in the corpus; the
 * real recorded frames (frames.jsonl) are v1, which this adapter does not speak.
 *
 * - Endpoint `wss://ws.kraken.com/v2` (K0). Symbols as v2 prints them,
 *   `BTC/USD` (v1 said `XBT/USD`).
 * - One channel per request: `{"method":"subscribe","params":{"channel":"trade",
 *   "symbol":[..]},"req_id":N}`. The venue answers each symbol on its own
 *   (K2, K8): `{"method":"subscribe","success":true,"result":{..},"req_id":N}`
 *   is an ACK of N, `success:false` with `error` an ERROR of N (`req_id` is
 *   echoed, K2: "sent as acknowledgment in the response").
 * - `trade`: `data[]` of {symbol, side, price, qty, ord_type, trade_id,
 *   timestamp}. price/qty are JSON numbers, not strings (K1); `side` is the
 *   taker's side (K7); `trade_id` a sequential integer (K0); `timestamp`
 *   RFC 3339 with µs, kept to the µs as a fraction of the ms. `snapshot:false`
 *   (the channel's default, K1): no replay of the last trades on (re)connect.
 * - `ticker` with `event_trigger:"bbo"` publishes on every change of the best
 *   bid/offer (K2) — the quote stream; the first is a snapshot (default true).
 *   bid/bid_qty/ask/ask_qty are numbers. Only some doc examples carry a
 *   `timestamp`: used when present, else NaN (the feed stamps the quote).
 * - `heartbeat` frames arrive about once a second when nothing else is sent,
 *   from the first subscription on (K3): IGNORED, they keep the connection
 *   from looking stale. `status` (on connect) and other channels: IGNORED.
 * - No client heartbeat: the server's heartbeats and data already prove the
 *   connection alive each second; `{"method":"ping"}` is optional (K4). Its
 *   `pong` parses as IGNORED, so a subclass can turn it on.
 *
 * Gap recovery (`tradesFrom`) uses the public REST API, `GET /0/public/Trades`
 * (docs.kraken.com/api/docs/rest-api/get-recent-trades): up to `count` = 1000
 * trades forward from `since` (a timestamp; the response's `last`, in ns, is
 * the cursor of the next page), oldest first, each
 * `[price, volume, time (s, float), side b/s (taker), type m/l, misc, trade_id]`,
 * under `result.<pair>` where <pair> is the venue's canonical name (`XXBTZUSD`
 * for a request of `XBTUSD`), not the name asked for. `trade_id` is taken to
 * be v2's `trade_id` (both per-pair sequential integers; UNVERIFIED that they
 * are the same numbers: no recording has both). Errors come as HTTP 200 with
 * `error: ["EQuery:…"]`. Whether `since` includes a trade at exactly that
 * time is not documented: both readings are handled.
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
import { MAX_QUANTITY, Rfc3339, isPlausibleMs, isTradeId, parseRfc3339Ms, plainDecimal, venueText } from './decode.ts';
import { answerError, restGet, type RestAnswer } from './rest.ts';

export const krakenCapabilities: AdapterCapabilities = {
  name: 'kraken',
  // K0: the v2 public endpoint (`connectUrl` adds `/v2` to a bare base URL).
  defaultUrl: 'wss://ws.kraken.com/v2',
  channels: ['trades', 'quotes'],
  // K0: "Trade ID: sequential int" in v2 (per pair; de-duplication is per symbol).
  tradeIdOrder: 'increasing',
  // UNVERIFIED: Kraken documents no per-connection subscription limit. Chosen
  // small: 100 pairs × 2 channels, two requests per connection.
  maxStreamsPerConnection: 200,
  // UNVERIFIED: the spot WebSocket message rate limit is dynamic and not
  // published (over it the venue answers "Exceeded msg rate"). 2 makes the
  // connection pace requests at one per second.
  maxMessagesPerSecond: 2,
  // UNVERIFIED: no documented maximum connection age. A daily make-before-break
  // rotation costs nothing and bounds the damage if there is one.
  maxConnectionAgeMs: 24 * 3600_000,
};

/** Pairs per subscribe request (UNVERIFIED: no documented maximum; matches maxStreamsPerConnection / 2). */
const SYMBOLS_PER_REQUEST = 100;

/** Trades per REST page: `count`'s maximum (and default) on `/0/public/Trades`. */
export const KRAKEN_REST_PAGE = 1000;

/** Most `/0/public/Trades` requests one `tradesFrom` makes (one, plus top-ups of pages shortened by trades already seen). */
const MAX_REST_REQUESTS = 4;

/**
 * The REST name of a v2 pair: the slash removed, and Kraken's own asset codes
 * for the two assets v2 renamed (K0: v1 and REST say `XBT/USD`, v2 `BTC/USD`;
 * DOGE is `XDG` in the same way). `XBTUSD` is the docs' own example of a REST
 * pair; whether REST also accepts `BTCUSD` or `BTC/USD` is UNVERIFIED here, so
 * the documented spelling is used.
 */
export function krakenRestPair(symbol: string): string {
  return symbol
    .toUpperCase()
    .split('/')
    .map((asset) => (asset === 'BTC' ? 'XBT' : asset === 'DOGE' ? 'XDG' : asset))
    .join('');
}

/** A Kraken v2 adapter for `symbols` (v2 names such as `BTC/USD`). */
export class KrakenAdapter implements ExchangeAdapter {
  readonly capabilities: AdapterCapabilities;
  /** None: the server heartbeats (see the header). */
  readonly heartbeat: ClientHeartbeat | undefined = undefined;
  readonly restPageSize = KRAKEN_REST_PAGE;
  ackId = NaN;
  error = '';
  /** Pair as Kraken prints it in `symbol` → index. */
  private readonly index = new Map<string, number>();
  /** `params` of each subscribe request, serialized once. */
  private readonly params: string[] = [];
  private readonly wantTrades: boolean;
  private readonly wantQuotes: boolean;
  /** Trade times of the frame being parsed (validated first, then handed over). */
  private times = new Float64Array(16);

  constructor(symbols: readonly string[], channels: readonly FeedChannel[], capabilities: AdapterCapabilities = krakenCapabilities) {
    this.capabilities = capabilities;
    this.wantTrades = channels.includes('trades');
    this.wantQuotes = channels.includes('quotes');
    const pairs: string[] = [];
    symbols.forEach((symbol, i) => {
      const pair = symbol.toUpperCase();
      if (this.index.has(pair)) return;
      this.index.set(pair, i);
      pairs.push(pair);
    });
    for (let i = 0; i < pairs.length; i += SYMBOLS_PER_REQUEST) {
      const chunk = pairs.slice(i, i + SYMBOLS_PER_REQUEST);
      if (this.wantTrades) this.params.push(JSON.stringify({ channel: 'trade', symbol: chunk, snapshot: false }));
      if (this.wantQuotes) this.params.push(JSON.stringify({ channel: 'ticker', symbol: chunk, event_trigger: 'bbo', snapshot: true }));
    }
  }

  connectUrl(baseUrl: string): string {
    const base = baseUrl.replace(/\/+$/, '');
    return base.endsWith('/v2') ? base : `${base}/v2`;
  }

  subscribeRequests(nextId: () => number): ClientRequest[] {
    return this.params.map((params) => {
      const id = nextId();
      return { id, text: `{"method":"subscribe","params":${params},"req_id":${id}}` };
    });
  }

  /**
   * Gap recovery: `symbol`'s trades with id >= `fromId`, oldest first, from
   * the REST API by time. `since` is 1 µs before `fromTs` (the last trade
   * seen), so the trades sharing its time come back whether the venue reads
   * `since` as inclusive or not; those already seen (id < `fromId`) are
   * dropped. A full page shortened that way is topped up from the page's
   * `last` cursor, so that fewer than `restPageSize` trades still means
   * "the venue has no more" to GapRecovery.
   */
  async tradesFrom(restUrl: string, symbol: string, fromId: number, fromTs: number): Promise<RecoveredTrade[]> {
    if (!Number.isFinite(fromTs) || fromTs <= 0 || !Number.isSafeInteger(fromId)) {
      throw new VenueRestError('kraken', 'kraken REST: no last trade to recover from', { code: ErrorCode.INVALID_PARAMETER });
    }
    const pair = krakenRestPair(symbol);
    const trades: RecoveredTrade[] = [];
    let next = fromId;
    let since = (BigInt(Math.floor(fromTs * 1000)) - 1n) * 1000n; // ns
    for (let request = 1; ; request++) {
      const page = await krakenTradesPage(restUrl, pair, since);
      for (const t of page.trades) {
        if (t.id < next) continue;
        trades.push(t);
        next = t.id + 1;
      }
      if (page.trades.length < KRAKEN_REST_PAGE || trades.length >= KRAKEN_REST_PAGE) return trades;
      if (page.last <= since) throw answerError(page.answer, `kraken REST: Trades for ${pair} does not advance past since=${since}`);
      if (request === MAX_REST_REQUESTS) throw answerError(page.answer, `kraken REST: ${MAX_REST_REQUESTS} pages of Trades for ${pair} held only trades already seen`);
      since = page.last;
    }
  }

  parse(frame: string, handler: FeedHandler): FrameKind {
    let msg: unknown;
    try {
      msg = JSON.parse(frame);
    } catch {
      return this.malformed('not JSON');
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return this.malformed('not an object (v1 frames are arrays)');
    const m = msg as Record<string, unknown>;
    const channel = m['channel'];
    if (typeof channel === 'string') {
      if (channel === 'trade') return this.wantTrades ? this.trades(m, handler) : FrameKind.IGNORED;
      if (channel === 'ticker') return this.wantQuotes ? this.ticker(m, handler) : FrameKind.IGNORED;
      return FrameKind.IGNORED; // heartbeat, status, book, ohlc, …
    }
    const method = m['method'];
    if (method === 'pong') return FrameKind.IGNORED;
    const success = m['success'];
    if (success === true && typeof method === 'string') {
      this.ackId = reqId(m['req_id']);
      return FrameKind.ACK;
    }
    if (success === false || typeof m['error'] === 'string') {
      this.ackId = reqId(m['req_id']);
      const text = typeof m['error'] === 'string' ? venueText(m['error']) : 'request failed';
      const symbol = typeof m['symbol'] === 'string' ? ` (${venueText(m['symbol'])})` : '';
      this.error = `kraken error: ${text}${symbol}`;
      return FrameKind.ERROR;
    }
    return this.malformed('unknown frame');
  }

  /** A `trade` frame: every trade of ours is validated before any is handed over. */
  private trades(m: Record<string, unknown>, handler: FeedHandler): FrameKind {
    const data = m['data'];
    if ((m['type'] !== 'update' && m['type'] !== 'snapshot') || !Array.isArray(data)) return this.malformed('trade frame without type or data');
    if (this.times.length < data.length) this.times = new Float64Array(data.length * 2);
    let ours = 0;
    for (let i = 0; i < data.length; i++) {
      const t = data[i] as Record<string, unknown> | null;
      if (typeof t !== 'object' || t === null) return this.malformed('trade is not an object');
      if (this.index.get(t['symbol'] as string) === undefined) {
        if (typeof t['symbol'] !== 'string') return this.malformed('trade without symbol');
        continue; // not ours
      }
      const ts = typeof t['timestamp'] === 'string' ? isoToMs(t['timestamp']) : NaN;
      const side = t['side'];
      if (!positive(t['price']) || !positive(t['qty']) || (side !== 'buy' && side !== 'sell') || !isTradeId(t['trade_id']) || !isPlausibleMs(ts)) {
        return this.malformed('bad trade fields');
      }
      this.times[i] = ts;
      ours++;
    }
    if (ours === 0) return FrameKind.IGNORED;
    for (let i = 0; i < data.length; i++) {
      const t = data[i] as Record<string, unknown>;
      const symbol = this.index.get(t['symbol'] as string);
      if (symbol === undefined) continue;
      handTrade(handler, symbol, this.times[i]!, t['price'] as number, t['qty'] as number, t['side'] === 'buy' ? 1 : -1, t['trade_id'] as number);
    }
    return FrameKind.DATA;
  }

  /** A `ticker` frame: the best bid and offer. */
  private ticker(m: Record<string, unknown>, handler: FeedHandler): FrameKind {
    const data = m['data'];
    if ((m['type'] !== 'update' && m['type'] !== 'snapshot') || !Array.isArray(data)) return this.malformed('ticker frame without type or data');
    let ours = 0;
    for (const q of data as (Record<string, unknown> | null)[]) {
      if (typeof q !== 'object' || q === null) return this.malformed('ticker is not an object');
      if (this.index.get(q['symbol'] as string) === undefined) {
        if (typeof q['symbol'] !== 'string') return this.malformed('ticker without symbol');
        continue;
      }
      if (!positive(q['bid']) || !positive(q['ask']) || !nonNegative(q['bid_qty']) || !nonNegative(q['ask_qty'])) return this.malformed('bad ticker fields');
      const stamp = q['timestamp'];
      if (stamp !== undefined && (typeof stamp !== 'string' || !isPlausibleMs(isoToMs(stamp)))) return this.malformed('bad ticker timestamp');
      ours++;
    }
    if (ours === 0) return FrameKind.IGNORED;
    for (const q of data as Record<string, unknown>[]) {
      const symbol = this.index.get(q['symbol'] as string);
      if (symbol === undefined) continue;
      const stamp = q['timestamp'];
      const ts = typeof stamp === 'string' ? isoToMs(stamp) : NaN;
      handQuote(handler, symbol, ts, q['bid'] as number, q['bid_qty'] as number, q['ask'] as number, q['ask_qty'] as number);
    }
    return FrameKind.DATA;
  }

  private malformed(why: string): FrameKind {
    this.error = `kraken: ${why}`;
    return FrameKind.MALFORMED;
  }
}

/** One `/0/public/Trades` answer: its trades (validated, as given) and its `last` cursor (ns). */
async function krakenTradesPage(restUrl: string, pair: string, since: bigint): Promise<{ trades: RecoveredTrade[]; last: bigint; answer: RestAnswer }> {
  const url = `${restUrl.replace(/\/+$/, '')}/0/public/Trades?pair=${encodeURIComponent(pair)}&since=${since}&count=${KRAKEN_REST_PAGE}`;
  const answer = await restGet('kraken', url);
  if (!answer.ok) throw answerError(answer, `kraken REST ${answer.status} for Trades`);
  const body = answer.body;
  if (body === undefined) throw answerError(answer, 'kraken REST: Trades did not answer JSON');
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw answerError(answer, 'kraken REST: Trades did not answer an object');
  const b = body as Record<string, unknown>;
  const errors = b['error'];
  if (!Array.isArray(errors)) throw answerError(answer, 'kraken REST: Trades answer without an error list');
  if (errors.length > 0) throw answerError(answer, `kraken REST error: ${errors.map(String).join(', ')}`);
  const result = b['result'];
  if (typeof result !== 'object' || result === null || Array.isArray(result)) throw answerError(answer, 'kraken REST: Trades answer without result');
  const r = result as Record<string, unknown>;
  const last = r['last'];
  if (typeof last !== 'string' || !/^[0-9]{1,25}$/.test(last)) throw answerError(answer, 'kraken REST: Trades answer without a `last` cursor');
  // The trades are keyed by the pair's canonical name, which differs from the name asked for.
  const keys = Object.keys(r).filter((k) => k !== 'last');
  const list = keys.length === 1 ? r[keys[0]!] : undefined;
  if (!Array.isArray(list)) throw answerError(answer, `kraken REST: Trades answer for ${pair} does not hold one list of trades`);
  const trades = list.map((item: unknown): RecoveredTrade => {
    const t = item as unknown[];
    if (!Array.isArray(t) || t.length < 7) throw answerError(answer, 'kraken REST: malformed trade in Trades');
    const price = plainDecimal(t[0]);
    const size = plainDecimal(t[1]);
    const time = t[2];
    const side = t[3];
    const id = t[6];
    if (
      !(price > 0) ||
      !(size > 0) ||
      typeof time !== 'number' ||
      !isPlausibleMs(time * 1000) ||
      (side !== 'b' && side !== 's') ||
      typeof t[4] !== 'string' ||
      typeof t[5] !== 'string' ||
      !isTradeId(id)
    ) {
      throw answerError(answer, 'kraken REST: malformed trade in Trades');
    }
    // Seconds with µs as a float: kept to the µs, as ms with a fraction (as the WebSocket's timestamps).
    return { ts: Math.round(time * 1e6) / 1000, price, size, side: side === 'b' ? 1 : -1, id: id as number };
  });
  for (let i = 1; i < trades.length; i++) {
    if (!(trades[i]!.id > trades[i - 1]!.id)) throw answerError(answer, 'kraken REST: Trades not in trade id order');
  }
  return { trades, last: BigInt(last), answer };
}

/** A price or size as a JSON number: > 0 and below MAX_QUANTITY (./decode.ts). */
function positive(v: unknown): boolean {
  return typeof v === 'number' && v > 0 && v < MAX_QUANTITY;
}

/** A size as a JSON number: >= 0 and below MAX_QUANTITY. */
function nonNegative(v: unknown): boolean {
  return typeof v === 'number' && v >= 0 && v < MAX_QUANTITY;
}

/** The request id a response echoes; NaN when it carries none. */
function reqId(v: unknown): number {
  return typeof v === 'number' && Number.isSafeInteger(v) ? v : NaN;
}

/**
 * RFC 3339 UTC time as Kraken v2 prints it, `YYYY-MM-DDTHH:MM:SS[.f]Z` with up
 * to 9 fraction digits, as epoch ms keeping the sub-millisecond part; NaN for
 * anything else (offsets other than `Z` included). Reads the string in place.
 */
export function isoToMs(s: string): number {
  return parseRfc3339Ms(s, Rfc3339.UTC_SUB_MS);
}

// ---- Wire types (v2, from the docs; see the header) ----

/** Client → venue. */
export interface KrakenSubscribe {
  method: 'subscribe';
  params: { channel: 'trade'; symbol: string[]; snapshot?: boolean } | { channel: 'ticker'; symbol: string[]; event_trigger?: 'bbo' | 'trades'; snapshot?: boolean };
  req_id?: number;
}

/** Venue → client: one per symbol of a subscribe request. */
export interface KrakenSubscribeResponse {
  method: 'subscribe' | 'unsubscribe';
  success: boolean;
  result?: { channel: string; symbol: string; snapshot?: boolean; event_trigger?: string; warnings?: string[] };
  /** When success is false, e.g. "Currency pair not supported XBT/USD". */
  error?: string;
  symbol?: string;
  req_id?: number;
  time_in: string;
  time_out: string;
}

export interface KrakenTrade {
  symbol: string;
  /** The taker's side. */
  side: 'buy' | 'sell';
  price: number;
  qty: number;
  ord_type: 'limit' | 'market';
  trade_id: number;
  /** RFC 3339, µs. */
  timestamp: string;
}

export interface KrakenTicker {
  symbol: string;
  bid: number;
  bid_qty: number;
  ask: number;
  ask_qty: number;
  last: number;
  volume: number;
  vwap: number;
  low: number;
  high: number;
  change: number;
  change_pct: number;
  /** Present in some doc examples only. */
  timestamp?: string;
}

export interface KrakenChannelFrame<T> {
  channel: 'trade' | 'ticker';
  type: 'snapshot' | 'update';
  data: T[];
}

/** About once a second when nothing else is sent. */
export interface KrakenHeartbeat {
  channel: 'heartbeat';
}

export interface KrakenPong {
  method: 'pong';
  req_id?: number;
  time_in: string;
  time_out: string;
}

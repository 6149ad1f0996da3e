/**
 * OKX v5 public WebSocket.
 * Docs: https://www.okx.com/docs-v5/en/ (WebSocket overview; public channels `trades`, `bbo-tbt`)
 * Protocol notes and recorded frames: ../shared/fixtures/okx/protocol.md (R1–R3
 * recorded traffic, Q1–Q3 third-party quotes of the docs; no official docs were
 * available to the corpus, so every limit below is second-hand).
 *
 * - Endpoint `wss://ws.okx.com:8443/ws/v5/public` (R1).
 * - `{"op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT"},..]}`
 *   (R1), all args of a request within 64 KB (Q1). No request id is sent: the
 *   notes do not show OKX accepting one. OKX acks each arg on its own,
 *   `{"event":"subscribe","arg":{..}}` (R1); the adapter remembers which
 *   request carried each arg and reports the ACK of that request.
 * - Errors `{"event":"error","code":"..","msg":".."}` (UNVERIFIED shape; not in
 *   the recorded data) name no request: ERROR with ackId NaN.
 * - `trades`: `data[]` of {instId, tradeId, px, sz, side, ts[, count]}, all
 *   strings (R1, R2); `side` is the taker's side; `tradeId` digits, increasing
 *   per instrument (R1: 338476307, 338476308, …); `ts` epoch ms. Newer frames
 *   carry `count`, fills aggregated into the one trade (R3): trade counts can
 *   be below fill counts.
 * - Right after subscribing OKX pushes the most recent trade, which can be old
 *   (R1: 25 s). It is a real trade, so it is taken; the aggregator handles it
 *   as late or duplicate where it is.
 * - `bbo-tbt`: `data[0]` = {asks:[[px, sz, "0", orders]], bids:[..], ts} (R2);
 *   the quote is `bids[0]`/`asks[0]`; a side with no level gives no quote
 *   (IGNORED). `tickers` also carry a BBO but only on some changes: not used.
 * - Sizes are in base currency for SPOT, in contracts for FUTURES/SWAP (R2):
 *   handed on as printed.
 * - Heartbeat: OKX drops a connection with nothing pushed for 30 s, and sends
 *   no pings to rely on; the client sends the text `ping` (every 20 s here),
 *   the server answers the text `pong` (Q1) → IGNORED.
 * - `{"event":"notice","code":"64008",..}` announces a close for a service
 *   upgrade (UNVERIFIED: OKX changelog from memory, not in the notes) →
 *   SHUTDOWN, so the connection hands over before it is cut.
 *
 * Gap recovery (`tradesFrom`) over the public REST API,
 * `GET /api/v5/market/history-trades?instId=&type=1&after=<tradeId>&limit=100`
 * (UNVERIFIED second-hand: not in the notes): `type=1` pages by trade id,
 * `after` returns the trades OLDER than it, newest first, at most 100 a
 * page, as `{"code":"0","msg":"","data":[{instId, tradeId, px, sz, side, ts}]}`
 * with the same fields and meanings as the `trades` channel (`side` the
 * taker's); any other `code` is an error. See `tradesFrom` for how a
 * backward-paging API answers the forward question GapRecovery asks.
 */
import type { FeedChannel } from '../config/types.ts';
import { ErrorCode, VenueRestError } from '../errors.ts';
import { FrameKind, handQuote, handTrade, type AdapterCapabilities, type ClientHeartbeat, type ClientRequest, type ExchangeAdapter, type FeedHandler, type RecoveredTrade } from './adapter.ts';
import { MAX_QUANTITY, isPlausibleMs, venueText } from './decode.ts';
import { answerError, restGet, tradesPagedBackward } from './rest.ts';

export const okxCapabilities: AdapterCapabilities = {
  name: 'okx',
  // R1 (`connectUrl` adds `/ws/v5/public` to a bare base URL).
  defaultUrl: 'wss://ws.okx.com:8443/ws/v5/public',
  channels: ['trades', 'quotes'],
  // R1: tradeId increases by one per trade of an instrument.
  tradeIdOrder: 'increasing',
  // UNVERIFIED: OKX documents no per-connection stream limit, only 64 KB of
  // args per request (Q1). Fewer, fuller connections suit the documented
  // limits better: 3 connection requests per second per IP (Q1, Q2), and 480
  // subscribe requests per connection per hour (Q1, Q2) — here at most
  // 1000 / ARGS_PER_REQUEST = 10 per connection.
  maxStreamsPerConnection: 1000,
  // UNVERIFIED: no per-second message limit on a connection is documented; the
  // nearest figure is the 3 per second per IP above. The connection paces at 2/s.
  maxMessagesPerSecond: 3,
  // UNVERIFIED: no documented maximum connection age; rotate daily (make-before-break).
  maxConnectionAgeMs: 24 * 3600_000,
};

/** Args per subscribe request: ~60 bytes each, so ~6 KB, well within OKX's 64 KB (Q1). */
const ARGS_PER_REQUEST = 100;

/** Q1: send `ping` when nothing arrived for N < 30 s; every 20 s is simpler and still within. */
const OKX_HEARTBEAT: ClientHeartbeat = { intervalMs: 20_000, text: 'ping' };

/** The notice OKX sends before closing a connection for a service upgrade (UNVERIFIED). */
const NOTICE_SERVICE_UPGRADE = '64008';

/** Trades per REST page: history-trades' maximum `limit` (UNVERIFIED, second-hand). */
export const REST_LIMIT = 100;

/**
 * Most REST pages fetched for one gap (2 000 trades): a longer gap throws and
 * its bars are marked gapped. Also about what OKX allows: history-trades is
 * limited to 20 requests per 2 s per IP (UNVERIFIED, second-hand); pages are
 * fetched one after the other, and a 429 throws.
 */
export const REST_MAX_PAGES = 20;

/** Headers of every REST request. */
const REST_HEADERS = { accept: 'application/json' };

/** An OKX v5 public adapter for `symbols` (instIds such as `BTC-USDT`, `BTC-USDT-SWAP`). */
export class OkxAdapter implements ExchangeAdapter {
  readonly capabilities: AdapterCapabilities;
  readonly heartbeat: ClientHeartbeat | undefined = OKX_HEARTBEAT;
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
  /** instId → index. */
  private readonly index = new Map<string, number>();
  /** Args of each request, serialized once. */
  private readonly argBatches: string[] = [];
  /** `${channel} ${instId}` of each request's args, by batch. */
  private readonly argKeys: string[][] = [];
  /** `${channel} ${instId}` → id of the request that carried it on this connection. */
  private readonly requestOf = new Map<string, number>();
  private readonly wantTrades: boolean;
  private readonly wantQuotes: boolean;

  constructor(symbols: readonly string[], channels: readonly FeedChannel[], capabilities: AdapterCapabilities = okxCapabilities) {
    this.capabilities = capabilities;
    this.wantTrades = channels.includes('trades');
    this.wantQuotes = channels.includes('quotes');
    const args: { channel: string; instId: string }[] = [];
    symbols.forEach((symbol, i) => {
      const instId = symbol.toUpperCase();
      if (this.index.has(instId)) return;
      this.index.set(instId, i);
      if (this.wantTrades) args.push({ channel: 'trades', instId });
      if (this.wantQuotes) args.push({ channel: 'bbo-tbt', instId });
    });
    for (let i = 0; i < args.length; i += ARGS_PER_REQUEST) {
      const batch = args.slice(i, i + ARGS_PER_REQUEST);
      this.argBatches.push(JSON.stringify(batch));
      this.argKeys.push(batch.map((a) => `${a.channel} ${a.instId}`));
    }
  }

  connectUrl(baseUrl: string): string {
    if (baseUrl.includes('/ws/v5/')) return baseUrl;
    return `${baseUrl.replace(/\/+$/, '')}/ws/v5/public`;
  }

  subscribeRequests(nextId: () => number): ClientRequest[] {
    this.requestOf.clear();
    return this.argBatches.map((args, b) => {
      const id = nextId();
      for (const key of this.argKeys[b]!) this.requestOf.set(key, id);
      return { id, text: `{"op":"subscribe","args":${args}}` };
    });
  }

  parse(frame: string, handler: FeedHandler): FrameKind {
    if (frame === 'pong') return FrameKind.IGNORED; // the answer to our `ping`
    let msg: unknown;
    try {
      msg = JSON.parse(frame);
    } catch {
      return this.malformed('not JSON');
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return this.malformed('not an object');
    const m = msg as Record<string, unknown>;
    const arg = m['arg'] as Record<string, unknown> | null | undefined;
    const data = m['data'];
    if (data !== undefined) {
      if (typeof arg !== 'object' || arg === null || typeof arg['channel'] !== 'string' || !Array.isArray(data)) return this.malformed('push without arg or data');
      const channel = arg['channel'];
      if (channel === 'trades') return this.wantTrades ? this.trades(arg['instId'], data, handler) : FrameKind.IGNORED;
      if (channel === 'bbo-tbt') return this.wantQuotes ? this.bbo(arg['instId'], data, handler) : FrameKind.IGNORED;
      return FrameKind.IGNORED; // tickers, books, candles, trades-all, …
    }
    const event = m['event'];
    if (event === 'subscribe' || event === 'unsubscribe') {
      if (typeof arg !== 'object' || arg === null) return this.malformed(`${event} without arg`);
      const channel = arg['channel'];
      const instId = arg['instId'];
      this.ackId = typeof channel === 'string' && typeof instId === 'string' ? (this.requestOf.get(`${channel} ${instId}`) ?? NaN) : NaN;
      return FrameKind.ACK;
    }
    if (event === 'error') {
      const code = m['code'];
      const text = m['msg'];
      this.ackId = NaN;
      this.error = `okx error ${typeof code === 'string' || typeof code === 'number' ? venueText(String(code)) : '?'}: ${typeof text === 'string' ? venueText(text) : ''}`;
      return FrameKind.ERROR;
    }
    if (event === 'notice') {
      const code = m['code'];
      const text = m['msg'];
      this.error = `okx notice ${typeof code === 'string' || typeof code === 'number' ? venueText(String(code)) : '?'}: ${typeof text === 'string' ? venueText(text) : ''}`;
      return m['code'] === NOTICE_SERVICE_UPGRADE ? FrameKind.SHUTDOWN : FrameKind.IGNORED;
    }
    if (typeof event === 'string') return FrameKind.IGNORED; // login, channel-conn-count, …
    return this.malformed('unknown frame');
  }

  /** A `trades` push: every trade is validated before any is handed over. */
  private trades(instId: unknown, data: unknown[], handler: FeedHandler): FrameKind {
    const symbol = this.index.get(instId as string);
    if (symbol === undefined) return typeof instId === 'string' ? FrameKind.IGNORED : this.malformed('trades without instId');
    if (data.length === 0) return FrameKind.IGNORED;
    for (const t of data as (Record<string, unknown> | null)[]) {
      if (typeof t !== 'object' || t === null) return this.malformed('trade is not an object');
      const side = t['side'];
      if (
        (t['instId'] !== undefined && t['instId'] !== instId) ||
        !(decimal(t['px']) > 0) ||
        !(decimal(t['sz']) > 0) ||
        (side !== 'buy' && side !== 'sell') ||
        !(integer(t['tradeId']) >= 0) ||
        !isPlausibleMs(integer(t['ts']))
      ) {
        return this.malformed('bad trade fields');
      }
    }
    for (const t of data as Record<string, unknown>[]) {
      handTrade(handler, symbol, integer(t['ts']), decimal(t['px']), decimal(t['sz']), t['side'] === 'buy' ? 1 : -1, integer(t['tradeId']));
    }
    return FrameKind.DATA;
  }

  /** A `bbo-tbt` push: the best level of each side. */
  private bbo(instId: unknown, data: unknown[], handler: FeedHandler): FrameKind {
    const symbol = this.index.get(instId as string);
    if (symbol === undefined) return typeof instId === 'string' ? FrameKind.IGNORED : this.malformed('bbo-tbt without instId');
    const d = data[0] as Record<string, unknown> | null | undefined;
    if (data.length !== 1 || typeof d !== 'object' || d === null) return this.malformed('bbo-tbt data is not one object');
    const bids = d['bids'];
    const asks = d['asks'];
    const ts = integer(d['ts']);
    if (!Array.isArray(bids) || !Array.isArray(asks) || !isPlausibleMs(ts)) return this.malformed('bad bbo-tbt fields');
    if (bids.length === 0 || asks.length === 0) return FrameKind.IGNORED; // one-sided book: no quote
    const bid = bids[0] as unknown[];
    const ask = asks[0] as unknown[];
    if (!Array.isArray(bid) || !Array.isArray(ask)) return this.malformed('bbo-tbt level is not an array');
    const bidPrice = decimal(bid[0]);
    const bidSize = decimal(bid[1]);
    const askPrice = decimal(ask[0]);
    const askSize = decimal(ask[1]);
    if (!(bidPrice > 0) || !(askPrice > 0) || !(bidSize >= 0) || !(askSize >= 0)) return this.malformed('bad bbo-tbt level');
    handQuote(handler, symbol, ts, bidPrice, bidSize, askPrice, askSize);
    return FrameKind.DATA;
  }

  /**
   * Every trade of `symbol` with tradeId ≥ `fromId`, oldest first, from the
   * public REST API. history-trades pages backward only (`after=<tradeId>`
   * gives the trades older than it, newest first), so this pages from the
   * newest trade (no cursor) back until a page reaches an id below `fromId`,
   * or an empty page says the venue's history (about three months) ends; the
   * trades ≥ `fromId` are kept. The answer therefore runs up to the newest
   * trade, possibly beyond the live ones held (the aggregator drops those by
   * id). A gap that needs more than REST_MAX_PAGES pages throws, as does an
   * error status or `code`, a malformed trade or a page that did not move
   * back past its cursor. `fromTs` is not needed: trade ids are ordered.
   */
  async tradesFrom(restUrl: string, symbol: string, fromId: number, _fromTs: number): Promise<RecoveredTrade[]> {
    if (!Number.isSafeInteger(fromId)) throw new VenueRestError('okx', `okx REST: bad trade id to recover from: ${fromId}`, { code: ErrorCode.INVALID_PARAMETER });
    const instId = symbol.toUpperCase();
    const base = `${restUrl.replace(/\/+$/, '')}/api/v5/market/history-trades?instId=${encodeURIComponent(instId)}&type=1`;
    return tradesPagedBackward(fromId, {
      venue: 'okx',
      endpoint: 'history-trades',
      limit: REST_LIMIT,
      maxPages: REST_MAX_PAGES,
      async page(cursor) {
        const url = cursor === cursor ? `${base}&after=${cursor}&limit=${REST_LIMIT}` : `${base}&limit=${REST_LIMIT}`;
        const answer = await restGet('okx', url, { headers: REST_HEADERS });
        const parsed = answer.body;
        const body = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Partial<OkxRestAnswer>) : undefined;
        if (!answer.ok) throw answerError(answer, `okx REST ${answer.status} for history-trades${body === undefined ? '' : restError(body)}`);
        if (body === undefined) throw answerError(answer, 'okx REST: history-trades did not answer a JSON object');
        if (body.code !== '0') throw answerError(answer, `okx REST: history-trades failed${restError(body)}`);
        const data = body.data;
        if (!Array.isArray(data)) throw answerError(answer, 'okx REST: history-trades answered no data list');
        return { answer, items: data };
      },
      trade: (item) => restTrade(item, instId),
    });
  }

  private malformed(why: string): FrameKind {
    this.error = `okx: ${why}`;
    return FrameKind.MALFORMED;
  }
}

/**
 * An OKX decimal string ("30247.5", "0.00135203") of fewer than 40
 * characters as a number below MAX_QUANTITY (./decode.ts); NaN for
 * anything else: no sign, exponent, blanks or bare dot, which `Number`
 * would accept.
 */
function decimal(v: unknown): number {
  if (typeof v !== 'string' || v.length === 0 || v.length >= 40) return NaN;
  let dot = -1;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 46 /* . */ && dot < 0 && i > 0 && i < v.length - 1) dot = i;
    else if (c < 48 || c > 57) return NaN;
  }
  const n = Number(v);
  return n < MAX_QUANTITY ? n : NaN; // 39 nines round up to 1e39
}

/** One history-trades item as a trade; undefined when any field is off or it names another instrument. */
function restTrade(item: unknown, instId: string): RecoveredTrade | undefined {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return undefined;
  const t = item as Record<string, unknown>;
  const id = integer(t['tradeId']);
  const ts = integer(t['ts']);
  const price = decimal(t['px']);
  const size = decimal(t['sz']);
  const side = t['side'] === 'buy' ? 1 : t['side'] === 'sell' ? -1 : 0; // the taker's
  if ((t['instId'] !== undefined && t['instId'] !== instId) || !(id >= 0) || !isPlausibleMs(ts) || !(price > 0) || !(size > 0) || side === 0) return undefined;
  return { ts, price, size, side, id };
}

/** ` (code C: msg)` of a REST answer, as far as it has them. */
function restError(body: Partial<OkxRestAnswer>): string {
  const code = typeof body.code === 'string' || typeof body.code === 'number' ? String(body.code) : '?';
  const msg = typeof body.msg === 'string' && body.msg !== '' ? `: ${body.msg.slice(0, 200)}` : '';
  return ` (code ${code}${msg})`;
}

/** A string of digits (ms time, trade id) as a number; NaN unless it is a safe integer. */
function integer(v: unknown): number {
  if (typeof v !== 'string' || v.length === 0 || v.length > 16) return NaN;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return NaN;
  }
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : NaN;
}

// ---- Wire types (R1–R3; the error and notice shapes are UNVERIFIED) ----

export interface OkxArg {
  channel: string;
  instId: string;
}

/** Client → venue. */
export interface OkxSubscribe {
  op: 'subscribe' | 'unsubscribe';
  args: OkxArg[];
}

/** Venue → client, one per arg of a request. */
export interface OkxSubscribeAck {
  event: 'subscribe' | 'unsubscribe';
  arg: OkxArg;
  connId?: string;
}

export interface OkxError {
  event: 'error';
  code: string;
  msg: string;
  connId?: string;
}

export interface OkxNotice {
  event: 'notice';
  code: string;
  msg: string;
  connId?: string;
}

export interface OkxPush<T> {
  arg: OkxArg;
  data: T[];
}

export interface OkxTrade {
  instId: string;
  tradeId: string;
  px: string;
  /** Base currency on SPOT, contracts on FUTURES/SWAP. */
  sz: string;
  /** The taker's side. */
  side: 'buy' | 'sell';
  /** Epoch ms. */
  ts: string;
  /** Fills aggregated into this trade (frames since ~2023). */
  count?: string;
}

/** REST `GET /api/v5/market/history-trades` (UNVERIFIED shape, second-hand). */
export interface OkxRestAnswer {
  /** "0" on success, the error code otherwise. */
  code: string;
  msg: string;
  data: (OkxTrade & { source?: string })[];
}

/** [price, size, deprecated "0", number of orders]. */
export type OkxLevel = [string, string, string, string];

export interface OkxBbo {
  asks: OkxLevel[];
  bids: OkxLevel[];
  ts: string;
  seqId?: number;
}

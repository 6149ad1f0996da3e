/**
 * Bitstamp WebSocket API v2.
 * Docs: https://www.bitstamp.net/websocket/v2/
 * Protocol notes and recorded frames: ../shared/fixtures/bitstamp/protocol.md
 * ((R1) the 2022 recording; (C1)–(C3) code and doc quotes). Where a fact
 * comes from neither, it is marked UNVERIFIED with its third-party source.
 *
 * - One channel per subscribe message:
 *   `{"event":"bts:subscribe","data":{"channel":"live_trades_btcusd"}}` (R1),
 *   channel names lower case. Acked per channel with
 *   `{"event":"bts:subscription_succeeded","channel":"live_trades_btcusd","data":{}}`
 *   (R1); the ack names the channel, so it is matched to the request that
 *   subscribed that channel.
 * - Trades (`event":"trade"` on `live_trades_<pair>`): `price_str` and
 *   `amount_str` are decimal strings (`price`/`amount` are JSON floats that
 *   can print as 3651.3000000000002, so they are not read); `type` is the
 *   taker side, 0 = buy → +1, 1 = sell → -1 (C1, crypto-msg-parser);
 *   `microtimestamp` is epoch µs as a string, truncated here to ms (R1 values
 *   end in 000 anyway); `id` is an integer increasing per pair (R1), so
 *   tradeIdOrder is 'increasing'.
 * - Quotes: none. No best bid/offer channel was recorded (protocol.md: bid
 *   and ask would have to come from `order_book_<pair>` snapshots, which were
 *   not collected), so the adapter offers 'trades' only.
 * - Keepalive: the client sends `{"event":"bts:heartbeat"}` (C2, every 10 s)
 *   and the server answers `{"event":"bts:heartbeat","channel":"","data":{"status":"success"}}`
 *   (reply shape UNVERIFIED: third-party README and probe report, not in the
 *   fixtures). The answers keep quiet connections from being judged stale.
 * - `bts:request_reconnect` (data "", {} or null in third-party sources):
 *   the server will close soon, so SHUTDOWN: FeedConnection hands over to a
 *   new connection, make before break.
 * - `bts:error` `{"event":"bts:error","channel":"","data":{"code":null,"message":"..."}}`
 *   (UNVERIFIED shape: third-party README; messages "Incorrect JSON format.",
 *   "Bad subscription string.", "Invalid channel provided.", code null or
 *   4009 per a third-party probe report). The channel is usually empty, so
 *   the failed request is rarely known: ackId is NaN then.
 *
 * Capabilities:
 * - maxStreamsPerConnection 100: UNVERIFIED. Not in the fixtures; a
 *   third-party probe report quotes the docs as 1,024 channels per
 *   connection, a 1,025th closing the connection silently. 100 stays far
 *   below and keeps a (paced) subscribe round short.
 * - maxMessagesPerSecond 10: UNVERIFIED — no limit is published. R1 sent 20
 *   subscribes within 2 ms and all were acked, so 10/s is conservative.
 * - maxConnectionAgeMs 24 days: Bitstamp disconnects after 90 days (C3), but
 *   FeedConnection arms its rotation timer with setTimeout, which fires after
 *   1 ms for delays above 2^31-1 ms (~24.8 days): declaring 90 days would
 *   make it rotate continuously. 24 days is the largest safe whole number.
 *
 * Gap recovery (`tradesFrom`): the public REST API serves no trades by id or
 * from a time, only `GET /api/v2/transactions/{pair}/?time=minute|hour|day`,
 * every trade of the last minute, hour or day, newest first, each
 * `{date, tid, price, amount, type}` (decimal strings; `date` epoch seconds;
 * `type` the taker side, 0 buy / 1 sell, as on the WebSocket; `tid` the same
 * id as the WebSocket's `id`). So one request covers the whole gap or
 * nothing: the smallest window that reaches back to the last trade seen is
 * asked for, and a gap older than a day cannot be filled.
 */
import type { FeedChannel } from '../config/types.ts';
import { ErrorCode, VenueRestError } from '../errors.ts';
import {
  FrameKind,
  handTrade,
  type AdapterCapabilities,
  type ClientHeartbeat,
  type ClientRequest,
  type ExchangeAdapter,
  type FeedHandler,
  type RecoveredTrade,
} from './adapter.ts';
import { decimalWithExponent, isPlausibleMs, venueText } from './decode.ts';
import { answerError, restGet } from './rest.ts';

export const bitstampCapabilities: AdapterCapabilities = {
  name: 'bitstamp',
  defaultUrl: 'wss://ws.bitstamp.net', // (R1, C2)
  channels: ['trades'], // no BBO channel in the recordings, see above
  tradeIdOrder: 'increasing', // (R1)
  maxStreamsPerConnection: 100, // UNVERIFIED, see above
  maxMessagesPerSecond: 10, // UNVERIFIED, see above
  maxConnectionAgeMs: 24 * 24 * 3600_000, // 90 days (C3), capped by Node's timer range
};

/** The client heartbeat (C2). */
export const BITSTAMP_HEARTBEAT_TEXT = '{"event":"bts:heartbeat"}';
/** How often it is sent, ms (C2 sends every 10 s). */
const HEARTBEAT_INTERVAL_MS = 10_000;

const TRADES_PREFIX = 'live_trades_';

/** The windows `/api/v2/transactions/{pair}/` serves (`time=`), shortest first, with their length in ms. */
export const BITSTAMP_TRANSACTION_WINDOWS: readonly (readonly ['minute' | 'hour' | 'day', number])[] = [
  ['minute', 60_000],
  ['hour', 3_600_000],
  ['day', 86_400_000],
];

/**
 * How much of a window is kept in reserve when choosing it, ms: the venue's
 * "last minute" is counted on its clock when it answers, which may run ahead
 * of ours by the clock offset plus the request's latency.
 */
export const BITSTAMP_WINDOW_MARGIN_MS = 15_000;

export interface BitstampOptions {
  /** Client heartbeat period, ms (default 10 000; tests shorten it). */
  heartbeatIntervalMs?: number;
  /** The clock `tradesFrom` measures the gap with, epoch ms (default Date.now; tests fix it). */
  now?: () => number;
}

/** A Bitstamp adapter for `symbols` (pairs such as `btcusd`, any case). */
export class BitstampAdapter implements ExchangeAdapter {
  readonly capabilities: AdapterCapabilities = bitstampCapabilities;
  readonly heartbeat: ClientHeartbeat;
  /**
   * No page size: `tradesFrom` answers the whole gap in one request (every
   * trade of a window), and a window is not a page that can be continued.
   * A value no answer reaches makes GapRecovery stop after that one call.
   */
  readonly restPageSize = Number.MAX_SAFE_INTEGER;
  ackId = NaN;
  error = '';
  /** Trade channel (`live_trades_btcusd`) → index into `symbols`. */
  private readonly tradeChannels = new Map<string, number>();
  /** The channels to subscribe, in order. */
  private readonly channelNames: string[] = [];
  /** Channel → id of the request that subscribed it on the current connection. */
  private requestIds = new Map<string, number>();
  private readonly now: () => number;

  constructor(symbols: readonly string[], channels: readonly FeedChannel[], options: BitstampOptions = {}) {
    this.heartbeat = { intervalMs: options.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS, text: BITSTAMP_HEARTBEAT_TEXT };
    this.now = options.now ?? Date.now;
    // 'quotes' has no Bitstamp channel here (capabilities say so; the config refuses it).
    if (!channels.includes('trades')) return;
    symbols.forEach((symbol, i) => {
      const channel = TRADES_PREFIX + symbol.toLowerCase();
      if (this.tradeChannels.has(channel)) return; // the same pair twice: the first index gets it
      this.tradeChannels.set(channel, i);
      this.channelNames.push(channel);
    });
  }

  connectUrl(baseUrl: string): string {
    return baseUrl;
  }

  subscribeRequests(nextId: () => number): ClientRequest[] {
    this.requestIds = new Map();
    return this.channelNames.map((channel) => {
      const id = nextId();
      this.requestIds.set(channel, id);
      const request: WireSubscribe = { event: 'bts:subscribe', data: { channel } };
      return { id, text: JSON.stringify(request) };
    });
  }

  /**
   * One frame, validated field by field through JSON.parse. Measured choice:
   * a FrameScanner fast path like Binance's was tried for `trade` frames and
   * gave ~10 % (1.95 µs against 2.1 µs per frame: the float `amount`/`price`
   * and the 16-digit order ids still have to be stepped over and checked), so
   * it is not kept.
   */
  parse(frame: string, handler: FeedHandler): FrameKind {
    let msg: unknown;
    try {
      msg = JSON.parse(frame);
    } catch {
      return this.malformed('not JSON');
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return this.malformed('not an object');
    const m = msg as Partial<WireEnvelope>;
    const channel = m.channel;
    switch (m.event) {
      case 'trade':
        return this.trade(channel, m.data, handler);
      case 'bts:subscription_succeeded':
        if (typeof channel !== 'string') return this.malformed('ack without channel');
        this.ackId = this.requestIds.get(channel) ?? NaN;
        return FrameKind.ACK;
      case 'bts:request_reconnect':
        return FrameKind.SHUTDOWN;
      case 'bts:error': {
        const data = (typeof m.data === 'object' && m.data !== null ? m.data : {}) as Partial<WireErrorData>;
        this.ackId = typeof channel === 'string' ? (this.requestIds.get(channel) ?? NaN) : NaN;
        const code = typeof data.code === 'number' || typeof data.code === 'string' ? ` ${venueText(String(data.code))}` : '';
        this.error = `bitstamp error${code}: ${typeof data.message === 'string' ? venueText(data.message) : 'no message'}`;
        return FrameKind.ERROR;
      }
      default:
        // bts:heartbeat replies, bts:unsubscription_succeeded, order book `data`, live orders, ...
        return typeof m.event === 'string' ? FrameKind.IGNORED : this.malformed('no event');
    }
  }

  /**
   * Gap recovery: every trade of `symbol` with tid >= `fromId`, oldest first,
   * from the smallest transactions window that reaches back to `fromTs` (the
   * last trade seen) with `BITSTAMP_WINDOW_MARGIN_MS` to spare. Throws when
   * the gap is older than the longest window (a day). Times are the venue's
   * whole seconds (`date`): the REST API gives no finer time.
   */
  async tradesFrom(restUrl: string, symbol: string, fromId: number, fromTs: number): Promise<RecoveredTrade[]> {
    if (!Number.isFinite(fromTs) || !Number.isSafeInteger(fromId)) {
      throw new VenueRestError('bitstamp', 'bitstamp REST: no last trade to recover from', { code: ErrorCode.INVALID_PARAMETER });
    }
    const elapsed = this.now() - fromTs;
    const window = BITSTAMP_TRANSACTION_WINDOWS.find(([, ms]) => elapsed + BITSTAMP_WINDOW_MARGIN_MS <= ms);
    if (window === undefined) {
      throw new VenueRestError('bitstamp', `bitstamp REST: the gap began ${Math.round(elapsed / 60_000)} min ago, before the last day of transactions the venue serves`);
    }
    const pair = symbol.toLowerCase();
    const url = `${restUrl.replace(/\/+$/, '')}/api/v2/transactions/${encodeURIComponent(pair)}/?time=${window[0]}`;
    const answer = await restGet('bitstamp', url);
    const body = answer.body;
    if (body === undefined) {
      if (!answer.ok) throw answerError(answer, `bitstamp REST ${answer.status} for transactions`);
      throw answerError(answer, 'bitstamp REST: transactions did not answer JSON');
    }
    if (!answer.ok || !Array.isArray(body)) {
      // Errors: `{"status":"error","reason":<text or {field: [text]}>,"code":"API0001"}`.
      const e = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
      const code = typeof e['code'] === 'string' || typeof e['code'] === 'number' ? String(e['code']) : '';
      const text = e['reason'] ?? e['message'];
      const reason = text === undefined ? '' : `: ${typeof text === 'string' ? text : JSON.stringify(text)}`;
      if (!answer.ok) throw answerError(answer, `bitstamp REST ${answer.status}${code === '' ? '' : ` (${code})`} for transactions${reason}`);
      if (e['status'] === 'error' || code !== '' || reason !== '') throw answerError(answer, `bitstamp REST error${code === '' ? '' : ` ${code}`}${reason}`);
      throw answerError(answer, 'bitstamp REST: transactions did not answer a list');
    }
    const trades: RecoveredTrade[] = [];
    for (const item of body as unknown[]) {
      const t = (typeof item === 'object' && item !== null ? item : {}) as Partial<WireTransaction>;
      const id = integer(t.tid);
      const seconds = integer(t.date);
      const price = decimalWithExponent(t.price);
      const size = decimalWithExponent(t.amount);
      const type = integer(t.type);
      if (typeof item !== 'object' || item === null || !(id >= 0) || !isPlausibleMs(seconds * 1000) || !(price > 0) || !(size > 0) || (type !== 0 && type !== 1)) {
        throw answerError(answer, 'bitstamp REST: malformed trade in transactions');
      }
      if (id >= fromId) trades.push({ ts: seconds * 1000, price, size, side: type === 0 ? 1 : -1, id });
    }
    return trades.sort((a, b) => a.id - b.id); // tids increase with time; the venue lists newest first
  }

  private trade(channel: unknown, data: unknown, handler: FeedHandler): FrameKind {
    if (typeof channel !== 'string') return this.malformed('trade without channel');
    const symbol = this.tradeChannels.get(channel);
    if (symbol === undefined) return FrameKind.IGNORED;
    if (typeof data !== 'object' || data === null) return this.malformed('trade without data');
    const d = data as Partial<WireTrade>;
    const id = d.id;
    const price = decimalWithExponent(d.price_str);
    const size = decimalWithExponent(d.amount_str);
    const us = digitString(d.microtimestamp);
    const side = d.type === 0 ? 1 : d.type === 1 ? -1 : 0;
    const ts = Math.floor(us / 1000);
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0 || !(price > 0) || !(size > 0) || !isPlausibleMs(ts) || side === 0) {
      return this.malformed('bad trade fields');
    }
    handTrade(handler, symbol, ts, price, size, side, id);
    return FrameKind.DATA;
  }

  private malformed(why: string): FrameKind {
    this.error = `bitstamp: ${why}`;
    return FrameKind.MALFORMED;
  }
}

/** A non-negative integer given as a JSON number or as a string of 1 to 16 digits; NaN otherwise. */
function integer(v: unknown): number {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : NaN;
  return digitString(v);
}

/** A string of 1 to 16 digits (exact in float64) as a number; NaN otherwise. */
function digitString(v: unknown): number {
  if (typeof v !== 'string' || v.length === 0 || v.length > 16) return NaN;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const d = v.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return NaN;
    n = n * 10 + d;
  }
  return n;
}

// ───────────────────────────────────────────────────────────── wire types

/** Client → Bitstamp: one channel per message. */
export interface WireSubscribe {
  event: 'bts:subscribe' | 'bts:unsubscribe';
  data: { channel: string };
}

/** Every server frame. */
export interface WireEnvelope {
  event: string;
  channel: string;
  data: unknown;
}

/** `data` of a `trade` event on `live_trades_<pair>`. */
export interface WireTrade {
  id: number;
  /** Epoch seconds, as a string. */
  timestamp: string;
  /** JSON float: not read (use amount_str). */
  amount: number;
  amount_str: string;
  /** JSON float: not read (use price_str). */
  price: number;
  price_str: string;
  /** Taker side: 0 buy, 1 sell. */
  type: 0 | 1;
  /** Epoch µs, as a string. */
  microtimestamp: string;
  buy_order_id: number;
  sell_order_id: number;
}

/** One item of `GET /api/v2/transactions/{pair}/` (all strings in the docs' schema). */
export interface WireTransaction {
  /** Epoch seconds. */
  date: string;
  /** Trade id (the WebSocket's `id`). */
  tid: string;
  price: string;
  amount: string;
  /** Taker side: "0" buy, "1" sell. */
  type: string;
}

/** `data` of `bts:error`. */
export interface WireErrorData {
  code: number | null;
  message: string;
}

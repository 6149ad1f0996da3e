/**
 * `/v1/stream`: the WebSocket protocol (ARCHITECTURE.md, "WebSocket /v1/stream";
 * README "WebSocket").
 *
 * Contract
 *  - Client ops are JSON text frames: `subscribe` (channels, wildcards, an
 *    optional bars `snapshot` of 1..1000, an optional `since` map to resume,
 *    an optional `epoch`), `unsubscribe`, `ping`. A message with any bad part
 *    is rejected whole (the first bad channel names the error), answered with
 *    `{"type":"error","id","code","message"}`, counted by code, and the
 *    connection stays usable.
 *  - Server messages are JSON text, or FlatBuffers binary frames
 *    (src/wire/fbs.ts) for a connection that asked with `?format=fbs` or the
 *    `tickwire.fbs` subprotocol. Each message is encoded once per format, and
 *    only in the formats its channel has subscribers in (or records history
 *    in); JSON and binary subscribers are on different uWS topics.
 *  - Channels (channels.ts) exist for everything the library serves, from the
 *    server's start; each channel's `seq` counts every message since then,
 *    subscribed or not, so seqs have no holes unless a `gap` says so, and
 *    `since` is exact. `subscribed` carries the server's `epoch` (random per
 *    process): seqs of another epoch mean nothing here.
 *  - Wildcards (`trades:binance:*`, `bars:*:BTCUSDT:1m`) expand over the
 *    known channels, filtered by what the principal may read; a channel that
 *    appears later and matches is joined and announced with
 *    `{"type":"subscribed","id":null,"channels":[it],"epoch"}`.
 *  - Snapshots and replays are sent inside the subscribe handler: the event
 *    loop is single-threaded, so nothing is published between the snapshot's
 *    (or replay's) last seq and the first live message.
 *  - Resume: `since: {channel: seq}` replays seq+1.. from the channel's
 *    history (history.ts); what history no longer holds is announced first
 *    with `gap` reason `history`. History is recorded while a channel has
 *    subscribers and for `resumeLingerS` after the last one left (so a
 *    client that reconnects finds it); a replay larger than the half of
 *    `maxBackpressure` reserved for replies is cut at its oldest end (`gap`
 *    reason `slow_consumer`). `since` on a channel skips its snapshot; with an
 *    `epoch` other than this server's, every `since` counts as 0.
 *  - Slow consumers (backpressure.ts measures, this decides). A connection
 *    whose buffer would pass 3/8 of `maxBackpressure` is *conflating*: its
 *    quotes and bars channels leave their topics (trades and rooms keep
 *    flowing). Past 1/2, the policy: `gap` pauses everything, `disconnect`
 *    closes with 1013 "slow consumer". When its buffer has drained below 1/8
 *    (a `drain`, or the once-a-second sweep) it catches up, per channel that
 *    advanced: trades get one `gap` (skip ahead, never conflated); quotes get
 *    a `gap` for the superseded ones and the latest quote; bars get their
 *    closed bars and the latest bar from history with `gap`s for the
 *    superseded forming updates; rooms get everything history holds. The
 *    other half of the limit is for direct replies to a paused client; a
 *    direct send uWS drops anyway (past the whole limit) closes it (1013).
 *  - Limits: `maxChannelsPerConnection` concrete channels; client messages up
 *    to `maxMessageBytes` (larger ones are answered INVALID_PARAMETER, over
 *    twice that uWS closes the connection, 1006); `subscribeRate` subscribe
 *    and unsubscribe requests per connection (RATE_LIMITED); `idleTimeoutS`
 *    without any frame from the client (uWS pings it first, a pong counts).
 *  - Auth: the `authenticate` hook runs at the upgrade (401 with the JSON
 *    error body on failure); the principal must allow every concrete channel
 *    subscribed (UNAUTHORIZED); wildcards expand only over allowed channels.
 *  - A uWS socket is invalid after close (methods throw): every path checks
 *    `conn.closed` before touching it.
 *
 * Hot path (a library event): two or three Map lookups and a seq bump; for a
 * channel with subscribers, the budget check (a heap peek), one string
 * concatenation from the channel's prepared prefix and/or one FlatBuffers
 * encode into a reused buffer, one `app.publish` per format, and a history
 * slot write (a copy of the binary form only when binary is recorded).
 */
import { randomBytes } from 'node:crypto';
import uWS from 'uWebSockets.js';
import type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, WebSocketBehavior, us_socket_context_t } from 'uWebSockets.js';
import type { Tickwire } from '../api/types.ts';
import type { BarUpdate, QuoteEvent, TradeEvent } from '../model/events.ts';
import type { ExchangeStatus } from '../model/status.ts';
import type { StreamConfig } from '../config/types.ts';
import { ErrorCode, InvalidParameterError, showValue, TickwireError } from '../errors.ts';
import type { WildcardPattern } from '../wire/channels.ts';
import { FbsEncoder } from '../wire/fbs.ts';
import { FBS_SUBPROTOCOL, JSON_SUBPROTOCOL, MAX_CHANNELS_PER_MESSAGE, MAX_SNAPSHOT } from '../wire/protocol.ts';
import { AuthFailure, UnauthorizedError } from './auth.ts';
import { SendBudget, TOPIC_TREE_PENDING, type BudgetSlot } from './backpressure.ts';
import { ChannelIndex, ENCODE_FBS, ENCODE_JSON, type Channel } from './channels.ts';
import { ChannelHistory, WireFormat } from './history.ts';
import { parseQuery, statusOfCode, v1ErrorBody, writeResponse } from './http-util.ts';
import {
  BarTextVisitor,
  barJson,
  barMessage,
  errorMessage,
  gapMessage,
  pongMessage,
  quoteMessage,
  snapshotHead,
  subscribedMessage,
  tradeMessage,
  unsubscribedMessage,
} from '../wire/json.ts';
import type { ServerMetrics } from './metrics.ts';
import { ANONYMOUS, type Authenticate, type AuthRequest, type Principal } from './principal.ts';
import { TokenBucket } from './rate-limit.ts';
import { alertMessage, makeAlert, SystemStates, systemMessage, type Alert, type SystemState } from './rooms.ts';

/** Longest `epoch` a subscribe may carry (ours are 16 hex characters). */
const MAX_EPOCH_LENGTH = 64;
const CLOSE_GOING_AWAY = 1001;
const CLOSE_TRY_AGAIN_LATER = 1013;
/** `WebSocket.send` result: dropped, the socket was past maxBackpressure. */
const SEND_DROPPED = 2;
/** Largest server-to-client WebSocket frame header, bytes. */
const WS_FRAME_HEADER = 10;
const OPS = 'expected subscribe, unsubscribe or ping';
/** Close reasons uWS (the pinned build) gives for the closes it makes itself (code 1006). */
const UWS_TOO_BIG = 'Received too big message';
const UWS_IDLE = 'WebSocket timed out from inactivity';
/** How often history lingering and stuck paused connections are looked at, ms. */
const SWEEP_MS = 1000;
/**
 * A topic every connection holds and nothing is published to. uWS frees a
 * socket's subscriber state when it leaves its last topic and drops the
 * messages still queued for it there (measured): holding this one keeps
 * messages published before a pause or an unsubscribe on their way.
 */
const HOLD_TOPIC = '\u0000tickwire:hold';

/** What `createServer` hands the stream. */
export interface StreamOptions {
  /** The `stream:` section, validated (createServer merges its overrides into the config's). */
  config: StreamConfig;
  onError: (err: unknown, where: string) => void;
  /** Credentials → principal at the upgrade; throws UNAUTHORIZED. Default: everyone is ANONYMOUS (allowed everything). */
  authenticate?: Authenticate;
}

/** A connection's slow-consumer state. */
const ConnState = {
  /** Every channel on its topic. */
  NORMAL: 0,
  /** Quotes and bars off their topics (conflated to the latest on catch-up); trades and rooms flowing. */
  CONFLATING: 1,
  /** Everything off its topics (policy `gap`). */
  PAUSED: 2,
} as const;
type ConnState = (typeof ConnState)[keyof typeof ConnState];

/** Per-connection state: the uWS user data (uWS.js hands back the socket object itself, with these fields). */
interface Conn extends BudgetSlot {
  closed: boolean;
  ws: WebSocket<Conn> | null;
  /** FlatBuffers binary frames instead of JSON text. */
  binary: boolean;
  principal: Principal;
  state: ConnState;
  /** Subscribed channels → the last seq delivered or announced when the channel left its topic (read on catch-up). */
  channels: Map<Channel, number>;
  /** Wildcards subscribed: channels created later that match are joined. */
  patterns: WildcardPattern[];
  /** Subscribe and unsubscribe requests. */
  bucket: TokenBucket;
  /** Budget limit now (conflate threshold, or the policy threshold while conflating): see #normalLimit. */
  limit: number;
  /** Largest message its market channels can publish (the budget's allowance for uWS's per-subscriber queue). */
  largest: number;
}

type Id = number | string | null;

function invalid(message: string): TickwireError {
  return new TickwireError(ErrorCode.INVALID_PARAMETER, message);
}

/** A client's value for an error message: bounded, and safe for any input (deep nesting included). */
function describe(v: unknown): string {
  return showValue(v);
}

function readId(v: unknown): Id {
  if (v === undefined || v === null) return null;
  if ((typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && v.length <= 256)) return v;
  throw invalid(`invalid id: got ${describe(v)}, expected a number or a string of at most 256 characters`);
}

function readSnapshot(v: unknown): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_SNAPSHOT) return v;
  throw new InvalidParameterError('snapshot', v, `an integer from 1 to ${MAX_SNAPSHOT}`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Quotes and bars may be conflated to their latest value; trades and rooms never. */
function conflatable(ch: Channel): boolean {
  return ch.kind === 'quotes' || ch.kind === 'bars';
}

const DECODER = new TextDecoder('utf-8', { fatal: true });

/** The `/v1/stream` WebSocket behaviour (for `app.ws`) and the publisher of the library's events to it; see the module comment. */
export class StreamServer {
  readonly behavior: WebSocketBehavior<Conn>;
  /** Random id of this server's life; seqs restart with a new one. */
  readonly epoch = randomBytes(8).toString('hex');
  readonly #app: TemplatedApp;
  readonly #tw: Tickwire;
  readonly #metrics: ServerMetrics;
  readonly #cfg: StreamConfig;
  readonly #onError: StreamOptions['onError'];
  readonly #authenticate: Authenticate;
  readonly #budget: SendBudget<Conn>;
  /** Budget limits: conflate quotes and bars past this… */
  readonly #conflateLimit: number;
  /** …apply the slow-consumer policy past this… */
  readonly #liveLimit: number;
  /** …catch up once the buffer is below this. */
  readonly #resumeBelow: number;
  readonly #fbs = new FbsEncoder();
  readonly #channels: ChannelIndex;
  readonly #system: SystemStates;
  readonly #conns = new Set<Conn>();
  /** Connections conflating or paused (the sweep resumes one whose drain never came). */
  readonly #behind = new Set<Conn>();
  /** Channels recording history (the sweep ends a linger; the metrics sum their bytes). */
  readonly #recording = new Set<Channel>();
  readonly #snapshotVisitor = new BarTextVisitor(barJson);
  readonly #sweepTimer: NodeJS.Timeout;
  #subscriptions = 0;
  #off: (() => void)[];
  #closing = false;
  /** Channels created from now on are matched against connections' wildcards. */
  #started = false;

  constructor(app: TemplatedApp, tickwire: Tickwire, metrics: ServerMetrics, options: StreamOptions) {
    const cfg = options.config;
    this.#app = app;
    this.#tw = tickwire;
    this.#metrics = metrics;
    this.#cfg = cfg;
    this.#onError = options.onError;
    this.#authenticate = options.authenticate ?? (() => ANONYMOUS);
    this.#liveLimit = Math.floor(cfg.maxBackpressure / 2);
    this.#conflateLimit = Math.floor((cfg.maxBackpressure * 3) / 8);
    this.#resumeBelow = Math.floor(cfg.maxBackpressure / 8);
    this.#budget = new SendBudget<Conn>(
      this.#conflateLimit,
      (c) => c.ws!.getBufferedAmount(),
      (c) => this.#congested(c),
    );
    this.#channels = new ChannelIndex(tickwire, (ch) => this.#created(ch));
    this.#system = new SystemStates(Object.values(tickwire.status().exchanges), Date.now());
    this.#started = true;
    this.behavior = {
      // ── options ──
      compression: uWS.DISABLED,
      // Twice the limit: a message up to there is answered INVALID_PARAMETER; past it uWS closes the connection.
      maxPayloadLength: cfg.maxMessageBytes * 2,
      maxBackpressure: cfg.maxBackpressure,
      // Typed as a number in this build's declarations; 0 is false: drop (we pause first), never close.
      closeOnBackpressureLimit: 0,
      idleTimeout: cfg.idleTimeoutS,
      sendPingsAutomatically: true,
      // ── handlers ──
      upgrade: (res, req, context) => this.#upgrade(res, req, context),
      open: (ws) => {
        const conn = ws.getUserData();
        conn.ws = ws;
        ws.subscribe(HOLD_TOPIC);
        this.#conns.add(conn);
      },
      message: (ws, data, isBinary) => this.#message(ws.getUserData(), data, isBinary),
      drain: (ws) => this.#drain(ws.getUserData()),
      close: (ws, code, message) => this.#closed(ws.getUserData(), code, message),
    };
    this.#off = [
      tickwire.on('trade', this.#onTrade),
      tickwire.on('quote', this.#onQuote),
      tickwire.on('bar', this.#onBar),
      tickwire.on('status', this.#onStatus),
    ];
    this.#sweepTimer = setInterval(() => this.#sweep(), SWEEP_MS);
    this.#sweepTimer.unref();
  }

  /** Open connections. */
  get connections(): number {
    return this.#conns.size;
  }

  /** Channel subscriptions over all connections. */
  get subscriptions(): number {
    return this.#subscriptions;
  }

  /** Bytes of messages held in resume histories. */
  get historyBytes(): number {
    let n = 0;
    for (const ch of this.#recording) n += ch.history?.bytes ?? 0;
    return n;
  }

  /** The largest buffered amount of any connection now, bytes (bounded by maxBackpressure). */
  get maxBuffered(): number {
    let max = 0;
    for (const c of this.#conns) if (!c.closed) max = Math.max(max, c.ws!.getBufferedAmount());
    return max;
  }

  /** Publish an alert on the `alerts` room; throws INVALID_PARAMETER for a bad one. Returns it as published. */
  publishAlert(input: unknown): Alert & { seq: number } {
    const alert = makeAlert(input, Date.now());
    const seq = this.#publishRoom(this.#channels.alerts, (s) => alertMessage(s, alert), (s) => this.#fbs.alert(s, alert));
    return { ...alert, seq };
  }

  /** Stop listening to the library and close every connection (1001 going away). Idempotent. */
  close(): void {
    this.#closing = true;
    clearInterval(this.#sweepTimer);
    for (const off of this.#off) off();
    this.#off = [];
    for (const conn of [...this.#conns]) {
      if (!conn.closed) conn.ws!.end(CLOSE_GOING_AWAY, 'server shutting down');
    }
  }

  // ── live events ────────────────────────────────────────────────────────

  readonly #onTrade = (e: TradeEvent): void => {
    const ch = this.#channels.trade(e.exchange, e.symbol);
    if (ch === undefined) {
      if (this.#discovered(e.exchange, e.symbol)) this.#onTrade(e);
      return;
    }
    if (ch.encode === 0) {
      ch.seq++;
      return;
    }
    if (ch.liveJson + ch.liveFbs > 0) this.#budget.reserve(ch.maxBytes);
    const seq = ++ch.seq;
    const text = (ch.encode & ENCODE_JSON) !== 0 ? tradeMessage(ch.format!, seq, e) : undefined;
    const bin = (ch.encode & ENCODE_FBS) !== 0 ? this.#fbs.trade(ch.name, seq, e) : undefined;
    if (this.#emit(ch, seq, text, bin, true)) this.#metrics.published.trades++;
  };

  readonly #onQuote = (e: QuoteEvent): void => {
    const ch = this.#channels.quote(e.exchange, e.symbol);
    if (ch === undefined) {
      if (this.#discovered(e.exchange, e.symbol)) this.#onQuote(e);
      return;
    }
    if (ch.encode === 0) {
      ch.seq++;
      return;
    }
    if (ch.liveJson + ch.liveFbs > 0) this.#budget.reserve(ch.maxBytes);
    const seq = ++ch.seq;
    const text = (ch.encode & ENCODE_JSON) !== 0 ? quoteMessage(ch.format!, seq, e) : undefined;
    const bin = (ch.encode & ENCODE_FBS) !== 0 ? this.#fbs.quote(ch.name, seq, e) : undefined;
    if (this.#emit(ch, seq, text, bin, false)) this.#metrics.published.quotes++;
  };

  readonly #onBar = (e: BarUpdate): void => {
    const ch = this.#channels.bar(e.exchange, e.symbol, e.timeframe);
    if (ch === undefined) {
      if (this.#discovered(e.exchange, e.symbol)) this.#onBar(e);
      return;
    }
    if (ch.encode === 0) {
      ch.seq++;
      return;
    }
    if (ch.liveJson + ch.liveFbs > 0) this.#budget.reserve(ch.maxBytes);
    const seq = ++ch.seq;
    const text = (ch.encode & ENCODE_JSON) !== 0 ? barMessage(ch.format!, seq, e.bar) : undefined;
    const bin = (ch.encode & ENCODE_FBS) !== 0 ? this.#fbs.bar(ch.name, seq, e.bar) : undefined;
    // A closed (or amended) bar must reach a conflating client; a forming one may be superseded.
    if (this.#emit(ch, seq, text, bin, e.bar.closed)) this.#metrics.published.bars++;
  };

  readonly #onStatus = (s: ExchangeStatus): void => {
    const changed = this.#system.update(s, Date.now());
    if (changed !== undefined) this.#publishSystem(changed);
    for (const symbol of s.symbols) {
      if (!this.#channels.knows(s.exchange, symbol)) this.#channels.addSymbol(s.exchange, symbol);
    }
  };

  /** Publish the encoded message of `seq` to the attached subscribers of each format and record it. True when someone received it. */
  #emit(ch: Channel, seq: number, text: string | undefined, bin: Uint8Array | undefined, keep: boolean): boolean {
    let sent = false;
    if (ch.liveJson > 0) {
      this.#app.publish(ch.name, text!, false);
      sent = true;
    }
    if (ch.liveFbs > 0) {
      this.#app.publish(ch.fbsTopic, bin!, true);
      sent = true;
    }
    // The encoder's bytes are overwritten by its next call: history copies them (into its arena).
    ch.history?.push(seq, text, bin, keep);
    return sent;
  }

  #publishSystem(s: SystemState): void {
    this.#publishRoom(this.#channels.system, (seq) => systemMessage(seq, s), (seq) => this.#fbs.system(seq, s));
  }

  /** Publish a room message (rare: sized exactly, never conflated). Returns its seq. */
  #publishRoom(ch: Channel, json: (seq: number) => string, fbs: (seq: number) => Uint8Array): number {
    if (ch.encode === 0) return ++ch.seq;
    const next = ch.seq + 1;
    const text = (ch.encode & ENCODE_JSON) !== 0 ? json(next) : undefined;
    // A copy (rooms are rare), so whatever the budget check below does cannot disturb it.
    const bin = (ch.encode & ENCODE_FBS) !== 0 ? fbs(next).slice() : undefined;
    const bytes = Math.max(text === undefined ? 0 : Buffer.byteLength(text), bin?.byteLength ?? 0) + WS_FRAME_HEADER;
    // Budget before the seq moves: a connection paused here records the seq before this message as its last.
    if (ch.liveJson + ch.liveFbs > 0) this.#budget.reserve(bytes);
    ch.seq = next;
    this.#emit(ch, next, text, bin, true);
    return next;
  }

  /** A market event for a symbol without channels (added at runtime): create them; true when there are new ones. */
  #discovered(exchange: string, symbol: string): boolean {
    if (this.#tw.config.exchanges[exchange] === undefined) return false;
    return this.#channels.addSymbol(exchange, symbol).length > 0;
  }

  /** A channel was created: size its binary form; after start-up, join connections whose wildcards match it. */
  #created(ch: Channel): void {
    ch.fbsBytes = this.#fbsBound(ch);
    ch.maxBytes = Math.max(ch.maxBytes, ch.fbsBytes + WS_FRAME_HEADER);
    if (!this.#started) return;
    for (const conn of this.#conns) {
      if (conn.closed || conn.patterns.length === 0) continue;
      const p = conn.patterns.find((q) => this.#channels.matches(q, ch));
      if (p === undefined || !conn.principal.allows(ch.name)) continue;
      if (conn.channels.size >= this.#cfg.maxChannelsPerConnection) {
        this.#metrics.rejected(ErrorCode.INVALID_PARAMETER);
        this.#sendError(conn, null, ErrorCode.INVALID_PARAMETER,
          `new channel ${ch.name} matches ${p.text} but this connection is at its limit of ${this.#cfg.maxChannelsPerConnection} channels`);
        continue;
      }
      this.#sendSubscribed(conn, null, [ch.name]);
      this.#join(conn, ch);
      if (!conn.closed && conn.state === ConnState.NORMAL) this.#budget.track(conn);
    }
  }

  /** Size of a channel's largest binary message (numbers are fixed-width, so one sample with every optional field tells). */
  #fbsBound(ch: Channel): number {
    const n = -0.0000012345678901234567;
    switch (ch.kind) {
      case 'trades':
        return this.#fbs.trade(ch.name, n, { exchange: ch.exchange, symbol: ch.symbol, tradeId: n, price: n, size: n, side: 'unknown', ts: n, recvTs: n }).byteLength;
      case 'quotes':
        return this.#fbs.quote(ch.name, n, { exchange: ch.exchange, symbol: ch.symbol, bidPrice: n, bidSize: n, askPrice: n, askSize: n, ts: n, recvTs: n }).byteLength;
      case 'bars':
        return this.#fbs.bar(ch.name, n, {
          openTime: n, closeTime: n, open: n, high: n, low: n, close: n, volume: n, quoteVolume: n, buyVolume: n, sellVolume: n,
          trades: n, firstTradeId: n, lastTradeId: n, vwap: n, spread: n, closed: true, revision: n, gapped: true, source: 'backfill',
        }).byteLength;
      default:
        return 0; // rooms: sized per message
    }
  }

  // ── connection lifecycle ───────────────────────────────────────────────

  #upgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
    // Copy everything from req first: it is only valid in this call.
    const key = req.getHeader('sec-websocket-key');
    const offered = req.getHeader('sec-websocket-protocol');
    const extensions = req.getHeader('sec-websocket-extensions');
    const query = req.getQuery() ?? '';
    const request: AuthRequest = {
      authorization: req.getHeader('authorization'),
      protocol: offered,
      query,
      origin: req.getHeader('origin'),
      remoteAddress: Buffer.from(res.getRemoteAddressAsText()).toString(),
      host: req.getHeader('host'),
    };
    let negotiated: { protocol: string; binary: boolean };
    let principal: Principal;
    try {
      if (this.#closing) throw new TickwireError(ErrorCode.INTERNAL_ERROR, 'server is shutting down');
      principal = this.#authenticate(request);
      negotiated = this.#negotiate(query, offered);
    } catch (err) {
      let e: TickwireError;
      if (err instanceof TickwireError) {
        e = err;
      } else {
        this.#onError(err, '/v1/stream upgrade');
        e = new TickwireError(ErrorCode.INTERNAL_ERROR, 'internal error');
      }
      const status = this.#closing ? 503 : statusOfCode(e.code);
      this.#metrics.httpRequest('/v1/stream', status);
      writeResponse(res, status, v1ErrorBody(e.code, e.message));
      return;
    }
    const conn: Conn = {
      closed: false, ws: null, binary: negotiated.binary, principal, state: ConnState.NORMAL,
      channels: new Map(), patterns: [],
      bucket: new TokenBucket(this.#cfg.subscribeRate.rate, this.#cfg.subscribeRate.burst),
      limit: this.#conflateLimit, largest: 0, heapIndex: -1, checkAt: 0,
    };
    res.upgrade(conn, key, negotiated.protocol, extensions, context);
  }

  /**
   * The format and the subprotocol to answer. `?format=json|fbs` decides when
   * given (an offered subprotocol of the other format is a contradiction:
   * 400); else the first of `tickwire.json` / `tickwire.fbs` the client
   * offers; else JSON. Other offered subprotocols (`bearer.<token>`) are
   * never selected.
   */
  #negotiate(query: string, offered: string): { protocol: string; binary: boolean } {
    const format = parseQuery(query, ['format', 'token']).get('format');
    if (format !== undefined && format !== 'json' && format !== 'fbs') throw new InvalidParameterError('format', format, 'json or fbs');
    const protocols = offered.split(',').map((p) => p.trim());
    const json = protocols.indexOf(JSON_SUBPROTOCOL);
    const fbs = protocols.indexOf(FBS_SUBPROTOCOL);
    let binary: boolean;
    if (format !== undefined) {
      binary = format === 'fbs';
      if ((binary && fbs < 0 && json >= 0) || (!binary && json < 0 && fbs >= 0)) {
        throw invalid(`format=${format} contradicts the offered subprotocol ${binary ? JSON_SUBPROTOCOL : FBS_SUBPROTOCOL}`);
      }
    } else {
      binary = fbs >= 0 && (json < 0 || fbs < json);
    }
    if (binary) return { protocol: fbs >= 0 ? FBS_SUBPROTOCOL : '', binary };
    return { protocol: json >= 0 ? JSON_SUBPROTOCOL : '', binary };
  }

  #closed(conn: Conn, code: number, message: ArrayBuffer): void {
    conn.closed = true;
    conn.ws = null;
    this.#budget.remove(conn);
    this.#behind.delete(conn);
    const now = performance.now();
    for (const ch of conn.channels.keys()) {
      // uWS drops a closed socket's topics itself: only the counts.
      if (this.#attached(conn, ch)) this.#liveDelta(conn, ch, -1);
      this.#subsDelta(conn, ch, -1, now);
    }
    this.#subscriptions -= conn.channels.size;
    conn.channels.clear();
    conn.patterns = [];
    this.#conns.delete(conn);
    if (code === 1006) {
      const why = Buffer.from(message).toString();
      if (why === UWS_TOO_BIG) {
        this.#metrics.rejected(ErrorCode.INVALID_PARAMETER);
        this.#metrics.wsClosed('message_too_big');
      } else if (why === UWS_IDLE) {
        this.#metrics.wsClosed('idle_timeout');
      }
    }
  }

  // ── client messages ────────────────────────────────────────────────────

  #message(conn: Conn, data: ArrayBuffer, isBinary: boolean): void {
    if (conn.closed) return;
    let id: Id = null;
    try {
      if (isBinary) throw invalid('binary frames are not accepted: send JSON text');
      if (data.byteLength > this.#cfg.maxMessageBytes) {
        throw invalid(`message of ${data.byteLength} bytes is larger than the limit of ${this.#cfg.maxMessageBytes}`);
      }
      let msg: unknown;
      try {
        msg = JSON.parse(DECODER.decode(data));
      } catch {
        throw invalid('message is not valid JSON');
      }
      if (!isPlainObject(msg)) throw invalid(`message must be a JSON object, got ${describe(msg)}`);
      id = readId(msg['id']);
      switch (msg['op']) {
        case 'subscribe':
          this.#take(conn);
          this.#subscribe(conn, id, msg);
          break;
        case 'unsubscribe':
          this.#take(conn);
          this.#unsubscribe(conn, id, msg);
          break;
        case 'ping':
          this.#send(conn, conn.binary ? this.#fbs.pong(id) : pongMessage(id), conn.binary);
          break;
        case undefined:
          throw invalid(`missing "op": ${OPS}`);
        default:
          throw invalid(`unknown op ${describe(msg['op'])}: ${OPS}`);
      }
    } catch (err) {
      this.#reject(conn, id, err);
    }
  }

  /** One subscribe or unsubscribe request from the connection's bucket; RATE_LIMITED when empty. */
  #take(conn: Conn): void {
    if (conn.bucket.take()) return;
    const ms = conn.bucket.waitMs();
    throw new TickwireError(
      ErrorCode.RATE_LIMITED,
      `too many subscribe/unsubscribe requests: at most ${conn.bucket.rate} per second (bursts of ${conn.bucket.burst}); retry in ${ms} ms`,
    );
  }

  #reject(conn: Conn, id: Id, err: unknown): void {
    let code: string;
    let message: string;
    if (err instanceof TickwireError) {
      code = err.code;
      message = err.message;
      if (err instanceof UnauthorizedError) this.#metrics.authFailure('ws', err.reason);
    } else {
      this.#onError(err, '/v1/stream message');
      code = ErrorCode.INTERNAL_ERROR;
      message = 'internal error';
    }
    this.#metrics.rejected(code);
    this.#sendError(conn, id, code, message);
  }

  #subscribe(conn: Conn, id: Id, m: Record<string, unknown>): void {
    const { channels, patterns } = this.#channelList(conn, m['channels'], true);
    const snapshot = readSnapshot(m['snapshot']);
    const since = this.#readSince(conn, m['since'], m['epoch'], channels);
    let added = 0;
    for (const ch of channels) if (!conn.channels.has(ch)) added++;
    const max = this.#cfg.maxChannelsPerConnection;
    if (conn.channels.size + added > max) {
      throw invalid(`too many channels: this connection would have ${conn.channels.size + added}, at most ${max}`);
    }
    // Read snapshots before changing anything, so a failure rejects the whole message.
    const snapshots: (string | Uint8Array)[] = [];
    if (snapshot > 0) {
      for (const ch of channels) if (ch.kind === 'bars' && !since.has(ch)) snapshots.push(this.#snapshot(conn, ch, snapshot));
    }
    for (const ch of channels) if (!conn.channels.has(ch)) this.#join(conn, ch);
    for (const p of patterns) if (!conn.patterns.some((q) => q.text === p.text)) conn.patterns.push(p);

    this.#sendSubscribed(conn, id, channels.map((ch) => ch.name));
    for (const s of snapshots) this.#send(conn, s, conn.binary);
    // Replays: at most the reply half of the limit, less what is already buffered.
    let room = conn.closed ? 0 : this.#cfg.maxBackpressure - this.#liveLimit - conn.ws!.getBufferedAmount();
    for (const [ch, after] of since) room -= this.#replay(conn, ch, after, true, room, 'history');
    if (channels.includes(this.#channels.system) && !since.has(this.#channels.system)) this.#sendSystemStates(conn);
    if (!conn.closed && conn.state === ConnState.NORMAL) this.#budget.track(conn);
  }

  /** `since` of a subscribe: channel → the last seq the client has (0 for every channel when `epoch` names another life). */
  #readSince(conn: Conn, v: unknown, epoch: unknown, channels: readonly Channel[]): Map<Channel, number> {
    const out = new Map<Channel, number>();
    if (v === undefined || v === null) return out;
    if (!isPlainObject(v)) throw new InvalidParameterError('since', v, 'an object of channel name to the last seq received');
    if (epoch !== undefined && epoch !== null && (typeof epoch !== 'string' || epoch.length > MAX_EPOCH_LENGTH)) {
      throw new InvalidParameterError('epoch', epoch, `the epoch string of a subscribed reply (at most ${MAX_EPOCH_LENGTH} characters)`);
    }
    const otherLife = typeof epoch === 'string' && epoch !== this.epoch;
    for (const [name, seq] of Object.entries(v)) {
      const ch = this.#channels.resolve(name);
      if (!channels.includes(ch)) throw invalid(`since names ${ch.name}, which this subscribe does not include`);
      if (conn.channels.has(ch)) throw invalid(`since names ${ch.name}, which this connection already receives`);
      if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
        throw new InvalidParameterError(`since[${JSON.stringify(ch.name)}]`, seq, 'the seq of the last message received, an integer ≥ 0');
      }
      const after = otherLife ? 0 : seq;
      if (after > ch.seq) {
        throw invalid(`since[${JSON.stringify(ch.name)}] is ${seq}, ahead of the channel (seq ${ch.seq}); seqs restart with each epoch (${this.epoch})`);
      }
      out.set(ch, after);
    }
    return out;
  }

  #unsubscribe(conn: Conn, id: Id, m: Record<string, unknown>): void {
    const { channels, patterns } = this.#channelList(conn, m['channels'], false);
    const removed = new Set<Channel>();
    for (const p of patterns) {
      conn.patterns = conn.patterns.filter((q) => q.text !== p.text);
      for (const ch of conn.channels.keys()) if (this.#channels.matches(p, ch)) removed.add(ch);
    }
    for (const ch of channels) if (!removed.has(ch)) removed.add(ch);
    const now = performance.now();
    for (const ch of removed) this.#leave(conn, ch, now);
    if (conn.channels.size === 0) this.#budget.remove(conn);
    const names = [...removed].map((ch) => ch.name);
    this.#send(conn, conn.binary ? this.#fbs.unsubscribed(id, names) : unsubscribedMessage(id, names), conn.binary);
  }

  /**
   * The channels of a message, resolved and de-duplicated, in order, with the
   * wildcards it holds (expanded in place); throws for the first bad one. On
   * subscribe each must be allowed to the principal (a wildcard expands over
   * the allowed ones only).
   */
  #channelList(conn: Conn, v: unknown, subscribe: boolean): { channels: Channel[]; patterns: WildcardPattern[] } {
    if (!Array.isArray(v)) throw invalid(`"channels" must be an array of channel names, got ${describe(v)}`);
    if (v.length === 0 || v.length > MAX_CHANNELS_PER_MESSAGE) {
      throw invalid(`"channels" must hold 1 to ${MAX_CHANNELS_PER_MESSAGE} channels, got ${v.length}`);
    }
    const out = new Set<Channel>();
    const patterns: WildcardPattern[] = [];
    const principal = conn.principal;
    for (const given of v) {
      if (typeof given !== 'string') throw invalid(`a channel must be a string, got ${describe(given)}`);
      const p = this.#channels.pattern(given);
      if (p === undefined) {
        const ch = this.#channels.resolve(given);
        if (subscribe && !principal.allows(ch.name)) {
          throw new UnauthorizedError(AuthFailure.FORBIDDEN, `${principal.name} may not read ${ch.name}`);
        }
        out.add(ch);
        continue;
      }
      patterns.push(p);
      if (!subscribe) continue; // unsubscribe: the wildcard removes what it matches among the held channels
      const expanded = this.#channels.expand(p);
      let allowed = 0;
      for (const ch of expanded) {
        if (!principal.allows(ch.name)) continue;
        out.add(ch);
        allowed++;
      }
      if (expanded.length > 0 && allowed === 0) {
        throw new UnauthorizedError(AuthFailure.FORBIDDEN, `${principal.name} may not read any channel matching ${p.text}`);
      }
    }
    return { channels: [...out], patterns };
  }

  /** A bars channel's snapshot in the connection's format: its last `n` bars (the forming one last) at the channel's current seq. */
  #snapshot(conn: Conn, ch: Channel, n: number): string | Uint8Array {
    if (conn.binary) {
      // Copied: the encoder's buffer is reused before this is sent.
      return this.#fbs
        .snapshot(ch.name, ch.seq, (v) => this.#tw.visitBars(ch.exchange, ch.symbol, ch.timeframe!, v, { limit: n, published: true }))
        .slice();
    }
    const v = this.#snapshotVisitor;
    this.#tw.visitBars(ch.exchange, ch.symbol, ch.timeframe!, v, { limit: n, published: true });
    const text = snapshotHead(ch.name, ch.seq) + v.text + ']}';
    v.begin(); // let the text go
    return text;
  }

  /** Every exchange's current state on `system`, at the channel's current seq (the state as of that seq, like a snapshot). */
  #sendSystemStates(conn: Conn): void {
    const seq = this.#channels.system.seq;
    for (const s of this.#system.current()) {
      this.#send(conn, conn.binary ? this.#fbs.system(seq, s) : systemMessage(seq, s), conn.binary);
    }
  }

  // ── subscriptions and their counts ─────────────────────────────────────

  /**
   * The budget limit of a connection in NORMAL state: conflating starts when
   * its *buffered* bytes pass 3/8 of maxBackpressure, so the allowance for
   * uWS's per-subscriber queue (TOPIC_TREE_PENDING × largest, counted by the budget) is added
   * on top. Counting it here instead would make a small limit with large
   * messages congested at an empty buffer, flapping on every catch-up. The
   * policy threshold (CONFLATING) counts it: that one protects the hard limit.
   */
  #normalLimit(conn: Conn): number {
    return this.#conflateLimit + TOPIC_TREE_PENDING * conn.largest;
  }

  /** Is `ch` on its topic for `conn` in the connection's current state? */
  #attached(conn: Conn, ch: Channel): boolean {
    return conn.state === ConnState.NORMAL || (conn.state === ConnState.CONFLATING && !conflatable(ch));
  }

  /** Subscribe `conn` to `ch` (delivered from the next message on). */
  #join(conn: Conn, ch: Channel): void {
    conn.channels.set(ch, ch.seq);
    this.#subscriptions++;
    // Rooms are rare and sized per message: they do not widen the allowance.
    if (ch.format !== undefined && ch.maxBytes > conn.largest) {
      conn.largest = ch.maxBytes;
      if (conn.state === ConnState.NORMAL) conn.limit = this.#normalLimit(conn);
    }
    // History records each format its subscribers use, from the next message on.
    if (ch.history === null) {
      ch.history = new ChannelHistory(this.#cfg.resumeHistory, ch.fbsBytes);
      this.#recording.add(ch);
    }
    ch.history.record(conn.binary ? WireFormat.FBS : WireFormat.JSON, ch.seq + 1);
    ch.encode = (ch.history.records(WireFormat.JSON) ? ENCODE_JSON : 0) | (ch.history.records(WireFormat.FBS) ? ENCODE_FBS : 0);
    ch.idleSince = NaN;
    this.#subsDelta(conn, ch, 1, NaN);
    if (this.#attached(conn, ch)) this.#attach(conn, ch);
  }

  /** Unsubscribe `conn` from `ch` (no-op when it does not have it). */
  #leave(conn: Conn, ch: Channel, now: number): void {
    if (!conn.channels.has(ch)) return;
    if (this.#attached(conn, ch)) {
      conn.ws!.unsubscribe(conn.binary ? ch.fbsTopic : ch.name);
      this.#liveDelta(conn, ch, -1);
    }
    conn.channels.delete(ch);
    this.#subscriptions--;
    this.#subsDelta(conn, ch, -1, now);
  }

  #attach(conn: Conn, ch: Channel): void {
    conn.ws!.subscribe(conn.binary ? ch.fbsTopic : ch.name);
    this.#liveDelta(conn, ch, 1);
  }

  /** Take `ch` off its topic for `conn`, remembering its seq as delivered (everything published so far is on its way). */
  #detach(conn: Conn, ch: Channel): void {
    conn.ws!.unsubscribe(conn.binary ? ch.fbsTopic : ch.name);
    this.#liveDelta(conn, ch, -1);
    conn.channels.set(ch, ch.seq);
  }

  #liveDelta(conn: Conn, ch: Channel, d: number): void {
    if (conn.binary) ch.liveFbs += d;
    else ch.liveJson += d;
  }

  /** Subscriber counts; the last one leaving starts the history linger (or ends the history at once when it is 0). */
  #subsDelta(conn: Conn, ch: Channel, d: number, now: number): void {
    if (conn.binary) ch.subsFbs += d;
    else ch.subsJson += d;
    if (d > 0 || ch.subsJson + ch.subsFbs > 0) return;
    ch.idleSince = now;
    if (this.#cfg.resumeLingerS === 0) this.#stopRecording(ch);
  }

  #stopRecording(ch: Channel): void {
    ch.history = null;
    ch.encode = 0;
    ch.idleSince = NaN;
    this.#recording.delete(ch);
  }

  /** Once a second: end history lingers that ran out; catch up connections whose drain never came. */
  #sweep(): void {
    const now = performance.now();
    const linger = this.#cfg.resumeLingerS * 1000;
    for (const ch of this.#recording) {
      if (ch.subsJson + ch.subsFbs === 0 && now - ch.idleSince >= linger) this.#stopRecording(ch);
    }
    // A copy: a catch-up can put the connection straight back into the set.
    for (const conn of [...this.#behind]) {
      if (!conn.closed && conn.state !== ConnState.NORMAL && conn.ws!.getBufferedAmount() <= this.#resumeBelow) this.#catchUp(conn);
    }
  }

  // ── sending and slow consumers ─────────────────────────────────────────

  /** Send to one connection; a send uWS drops (past the limit) closes it: it would miss protocol messages. */
  #send(conn: Conn, data: string | Uint8Array, binary: boolean): void {
    if (conn.closed) return;
    const ws = conn.ws!;
    if (ws.send(data, binary) === SEND_DROPPED) {
      this.#metrics.slowConsumer('disconnected');
      ws.end(CLOSE_TRY_AGAIN_LATER, 'slow consumer');
    }
  }

  #sendError(conn: Conn, id: Id, code: string, message: string): void {
    this.#send(conn, conn.binary ? this.#fbs.error(id, code, message) : errorMessage(id, code, message), conn.binary);
  }

  #sendSubscribed(conn: Conn, id: Id, names: readonly string[]): void {
    this.#send(conn, conn.binary ? this.#fbs.subscribed(id, names, this.epoch) : subscribedMessage(id, names, this.epoch), conn.binary);
  }

  #sendGap(conn: Conn, ch: Channel, fromSeq: number, toSeq: number, reason: 'slow_consumer' | 'history'): void {
    this.#metrics.gap(reason);
    this.#send(conn, conn.binary ? this.#fbs.gap(ch.name, fromSeq, toSeq, reason) : gapMessage(ch.name, fromSeq, toSeq, reason), conn.binary);
  }

  /**
   * Send `ch`'s messages after `after` up to its seq from history: every one
   * (`all`: a resume), or those a catch-up must deliver (closed bars, room
   * messages) and the newest. What history no longer holds is one `gap` of
   * `oldReason`; the oldest part that would not fit in `room` bytes, and the
   * superseded messages, `gap`s of reason slow_consumer. Returns the bytes sent.
   */
  #replay(conn: Conn, ch: Channel, after: number, all: boolean, room: number, oldReason: 'slow_consumer' | 'history'): number {
    const last = ch.seq;
    if (last <= after || conn.closed) return 0;
    const h = ch.history;
    const format = conn.binary ? WireFormat.FBS : WireFormat.JSON;
    // First seq to consider: after `after`, where history starts (last + 1 when it holds nothing).
    const oldest = Math.max(after + 1, Math.min(h === null ? Infinity : h.oldest(format), last + 1));
    const size = (s: number): number => (conn.binary ? h!.bin(s).byteLength : h!.text(s).length) + WS_FRAME_HEADER;
    const wanted = (s: number): boolean => all || s === last || h!.keep(s);
    // Newest first: how far back fits in `room`.
    let cut = oldest;
    let used = 0;
    for (let s = last; s >= oldest; s--) {
      if (!wanted(s)) continue;
      const n = size(s);
      if (used + n > room) {
        cut = s + 1;
        break;
      }
      used += n;
    }
    if (oldest > after + 1) this.#sendGap(conn, ch, after + 1, oldest - 1, oldReason);
    let from = oldest; // first seq neither sent nor announced
    for (let s = cut; s <= last && !conn.closed; s++) {
      if (!wanted(s)) continue;
      if (from < s) this.#sendGap(conn, ch, from, s - 1, 'slow_consumer');
      this.#send(conn, conn.binary ? h!.bin(s) : h!.text(s), conn.binary);
      from = s + 1;
    }
    if (from <= last) this.#sendGap(conn, ch, from, last, 'slow_consumer');
    return used;
  }

  /** The budget found `conn` congested: conflate its quotes and bars; if it already was, apply the slow-consumer policy. */
  #congested(conn: Conn): void {
    if (conn.closed) return;
    if (conn.state === ConnState.NORMAL) {
      conn.state = ConnState.CONFLATING;
      for (const ch of conn.channels.keys()) if (conflatable(ch)) this.#detach(conn, ch);
      this.#behind.add(conn);
      this.#metrics.slowConsumer('conflating');
      conn.limit = this.#liveLimit;
      this.#budget.track(conn); // at the higher limit; may come straight back here
      return;
    }
    if (this.#cfg.slowConsumer === 'disconnect') {
      this.#metrics.slowConsumer('disconnected');
      conn.ws!.end(CLOSE_TRY_AGAIN_LATER, 'slow consumer');
      return;
    }
    conn.state = ConnState.PAUSED;
    for (const ch of conn.channels.keys()) if (!conflatable(ch)) this.#detach(conn, ch);
    this.#metrics.slowConsumer('paused');
  }

  #drain(conn: Conn): void {
    if (conn.closed) return;
    if (conn.state === ConnState.NORMAL) {
      if (conn.channels.size > 0) this.#budget.track(conn);
      return;
    }
    if (conn.ws!.getBufferedAmount() <= this.#resumeBelow) this.#catchUp(conn);
  }

  /** A conflating or paused connection drained: catch each detached channel up, then put it back on its topic. */
  #catchUp(conn: Conn): void {
    const ws = conn.ws!;
    const detached: Channel[] = [];
    for (const ch of conn.channels.keys()) if (!this.#attached(conn, ch)) detached.push(ch);
    ws.cork(() => {
      // Catch-ups first, still detached (a close here leaves the counts consistent), then back on the topics.
      let room = this.#cfg.maxBackpressure - this.#liveLimit - ws.getBufferedAmount();
      for (const ch of detached) {
        const last = conn.channels.get(ch)!;
        if (ch.kind === 'trades') {
          if (ch.seq > last) this.#sendGap(conn, ch, last + 1, ch.seq, 'slow_consumer'); // skip ahead: trades are never conflated
        } else {
          room -= this.#replay(conn, ch, last, false, room, 'slow_consumer');
        }
        if (conn.closed) return;
      }
      conn.state = ConnState.NORMAL;
      conn.limit = this.#normalLimit(conn);
      this.#behind.delete(conn);
      for (const ch of detached) this.#attach(conn, ch);
    });
    if (!conn.closed && conn.state === ConnState.NORMAL && conn.channels.size > 0) this.#budget.track(conn);
  }
}

/**
 * `/v1/stream`: the WebSocket protocol (ARCHITECTURE.md, "WebSocket /v1/stream").
 *
 * Contract
 *  - JSON text frames. Client ops: `subscribe` (with an optional bars
 *    `snapshot` of 1..1000), `unsubscribe`, `ping`. A message with any bad
 *    part is rejected whole (the first bad channel names the error), answered
 *    with `{"type":"error","id","code","message"}`, counted, and the
 *    connection stays usable.
 *  - A channel is a uWS topic named by its canonical form: native symbol,
 *    canonical timeframe. Each channel's `seq` counts from server start and
 *    advances only while someone is subscribed, so a subscriber sees it
 *    contiguous; a `gap` notice names any seqs it did not get.
 *  - Snapshots are read and sent inside the subscribe handler: the event loop
 *    is single-threaded, so nothing is published between the snapshot's seq
 *    and the first live message (seq + 1).
 *  - Slow consumers: see backpressure.ts. Live messages may fill a socket's
 *    buffer to half of `maxBackpressure`; then it is paused (unsubscribed
 *    from its topics at the uWS level, still subscribed in ours) and resumed
 *    on `drain` once its buffer fell below an eighth, with one `gap` per
 *    channel that advanced meanwhile. The other half is for direct replies
 *    (acks, pongs, snapshots, gaps) to a paused client; a direct send uWS
 *    drops anyway (past the whole limit) closes the connection (1013).
 *  - A uWS socket is invalid after close (methods throw): every path checks
 *    `conn.closed` before touching it.
 *
 * Hot path (a library event): two Map lookups, a seq bump, the budget check
 * (a heap peek), one string concatenation from the channel's prepared
 * prefix, `app.publish`. Nothing is serialized for a channel nobody receives.
 */
import uWS from 'uWebSockets.js';
import type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, WebSocketBehavior, us_socket_context_t } from 'uWebSockets.js';
import type { BarUpdate, QuoteEvent, Tickwire, TradeEvent } from '../api/types.ts';
import { ErrorCode, InvalidParameterError, TickwireError } from '../errors.ts';
import { parseTimeframe, type TimeframeName } from '../model/timeframes.ts';
import { SendBudget, type BudgetSlot } from './backpressure.ts';
import { choiceParam, parseQuery, statusOfCode, v1ErrorBody, writeResponse } from './http-util.ts';
import {
  BarTextVisitor,
  barJson,
  barMessage,
  gapMessage,
  prepareChannel,
  quoteMessage,
  snapshotHead,
  tradeMessage,
  type ChannelFormat,
  type ChannelKind,
} from './json.ts';
import type { ServerMetrics } from './metrics.ts';

export const MAX_CHANNELS_PER_MESSAGE = 500;
export const MAX_CHANNELS_PER_CONNECTION = 1000;
export const MAX_SNAPSHOT = 1000;
const IDLE_TIMEOUT_S = 120;
const CLOSE_GOING_AWAY = 1001;
const CLOSE_TRY_AGAIN_LATER = 1013;
/** `WebSocket.send` result: dropped, the socket was past maxBackpressure. */
const SEND_DROPPED = 2;
const OPS = 'expected subscribe, unsubscribe or ping';
/**
 * A topic every connection holds and nothing is published to. uWS frees a
 * socket's subscriber state when it leaves its last topic and drops the
 * messages still queued for it there (measured): holding this one keeps
 * messages published before a pause or an unsubscribe on their way.
 */
const HOLD_TOPIC = '\u0000tickwire:hold';

export interface StreamOptions {
  maxBackpressure: number;
  maxPayloadLength: number;
  onError: (err: unknown, where: string) => void;
}

/** One channel: its topic name, prepared message prefix and sequence. Lives as long as the server. */
interface Channel {
  readonly name: string;
  readonly kind: ChannelKind;
  readonly exchange: string;
  readonly symbol: string;
  readonly timeframe: TimeframeName | undefined;
  readonly format: ChannelFormat;
  /** Seq of the last message of this channel (0: none yet). */
  seq: number;
  /** Connections subscribed, paused ones included. */
  subscribers: number;
  /** Connections subscribed to the uWS topic (not paused): who would receive a publish now. */
  live: number;
}

/** Per-connection state: the uWS user data (uWS.js hands back the socket object itself, with these fields). */
interface Conn extends BudgetSlot {
  closed: boolean;
  paused: boolean;
  ws: WebSocket<Conn> | null;
  /** Subscribed channels → the last seq delivered or announced (read when a paused connection resumes). */
  channels: Map<Channel, number>;
}

type Id = number | string | null;

function invalid(message: string): TickwireError {
  return new TickwireError(ErrorCode.INVALID_PARAMETER, message);
}

function describe(v: unknown): string {
  return v === undefined ? 'undefined' : JSON.stringify(v) ?? String(v);
}

function unknownChannel(given: string, why: string): TickwireError {
  return new TickwireError(
    ErrorCode.UNKNOWN_CHANNEL,
    `unknown channel ${JSON.stringify(given)}: ${why} (channels are trades:<exchange>:<symbol>, quotes:<exchange>:<symbol>, bars:<exchange>:<symbol>:<tf>)`,
  );
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

const DECODER = new TextDecoder('utf-8', { fatal: true });

export class StreamServer {
  readonly behavior: WebSocketBehavior<Conn>;
  readonly #app: TemplatedApp;
  readonly #tw: Tickwire;
  readonly #metrics: ServerMetrics;
  readonly #onError: StreamOptions['onError'];
  readonly #budget: SendBudget<Conn>;
  readonly #resumeBelow: number;
  readonly #conns = new Set<Conn>();
  readonly #byName = new Map<string, Channel>();
  /** exchange → native symbol → channel, for the event handlers (no string building per event). */
  readonly #trades = new Map<string, Map<string, Channel>>();
  readonly #quotes = new Map<string, Map<string, Channel>>();
  /** exchange → native symbol → timeframe → channel. */
  readonly #bars = new Map<string, Map<string, Map<string, Channel>>>();
  readonly #snapshotVisitor = new BarTextVisitor(barJson);
  #subscriptions = 0;
  #off: (() => void)[];
  #closing = false;

  constructor(app: TemplatedApp, tickwire: Tickwire, metrics: ServerMetrics, options: StreamOptions) {
    this.#app = app;
    this.#tw = tickwire;
    this.#metrics = metrics;
    this.#onError = options.onError;
    this.#resumeBelow = Math.floor(options.maxBackpressure / 8);
    this.#budget = new SendBudget<Conn>(
      Math.floor(options.maxBackpressure / 2),
      (c) => c.ws!.getBufferedAmount(),
      (c) => this.#pause(c),
    );
    this.behavior = {
      // ── options ──
      compression: uWS.DISABLED,
      maxPayloadLength: options.maxPayloadLength,
      maxBackpressure: options.maxBackpressure,
      // Typed as a number in this build's declarations; 0 is false: drop (we pause first), never close.
      closeOnBackpressureLimit: 0,
      idleTimeout: IDLE_TIMEOUT_S,
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
      close: (ws) => this.#closed(ws.getUserData()),
    };
    this.#off = [
      tickwire.on('trade', this.#onTrade),
      tickwire.on('quote', this.#onQuote),
      tickwire.on('bar', this.#onBar),
    ];
  }

  /** Open connections. */
  get connections(): number {
    return this.#conns.size;
  }

  /** Channel subscriptions over all connections. */
  get subscriptions(): number {
    return this.#subscriptions;
  }

  /** Stop listening to the library and close every connection (1001 going away). Idempotent. */
  close(): void {
    this.#closing = true;
    for (const off of this.#off) off();
    this.#off = [];
    for (const conn of [...this.#conns]) {
      if (!conn.closed) conn.ws!.end(CLOSE_GOING_AWAY, 'server shutting down');
    }
  }

  // ── live events ────────────────────────────────────────────────────────

  /** Bump the channel's seq (someone is subscribed); the seq to publish, or 0 when nobody would receive it now. */
  #advance(ch: Channel): number {
    if (ch.live > 0) this.#budget.reserve(ch.format.maxBytes);
    const seq = ++ch.seq;
    return ch.live > 0 ? seq : 0;
  }

  readonly #onTrade = (e: TradeEvent): void => {
    const ch = this.#trades.get(e.exchange)?.get(e.symbol);
    if (ch === undefined || ch.subscribers === 0) return;
    const seq = this.#advance(ch);
    if (seq === 0) return;
    this.#app.publish(ch.name, tradeMessage(ch.format, seq, e), false);
    this.#metrics.published.trades++;
  };

  readonly #onQuote = (e: QuoteEvent): void => {
    const ch = this.#quotes.get(e.exchange)?.get(e.symbol);
    if (ch === undefined || ch.subscribers === 0) return;
    const seq = this.#advance(ch);
    if (seq === 0) return;
    this.#app.publish(ch.name, quoteMessage(ch.format, seq, e), false);
    this.#metrics.published.quotes++;
  };

  readonly #onBar = (e: BarUpdate): void => {
    const ch = this.#bars.get(e.exchange)?.get(e.symbol)?.get(e.timeframe);
    if (ch === undefined || ch.subscribers === 0) return;
    const seq = this.#advance(ch);
    if (seq === 0) return;
    this.#app.publish(ch.name, barMessage(ch.format, seq, e.bar), false);
    this.#metrics.published.bars++;
  };

  // ── connection lifecycle ───────────────────────────────────────────────

  #upgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
    const key = req.getHeader('sec-websocket-key');
    const offered = req.getHeader('sec-websocket-protocol');
    const extensions = req.getHeader('sec-websocket-extensions');
    let protocol = '';
    try {
      if (this.#closing) throw new TickwireError(ErrorCode.INTERNAL_ERROR, 'server is shutting down');
      protocol = this.#negotiate(req.getQuery() ?? '', offered);
    } catch (err) {
      const e = err instanceof TickwireError ? err : invalid('bad upgrade request');
      const status = this.#closing ? 503 : statusOfCode(e.code);
      this.#metrics.httpRequest('/v1/stream', status);
      writeResponse(res, status, v1ErrorBody(e.code, e.message));
      return;
    }
    const conn: Conn = { closed: false, paused: false, ws: null, channels: new Map(), heapIndex: -1, checkAt: 0 };
    res.upgrade(conn, key, protocol, extensions, context);
  }

  /** JSON only for now: `?format=fbs` or only the `tickwire.fbs` subprotocol is refused (400). Returns the subprotocol to answer. */
  #negotiate(query: string, offered: string): string {
    const format = choiceParam(parseQuery(query, ['format']), 'format', ['json', 'fbs'] as const, 'json');
    const protocols = offered.split(',').map((p) => p.trim());
    if (format === 'json' && protocols.includes('tickwire.json')) return 'tickwire.json';
    if (format === 'fbs' || protocols.includes('tickwire.fbs')) {
      throw invalid('binary format (FlatBuffers) not available yet: connect without format=fbs to get JSON');
    }
    return '';
  }

  #closed(conn: Conn): void {
    conn.closed = true;
    conn.ws = null;
    this.#budget.remove(conn);
    for (const ch of conn.channels.keys()) {
      ch.subscribers--;
      if (!conn.paused) ch.live--; // uWS drops a closed socket's topics itself
    }
    this.#subscriptions -= conn.channels.size;
    conn.channels.clear();
    this.#conns.delete(conn);
  }

  // ── client messages ────────────────────────────────────────────────────

  #message(conn: Conn, data: ArrayBuffer, isBinary: boolean): void {
    if (conn.closed) return;
    let id: Id = null;
    try {
      if (isBinary) throw invalid('binary frames are not accepted: send JSON text');
      let msg: unknown;
      try {
        msg = JSON.parse(DECODER.decode(data));
      } catch {
        throw invalid('message is not valid JSON');
      }
      if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) throw invalid(`message must be a JSON object, got ${describe(msg)}`);
      const m = msg as Record<string, unknown>;
      id = readId(m['id']);
      switch (m['op']) {
        case 'subscribe':
          this.#subscribe(conn, id, m);
          break;
        case 'unsubscribe':
          this.#unsubscribe(conn, id, m);
          break;
        case 'ping':
          this.#send(conn, '{"type":"pong","id":' + JSON.stringify(id) + '}');
          break;
        case undefined:
          throw invalid(`missing "op": ${OPS}`);
        default:
          throw invalid(`unknown op ${describe(m['op'])}: ${OPS}`);
      }
    } catch (err) {
      this.#reject(conn, id, err);
    }
  }

  #reject(conn: Conn, id: Id, err: unknown): void {
    let code: string;
    let message: string;
    if (err instanceof TickwireError) {
      code = err.code;
      message = err.message;
    } else {
      this.#onError(err, '/v1/stream message');
      code = ErrorCode.INTERNAL_ERROR;
      message = 'internal error';
    }
    this.#metrics.rejected(code);
    this.#send(conn, JSON.stringify({ type: 'error', id, code, message }));
  }

  #subscribe(conn: Conn, id: Id, m: Record<string, unknown>): void {
    const channels = this.#channelList(m['channels']);
    const snapshot = readSnapshot(m['snapshot']);
    let added = 0;
    for (const ch of channels) if (!conn.channels.has(ch)) added++;
    if (conn.channels.size + added > MAX_CHANNELS_PER_CONNECTION) {
      throw invalid(
        `too many channels: this connection would have ${conn.channels.size + added}, at most ${MAX_CHANNELS_PER_CONNECTION}`,
      );
    }
    // Read snapshots before changing anything, so a failure rejects the whole message.
    const snapshots: string[] = [];
    if (snapshot > 0) {
      for (const ch of channels) if (ch.kind === 'bars') snapshots.push(this.#snapshot(ch, snapshot));
    }
    const ws = conn.ws!;
    for (const ch of channels) {
      if (conn.channels.has(ch)) continue;
      conn.channels.set(ch, ch.seq);
      ch.subscribers++;
      this.#subscriptions++;
      if (!conn.paused) {
        ws.subscribe(ch.name);
        ch.live++;
      }
    }
    const names = channels.map((ch) => ch.name);
    this.#send(conn, JSON.stringify({ type: 'subscribed', id, channels: names }));
    for (const s of snapshots) this.#send(conn, s);
    if (!conn.closed && !conn.paused) this.#budget.track(conn);
  }

  #unsubscribe(conn: Conn, id: Id, m: Record<string, unknown>): void {
    const channels = this.#channelList(m['channels']);
    const ws = conn.ws!;
    for (const ch of channels) {
      if (!conn.channels.delete(ch)) continue;
      ch.subscribers--;
      this.#subscriptions--;
      if (!conn.paused) {
        ws.unsubscribe(ch.name);
        ch.live--;
      }
    }
    if (conn.channels.size === 0) this.#budget.remove(conn);
    this.#send(conn, JSON.stringify({ type: 'unsubscribed', id, channels: channels.map((ch) => ch.name) }));
  }

  /** The channels of a message, resolved and de-duplicated, in order; throws for the first bad one. */
  #channelList(v: unknown): Channel[] {
    if (!Array.isArray(v)) throw invalid(`"channels" must be an array of channel names, got ${describe(v)}`);
    if (v.length === 0 || v.length > MAX_CHANNELS_PER_MESSAGE) {
      throw invalid(`"channels" must hold 1 to ${MAX_CHANNELS_PER_MESSAGE} channels, got ${v.length}`);
    }
    let kept: Record<string, Record<string, TimeframeName[]>> | undefined;
    const keptTimeframes = () => (kept ??= this.#tw.symbols());
    const out = new Set<Channel>();
    for (const given of v) out.add(this.#resolve(given, keptTimeframes));
    return [...out];
  }

  /** Resolve a channel name (native or normalized symbol, any timeframe alias) to its canonical channel. */
  #resolve(given: unknown, keptTimeframes: () => Record<string, Record<string, TimeframeName[]>>): Channel {
    if (typeof given !== 'string') throw invalid(`a channel must be a string, got ${describe(given)}`);
    const known = this.#byName.get(given);
    if (known !== undefined) return known;
    const c1 = given.indexOf(':');
    const kind = given.slice(0, c1);
    if (c1 < 0 || (kind !== 'trades' && kind !== 'quotes' && kind !== 'bars')) {
      throw unknownChannel(given, 'the type must be trades, quotes or bars');
    }
    const c2 = given.indexOf(':', c1 + 1);
    const c3 = kind === 'bars' ? given.lastIndexOf(':') : given.length;
    if (c2 < 0 || c3 <= c2 + 1 || c2 === c1 + 1 || (kind === 'bars' && c3 === given.length - 1)) {
      throw unknownChannel(given, kind === 'bars' ? 'expected bars:<exchange>:<symbol>:<tf>' : `expected ${kind}:<exchange>:<symbol>`);
    }
    const exchange = given.slice(c1 + 1, c2);
    const symbol = this.#tw.resolveSymbol(exchange, given.slice(c2 + 1, c3));
    if (kind !== 'bars') {
      const carried = this.#tw.config.exchanges[exchange]?.channels ?? [];
      if (!carried.includes(kind)) throw unknownChannel(given, `exchange ${exchange} does not carry ${kind}`);
      return this.#channel(kind, exchange, symbol, undefined);
    }
    const timeframe = parseTimeframe(given.slice(c3 + 1)).name;
    const kept = keptTimeframes()[exchange]?.[symbol] ?? [];
    if (!kept.includes(timeframe)) {
      throw new TickwireError(
        ErrorCode.INVALID_TIMEFRAME,
        `timeframe ${timeframe} is not kept for ${exchange} ${symbol}: kept are ${kept.join(' ') || 'none'}`,
      );
    }
    return this.#channel(kind, exchange, symbol, timeframe);
  }

  /** The channel of a canonical (kind, exchange, native symbol, timeframe), created on first use. */
  #channel(kind: ChannelKind, exchange: string, symbol: string, timeframe: TimeframeName | undefined): Channel {
    const name = kind === 'bars' ? `bars:${exchange}:${symbol}:${timeframe}` : `${kind}:${exchange}:${symbol}`;
    let ch = this.#byName.get(name);
    if (ch !== undefined) return ch;
    ch = {
      name, kind, exchange, symbol, timeframe,
      format: prepareChannel(kind, name, exchange, symbol, timeframe),
      seq: 0, subscribers: 0, live: 0,
    };
    this.#byName.set(name, ch);
    if (kind === 'bars') {
      let bySymbol = this.#bars.get(exchange);
      if (bySymbol === undefined) this.#bars.set(exchange, (bySymbol = new Map()));
      let byTf = bySymbol.get(symbol);
      if (byTf === undefined) bySymbol.set(symbol, (byTf = new Map()));
      byTf.set(timeframe!, ch);
    } else {
      const index = kind === 'trades' ? this.#trades : this.#quotes;
      let bySymbol = index.get(exchange);
      if (bySymbol === undefined) index.set(exchange, (bySymbol = new Map()));
      bySymbol.set(symbol, ch);
    }
    return ch;
  }

  /** A bars channel's snapshot message: its last `n` bars (the forming one last) at the channel's current seq. */
  #snapshot(ch: Channel, n: number): string {
    const v = this.#snapshotVisitor;
    this.#tw.visitBars(ch.exchange, ch.symbol, ch.timeframe!, v, { limit: n, published: true });
    const text = snapshotHead(ch.name, ch.seq) + v.text + ']}';
    v.begin(); // let the text go
    return text;
  }

  // ── sending and slow consumers ─────────────────────────────────────────

  /** Send to one connection; a send uWS drops (past the limit) closes it: it would miss protocol messages. */
  #send(conn: Conn, text: string): void {
    if (conn.closed) return;
    const ws = conn.ws!;
    if (ws.send(text, false) === SEND_DROPPED) ws.end(CLOSE_TRY_AGAIN_LATER, 'slow consumer');
  }

  /** The budget found `conn` congested: stop its live messages, remembering where each channel was. */
  #pause(conn: Conn): void {
    if (conn.closed) return;
    const ws = conn.ws!;
    conn.paused = true;
    for (const ch of conn.channels.keys()) {
      ws.unsubscribe(ch.name);
      ch.live--;
      conn.channels.set(ch, ch.seq);
    }
  }

  #drain(conn: Conn): void {
    if (conn.closed) return;
    const ws = conn.ws!;
    if (!conn.paused) {
      if (conn.channels.size > 0) this.#budget.track(conn);
      return;
    }
    if (ws.getBufferedAmount() > this.#resumeBelow) return;
    ws.cork(() => {
      // Gaps first, still paused (a close here leaves the counts consistent), then back on the topics.
      for (const [ch, last] of conn.channels) {
        if (ch.seq > last) this.#send(conn, gapMessage(ch.name, last + 1, ch.seq, 'slow_consumer'));
      }
      if (conn.closed) return;
      conn.paused = false;
      for (const ch of conn.channels.keys()) {
        ws.subscribe(ch.name);
        ch.live++;
      }
    });
    if (!conn.closed && conn.channels.size > 0) this.#budget.track(conn);
  }
}

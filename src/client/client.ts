/**
 * `TickwireClient`: a typed subscriber of `/v1/stream` plus the HTTP reads,
 * for Node and browsers.
 *
 * Delivery contract (per concrete channel, what the handlers see):
 *  - every message once, in seq order: a duplicate seq (a resume overlap) is
 *    dropped, never delivered;
 *  - every hole reported: the server's `gap` notices, a seq hole the server
 *    did not announce (`unannounced`), and a server restart (`restart`);
 *  - bars channels are repaired rather than reported: after a gap or a
 *    restart the client asks for a snapshot again and delivers only the bars
 *    that are new or changed (by open time and content), so a bar already
 *    delivered unchanged never comes twice. A bars gap is reported only when
 *    the snapshot cannot reach back (`fromTime`/`toTime`).
 *
 * Reconnecting: on any loss the client waits (backoff with jitter), reopens,
 * and re-subscribes everything in as few messages as the server allows
 * (concrete channels first, wildcards last), with `since: {channel: last seq
 * delivered}` and the `epoch` those seqs belong to, so the server replays
 * exactly what was missed. The `subscribed` reply carries the server's
 * `epoch`; a new one means the server restarted and the old seqs mean
 * nothing (it replays what its own history holds): trades, quotes and alerts
 * get a `restart` gap, bars channels resync by snapshot, `system` is asked
 * for the current states again. A `since` a server refuses is sent again
 * without it (the seq hole is then reported exactly).
 *
 * Requests the server refuses: RATE_LIMITED is retried after a pause; a
 * batched re-subscribe refused for another reason is split per subscription,
 * so one channel the server no longer knows ends only its own subscription
 * (its `error` handler is told).
 *
 * Limit: a channel's seq is unknown until its first message (the
 * `subscribed` reply carries none), so a connection lost before a trades,
 * quotes or alerts channel's first message re-joins it without `since`: what
 * the server published on it during the outage is neither replayed nor
 * reported. (Bars channels are repaired by a snapshot in that case.)
 */
import { ErrorCode, InvalidParameterError, TickwireError } from '../errors.ts';
import type { HealthReport } from '../model/status.ts';
import type {
  AlertMessage,
  BarJson,
  BarMessage,
  ErrorMessage,
  GapMessage,
  QuoteMessage,
  SnapshotMessage,
  StreamMessage,
  SubscribedMessage,
  SystemMessage,
  TradeMessage,
  UnsubscribedMessage,
} from '../wire/messages.ts';
import { channelParts } from '../wire/channels.ts';
import { MAX_CHANNELS_PER_MESSAGE, MAX_SNAPSHOT } from '../wire/protocol.ts';
import { Backoff } from './backoff.ts';
import { CandleChain, DEFAULT_CANDLE_TIMEOUT_MS, type CandleQuery, type CandlesResult } from './candles.ts';
import { ChannelState, type ResyncReason } from './channels.ts';
import { Emitter } from './emitter.ts';
import { httpGet, type FetchLike } from './http.ts';
import { OPEN, endpoints, socketErrorText, socketFactory, type Endpoints, type SocketFactory, type WebSocketLike } from './socket.ts';
import { Subscription } from './subscription.ts';
import type {
  ClientEvents,
  ClientGap,
  ClientSnapshot,
  ClientStats,
  ConnectionState,
  StateChange,
  StreamFormat,
  SubscribeOptions,
  SubscriptionHandlers,
  TickwireClientOptions,
} from './types.ts';

/** One subscribe/unsubscribe message in flight, kept to re-send or split when refused. */
interface Request {
  kind: 'subscribe' | 'resume' | 'resync' | 'unsubscribe';
  /** Subscriptions the reply's channels belong to (none for resync and unsubscribe). */
  subs: Subscription[];
  channels: string[];
  since: Record<string, number> | undefined;
  /** Left out after the server refused it (a new epoch whose seqs are behind ours). */
  sinceDropped: boolean;
  snapshot: number;
  /** RATE_LIMITED retries so far. */
  retries: number;
}

/** The snapshots following a `subscribed` reply belong to its request: the server sends them before anything else. */
interface SnapshotWindow {
  request: Request;
  channels: Set<string>;
}

/** How far back a resync snapshot reaches beyond the newest bar delivered (late amendments of recent bars). */
const RESYNC_MARGIN_BARS = 3;
/** Bars remembered per bars channel for resyncs, at least. */
const MIN_BAR_MEMORY = 128;
const DEFAULT_HEARTBEAT_MS = 15_000;
const DEFAULT_OPEN_TIMEOUT_MS = 10_000;
const DEFAULT_HTTP_TIMEOUT_MS = 5_000;
/** First pause before re-sending a RATE_LIMITED request, ms (doubles per retry, up to the reconnect maxMs). */
const RATE_LIMIT_PAUSE_MS = 500;
const CLOSE_NORMAL = 1000;
/** Private-use close code: the client gave up on a silent connection. */
const CLOSE_HEARTBEAT = 4000;
const NOOP = (): void => {};

const CODES = new Set<string>(Object.values(ErrorCode));

function positiveMs(name: string, v: number | undefined, fallback: number, zeroOk = false): number {
  if (v === undefined) return fallback;
  if (!Number.isFinite(v) || v < 0 || (v === 0 && !zeroOk)) {
    throw new InvalidParameterError(name, v, zeroOk ? 'a number of milliseconds ≥ 0' : 'a number of milliseconds > 0');
  }
  return v;
}

/** A subscriber and HTTP reader of one tickwire server. See the module comment for the delivery contract. */
export class TickwireClient {
  readonly #endpoints: Endpoints;
  readonly #token: string | undefined;
  readonly #format: StreamFormat;
  readonly #backoff: Backoff;
  readonly #heartbeatMs: number;
  readonly #openTimeoutMs: number;
  readonly #httpTimeoutMs: number;
  readonly #fetch: FetchLike;
  readonly #candles: CandleChain;
  readonly #injectedWs: TickwireClientOptions['WebSocket'];
  readonly #events: Emitter<ClientEvents>;
  readonly #stats: ClientStats = {
    reconnects: 0, messages: 0, duplicatesDropped: 0, unchangedBarsDropped: 0, gaps: 0, resyncs: 0, malformed: 0,
  };

  #state: ConnectionState = 'idle';
  #ws: WebSocketLike | null = null;
  #factory: Promise<SocketFactory> | undefined;
  #decode: ((bytes: Uint8Array) => StreamMessage) | undefined;
  /** Why the current attempt's socket failed, as far as the runtime said. */
  #socketError = '';
  #epoch: string | null = null;
  readonly #subs = new Set<Subscription>();
  readonly #channels = new Map<string, ChannelState>();
  /** Requests in flight on the current connection, by id. */
  readonly #requests = new Map<number, Request>();
  #window: SnapshotWindow | null = null;
  #nextId = 1;
  #nextKey = 1;
  #opened = 0;
  #heard = true;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #openTimer: ReturnType<typeof setTimeout> | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #resyncTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #retryTimers = new Set<ReturnType<typeof setTimeout>>();
  #openWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  #closing: Promise<void> | undefined;

  /** Validates the options (InvalidParameterError naming the bad one); connects on the first `subscribe()` or `connect()`. */
  constructor(options: TickwireClientOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidParameterError('options', options, 'an object { url, ... }');
    this.#endpoints = endpoints(options.url);
    if (options.token !== undefined && (typeof options.token !== 'string' || options.token === '')) {
      throw new InvalidParameterError('token', typeof options.token, 'a non-empty string');
    }
    this.#token = options.token;
    const format = options.format ?? 'json';
    if (format !== 'json' && format !== 'fbs') throw new InvalidParameterError('format', format, "'json' or 'fbs'");
    this.#format = format;
    this.#backoff = new Backoff(options.reconnect ?? {});
    this.#heartbeatMs = positiveMs('heartbeatMs', options.heartbeatMs, DEFAULT_HEARTBEAT_MS, true);
    this.#openTimeoutMs = positiveMs('openTimeoutMs', options.openTimeoutMs, DEFAULT_OPEN_TIMEOUT_MS);
    this.#httpTimeoutMs = positiveMs('httpTimeoutMs', options.httpTimeoutMs, DEFAULT_HTTP_TIMEOUT_MS);
    if (options.WebSocket !== undefined && typeof options.WebSocket !== 'function') {
      throw new InvalidParameterError('WebSocket', typeof options.WebSocket, 'a WebSocket class');
    }
    this.#injectedWs = options.WebSocket;
    if (options.fetch !== undefined && typeof options.fetch !== 'function') throw new InvalidParameterError('fetch', typeof options.fetch, 'a function');
    this.#fetch = options.fetch ?? globalFetch;
    const c = options.candles ?? {};
    if (c.tickwire !== undefined && (typeof c.tickwire?.bars !== 'function' || typeof c.tickwire.resolveSymbol !== 'function')) {
      throw new InvalidParameterError('candles.tickwire', typeof c.tickwire, 'a Tickwire instance (createTickwire())');
    }
    if (c.source !== undefined && typeof c.source !== 'function') throw new InvalidParameterError('candles.source', typeof c.source, 'a function');
    this.#candles = new CandleChain({
      http: this.#endpoints.http,
      fetch: this.#fetch,
      token: this.#token,
      binary: format === 'fbs',
      timeoutMs: positiveMs('candles.timeoutMs', c.timeoutMs, DEFAULT_CANDLE_TIMEOUT_MS),
      tickwire: c.tickwire,
      source: c.source,
    });
    this.#events = new Emitter<ClientEvents>((err) => this.#report(err, 'an event listener'));
  }

  // ── public surface ─────────────────────────────────────────────────────

  /** The connection's state now. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** The server's epoch from the last `subscribed` reply; null before the first. */
  get epoch(): string | null {
    return this.#epoch;
  }

  /** Counters (a copy). */
  get stats(): ClientStats {
    return { ...this.#stats };
  }

  /** Listen to `state`, `error` or `epoch`; returns the function that stops listening. */
  on<K extends keyof ClientEvents>(event: K, listener: (payload: ClientEvents[K]) => void): () => void {
    return this.#events.on(event, listener);
  }

  /** Open the stream now (subscribe() does it on first use); resolves once connected, rejects if `close()` comes first. */
  connect(): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(closedError());
    if (this.#state === 'open') return Promise.resolve();
    const opened = new Promise<void>((resolve, reject) => this.#openWaiters.push({ resolve, reject }));
    if (this.#state === 'idle') this.#start();
    return opened;
  }

  /**
   * Subscribe `channels` (concrete names or wildcards such as `trades:binance:*`)
   * with one callback per message type. Throws InvalidParameterError at once for
   * bad arguments; a channel the server refuses ends the subscription through its
   * `error` handler. Returns the function that unsubscribes (idempotent).
   */
  subscribe(channels: string | readonly string[], handlers: SubscriptionHandlers, options: SubscribeOptions = {}): () => void {
    if (this.#state === 'closed') throw closedError();
    const sub = new Subscription(this.#nextKey++, channels, handlers, options);
    this.#subs.add(sub);
    if (this.#state === 'idle') this.#start();
    else if (this.#state === 'open') this.#sendSubscribe(sub);
    return () => this.#unsubscribe(sub);
  }

  /** Candles through the fallback chain (HTTP API, in-process tickwire, user source); see candles.ts. */
  candles(exchange: string, symbol: string, timeframe: string, query: CandleQuery = {}): Promise<CandlesResult> {
    return this.#candles.read(exchange, symbol, timeframe, query);
  }

  /**
   * `GET /health`: `ok`, or `unavailable` with the server's reasons; an unreachable
   * server is `unavailable` too (`httpStatus` null). An API error (401, 429) throws it.
   */
  async health(): Promise<HealthReport & { httpStatus: number | null }> {
    let answer: { status: number; body: string };
    try {
      answer = await httpGet(`${this.#endpoints.http}/health`, { fetch: this.#fetch, token: this.#token, timeoutMs: this.#httpTimeoutMs }, 'text', [503]);
    } catch (err) {
      if (err instanceof TickwireError) throw err;
      return { status: 'unavailable', reasons: [`server unreachable: ${(err as Error).message}`], httpStatus: null };
    }
    if (answer.status !== 503) return { status: 'ok', reasons: [], httpStatus: answer.status };
    let reasons: string[] = [];
    try {
      const body = JSON.parse(answer.body) as { reasons?: unknown };
      if (Array.isArray(body.reasons)) reasons = body.reasons.map(String);
    } catch {
      reasons = [answer.body.slice(0, 200)];
    }
    return { status: 'unavailable', reasons, httpStatus: 503 };
  }

  /** Close the stream for good (no reconnect); resolves when the socket is closed. Idempotent. */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#setState({ state: 'closed' });
    this.#clearConnectionTimers();
    clearTimeout(this.#reconnectTimer);
    for (const w of this.#openWaiters.splice(0)) w.reject(closedError());
    const ws = this.#ws;
    this.#ws = null;
    this.#requests.clear();
    if (ws === null) return (this.#closing = Promise.resolve());
    this.#closing = new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(force);
        resolve();
      };
      // A peer that never answers the close handshake must not hold close() up.
      const force = setTimeout(() => {
        terminate(ws);
        resolve();
      }, 2000);
      ws.onopen = NOOP;
      ws.onmessage = NOOP;
      ws.onerror = NOOP;
      ws.onclose = done;
      ws.close(CLOSE_NORMAL, 'client closed');
    });
    return this.#closing;
  }

  // ── connection ─────────────────────────────────────────────────────────

  #start(): void {
    this.#setState({ state: 'connecting' });
    void this.#attempt();
  }

  async #attempt(): Promise<void> {
    this.#reconnectTimer = undefined;
    if (this.#state === 'closed') return;
    let factory: SocketFactory;
    try {
      this.#factory ??= socketFactory(this.#injectedWs);
      factory = await this.#factory;
      if (this.#format === 'fbs' && this.#decode === undefined) this.#decode = (await import('../wire/fbs.ts')).decodeMessage;
    } catch (err) {
      // No WebSocket implementation (or no decoder): retrying will not help.
      this.#factory = undefined;
      this.#report(err, 'loading the WebSocket implementation');
      void this.close();
      return;
    }
    if (this.#closed()) return; // close() may have come while loading
    let ws: WebSocketLike;
    this.#socketError = '';
    try {
      ws = factory.open(this.#endpoints, this.#format, this.#token);
    } catch (err) {
      this.#report(err, 'opening the WebSocket');
      this.#retry(1006, (err as Error).message);
      return;
    }
    this.#ws = ws;
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => this.#onOpen(ws);
    ws.onmessage = (ev) => this.#onMessage(ws, ev.data);
    ws.onerror = (ev) => {
      this.#socketError = socketErrorText(ev);
    };
    ws.onclose = (ev) => this.#onClose(ws, ev.code, ev.reason || this.#socketError);
    this.#openTimer = setTimeout(() => {
      if (this.#ws !== ws || ws.readyState === OPEN) return;
      terminate(ws);
      this.#onClose(ws, 1006, `not open after ${this.#openTimeoutMs} ms`);
    }, this.#openTimeoutMs);
  }

  #onOpen(ws: WebSocketLike): void {
    if (this.#ws !== ws) return;
    clearTimeout(this.#openTimer);
    if (this.#opened++ > 0) this.#stats.reconnects++;
    this.#backoff.reset();
    this.#heard = true;
    if (this.#heartbeatMs > 0) this.#heartbeat = setInterval(() => this.#beat(ws), this.#heartbeatMs);
    this.#resubscribe();
    // After the re-subscribe: a listener that subscribes now must not be sent twice.
    this.#setState({ state: 'open' });
    for (const w of this.#openWaiters.splice(0)) w.resolve();
  }

  #onClose(ws: WebSocketLike, code: number, reason: string): void {
    if (this.#ws !== ws) return;
    ws.onopen = NOOP;
    ws.onmessage = NOOP;
    ws.onclose = NOOP;
    ws.onerror = NOOP; // `ws` throws an error event nobody listens to: keep a listener
    this.#ws = null;
    if (this.#state === 'closed') return;
    if (this.#state !== 'open') {
      // Refused before opening: tell what the runtime knows (browsers know nothing).
      if (/\b401\b/.test(reason)) this.#report(new TickwireError(ErrorCode.UNAUTHORIZED, `the server refused the credentials: ${reason}`), 'connecting');
      else if (/\b429\b/.test(reason)) this.#report(new TickwireError(ErrorCode.RATE_LIMITED, `the server refused the connection: ${reason}`), 'connecting');
    }
    this.#retry(code, reason);
  }

  /** Forget the lost connection's requests and timers, then reconnect after a backoff. */
  #retry(code: number, reason: string): void {
    this.#clearConnectionTimers();
    this.#requests.clear();
    this.#window = null;
    for (const st of this.#channels.values()) st.resyncSent = false;
    if (this.#state === 'closed') return;
    const delayMs = this.#backoff.next();
    this.#setState({ state: 'reconnecting', attempt: this.#backoff.attempt, delayMs, code, reason });
    this.#reconnectTimer = setTimeout(() => void this.#attempt(), delayMs);
  }

  #clearConnectionTimers(): void {
    clearTimeout(this.#openTimer);
    clearTimeout(this.#resyncTimer);
    this.#resyncTimer = undefined;
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    for (const t of this.#retryTimers) clearTimeout(t);
    this.#retryTimers.clear();
  }

  /** Heartbeat: nothing heard since the last ping means a dead connection (half-open TCP): drop it and reconnect. */
  #beat(ws: WebSocketLike): void {
    if (this.#ws !== ws) return;
    if (!this.#heard) {
      terminate(ws);
      this.#onClose(ws, CLOSE_HEARTBEAT, `no answer to a ping within ${this.#heartbeatMs} ms`);
      return;
    }
    this.#heard = false;
    ws.send('{"op":"ping","id":"heartbeat"}');
  }

  /** A method, not a field read, so TypeScript does not narrow the state across an await. */
  #closed(): boolean {
    return this.#state === 'closed';
  }

  #setState(change: StateChange): void {
    this.#state = change.state;
    this.#events.emit('state', change);
  }

  #report(err: unknown, where: string): void {
    const e = err instanceof Error ? err : new TickwireError(ErrorCode.INTERNAL_ERROR, `${where}: ${String(err)}`);
    this.#events.emit('error', e);
  }

  // ── requests ───────────────────────────────────────────────────────────

  /** Send a request on the open connection; when there is none it is dropped (the next open re-subscribes everything). */
  #send(req: Request): void {
    const ws = this.#ws;
    if (ws === null || ws.readyState !== OPEN) return;
    const id = this.#nextId++;
    this.#requests.set(id, req);
    const msg: Record<string, unknown> = { op: req.kind === 'unsubscribe' ? 'unsubscribe' : 'subscribe', id, channels: req.channels };
    if (req.snapshot > 0) msg['snapshot'] = req.snapshot;
    if (req.since !== undefined && !req.sinceDropped) {
      msg['since'] = req.since;
      // The seqs are of this epoch: a restarted server counts them as 0 and replays all it holds.
      if (this.#epoch !== null) msg['epoch'] = this.#epoch;
    }
    ws.send(JSON.stringify(msg));
  }

  #sendSubscribe(sub: Subscription): void {
    this.#send({ kind: 'subscribe', subs: [sub], channels: [...sub.given], since: undefined, sinceDropped: false, snapshot: sub.snapshot, retries: 0 });
  }

  /**
   * Re-subscribe `subs` with `since`: every concrete channel they hold, then their wildcards (last, so a
   * wildcard's expansion never joins a channel before the message that carries its `since`), at most
   * MAX_CHANNELS_PER_MESSAGE names per message. `only`: just those concrete channels, no wildcards.
   */
  #sendResume(subs: Iterable<Subscription>, only?: ReadonlySet<string>): void {
    const entries: { sub: Subscription; name: string }[] = [];
    const placed = new Set<string>();
    const live = [...subs].filter((sub) => sub.live);
    for (const sub of live) {
      for (const name of sub.concrete) {
        if ((only === undefined || only.has(name)) && !placed.has(name)) {
          placed.add(name);
          entries.push({ sub, name });
        }
      }
    }
    if (only === undefined) {
      for (const sub of live) {
        for (const p of sub.patterns) {
          if (!placed.has(p.text)) {
            placed.add(p.text);
            entries.push({ sub, name: p.text });
          }
        }
      }
    }
    for (let i = 0; i < entries.length; i += MAX_CHANNELS_PER_MESSAGE) {
      const chunk = entries.slice(i, i + MAX_CHANNELS_PER_MESSAGE);
      const since: Record<string, number> = {};
      let any = false;
      for (const { name } of chunk) {
        const last = this.#channels.get(name)?.lastSeq;
        if (last !== undefined && last !== null) {
          since[name] = last;
          any = true;
        }
      }
      this.#send({
        kind: 'resume',
        subs: [...new Set(chunk.map((e) => e.sub))],
        channels: chunk.map((e) => e.name),
        since: any ? since : undefined,
        sinceDropped: false,
        snapshot: 0,
        retries: 0,
      });
    }
  }

  #sendUnsubscribe(names: string[]): void {
    for (let i = 0; i < names.length; i += MAX_CHANNELS_PER_MESSAGE) {
      const channels = names.slice(i, i + MAX_CHANNELS_PER_MESSAGE);
      this.#send({ kind: 'unsubscribe', subs: [], channels, since: undefined, sinceDropped: false, snapshot: 0, retries: 0 });
    }
  }

  /** After (re)connecting: resume what was acknowledged, subscribe what never was. */
  #resubscribe(): void {
    const active: Subscription[] = [];
    for (const sub of this.#subs) if (sub.state === 'active') active.push(sub);
    this.#sendResume(active);
    for (const sub of this.#subs) if (sub.state === 'pending') this.#sendSubscribe(sub);
  }

  /**
   * Ask the channels that need repair again: bars with a snapshot deep enough to reach back to the
   * newest bar delivered, `system` for the current states. Batched: gaps come in bursts (a slow
   * consumer's catch-up), and each request costs one of the connection's subscribe tokens.
   */
  #sendResyncs(): void {
    if (this.#resyncTimer !== undefined) return;
    this.#resyncTimer = setTimeout(() => {
      this.#resyncTimer = undefined;
      this.#sendResyncsNow();
    }, 0);
  }

  #sendResyncsNow(): void {
    if (this.#ws === null || this.#ws.readyState !== OPEN) return;
    const due: ChannelState[] = [];
    for (const st of this.#channels.values()) if (st.resync !== null && !st.resyncSent && st.subs.size > 0) due.push(st);
    for (let i = 0; i < due.length; i += MAX_CHANNELS_PER_MESSAGE) {
      const chunk = due.slice(i, i + MAX_CHANNELS_PER_MESSAGE);
      let depth = 1;
      for (const st of chunk) {
        st.resyncSent = true;
        if (st.bars === undefined) continue;
        const newest = st.bars.newestOpenTime;
        const want = newest === undefined || st.tfMs === 0 ? 1 : Math.ceil((Date.now() - newest) / st.tfMs) + RESYNC_MARGIN_BARS;
        depth = Math.max(depth, Math.min(MAX_SNAPSHOT, want));
      }
      this.#stats.resyncs += chunk.length;
      this.#send({ kind: 'resync', subs: [], channels: chunk.map((st) => st.name), since: undefined, sinceDropped: false, snapshot: depth, retries: 0 });
    }
  }

  #wantResync(st: ChannelState, reason: ResyncReason): void {
    if (st.resync === null) st.resync = reason;
    this.#sendResyncs();
  }

  /** Re-send a RATE_LIMITED request after a growing pause (on this connection; a reconnect re-subscribes anyway). */
  #retryLater(req: Request): void {
    const pause = Math.min(this.#backoff.maxMs, RATE_LIMIT_PAUSE_MS * 2 ** Math.min(req.retries, 16));
    req.retries++;
    const t = setTimeout(() => {
      this.#retryTimers.delete(t);
      if (req.kind === 'resync') {
        for (const name of req.channels) {
          const st = this.#channels.get(name);
          if (st !== undefined) st.resyncSent = false;
        }
        this.#sendResyncs();
      } else if (req.kind === 'unsubscribe' || req.subs.some((s) => s.live)) {
        this.#send(req);
      }
    }, pause * (0.5 + Math.random() / 2));
    this.#retryTimers.add(t);
  }

  #unsubscribe(sub: Subscription): void {
    if (!sub.live) return;
    const wasSent = sub.state === 'active' || this.#ws !== null;
    sub.state = 'closed';
    this.#subs.delete(sub);
    const dropped = this.#release(sub);
    if (!wasSent) return;
    const names = [...dropped, ...sub.patterns.map((p) => p.text)];
    if (names.length > 0) this.#sendUnsubscribe(names);
  }

  /** Detach `sub` from its channels; returns the channels nobody holds any more (forgotten). */
  #release(sub: Subscription): string[] {
    const dropped: string[] = [];
    for (const name of sub.concrete) {
      const st = this.#channels.get(name);
      if (st === undefined) continue;
      st.subs.delete(sub);
      if (st.subs.size === 0) {
        this.#channels.delete(name);
        dropped.push(name);
      }
    }
    return dropped;
  }

  #fail(sub: Subscription, err: TickwireError): void {
    if (!sub.live) return;
    sub.state = 'failed';
    this.#subs.delete(sub);
    const dropped = this.#release(sub);
    if (dropped.length > 0 && this.#state === 'open') this.#sendUnsubscribe(dropped);
    if (sub.handlers.error !== undefined) this.#call(sub.handlers.error, err, sub.given.join(', '));
    else this.#report(err, 'a subscription');
  }

  // ── incoming ───────────────────────────────────────────────────────────

  #onMessage(ws: WebSocketLike, data: unknown): void {
    if (this.#ws !== ws) return;
    this.#heard = true;
    let m: StreamMessage;
    try {
      m = this.#parse(data);
    } catch (err) {
      this.#stats.malformed++;
      this.#report(new TickwireError(ErrorCode.INTERNAL_ERROR, `undecodable message from the server: ${(err as Error).message}`, { cause: err }), 'decoding');
      return;
    }
    this.#stats.messages++;
    switch (m.type) {
      case 'trade':
      case 'quote':
      case 'bar':
      case 'system':
      case 'alert':
        this.#onLive(m);
        break;
      case 'snapshot':
        this.#onSnapshot(m);
        break;
      case 'gap':
        this.#onGap(m);
        break;
      case 'subscribed':
        this.#endReplyRuns();
        this.#onSubscribed(m);
        break;
      case 'unsubscribed':
        this.#endReplyRuns();
        this.#onUnsubscribed(m);
        break;
      case 'error':
        this.#endReplyRuns();
        this.#onError(m);
        break;
      case 'pong':
        this.#endReplyRuns();
        break;
      default:
        this.#stats.malformed++;
    }
  }

  /** A new reply: whatever followed the previous one (snapshots, system states) is over. */
  #endReplyRuns(): void {
    this.#window = null;
    const system = this.#channels.get('system');
    if (system !== undefined) system.states = null;
  }

  #parse(data: unknown): StreamMessage {
    let m: unknown;
    if (typeof data === 'string') m = JSON.parse(data);
    else {
      const decode = this.#decode;
      if (decode === undefined) throw new Error('a binary frame on a JSON stream');
      if (data instanceof ArrayBuffer) m = decode(new Uint8Array(data));
      else if (ArrayBuffer.isView(data)) m = decode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      else throw new Error(`unexpected frame data ${typeof data}`);
    }
    if (typeof m !== 'object' || m === null || typeof (m as { type?: unknown }).type !== 'string') throw new Error('not a protocol message');
    return m as StreamMessage;
  }

  #onSubscribed(m: SubscribedMessage): void {
    this.#checkEpoch(m.epoch);
    if (!Array.isArray(m.channels)) return;
    if (m.id === null) {
      this.#onAnnounced(m);
      return;
    }
    const req = typeof m.id === 'number' ? this.#requests.get(m.id) : undefined;
    if (req === undefined) return;
    this.#requests.delete(m.id as number);
    const window = new Set<string>();
    const orphans: string[] = [];
    for (const name of m.channels) {
      const owners = req.kind === 'resync' ? [] : this.#owners(req, name);
      let st = this.#channels.get(name);
      if (st === undefined) {
        const parts = channelParts(name);
        if (owners.length === 0 || parts === undefined) {
          if (req.kind !== 'resync') orphans.push(name);
          continue;
        }
        st = new ChannelState(name, parts, Math.max(MIN_BAR_MEMORY, ...owners.map((s) => s.snapshot)));
        this.#channels.set(name, st);
      }
      for (const sub of owners) {
        sub.concrete.add(name);
        st.subs.add(sub);
      }
      const fresh = req.sinceDropped || req.since?.[name] === undefined;
      if (st.kind === 'bars' && req.snapshot > 0 && fresh) window.add(name);
      // Re-joined without a replay: what changed meanwhile comes from a snapshot.
      if (st.kind === 'bars' && req.kind === 'resume' && fresh && st.resync === null) st.resync = 'history';
      if (st.kind === 'system' && fresh) {
        st.states = { subs: req.kind === 'subscribe' ? owners : [...st.subs], seq: null };
        if (req.kind === 'resync') {
          st.resync = null;
          st.resyncSent = false;
        }
      }
    }
    if (req.kind === 'subscribe' || req.kind === 'resume') {
      const epoch = typeof m.epoch === 'string' ? m.epoch : null;
      for (const sub of req.subs) {
        if (!sub.live) continue;
        const resumed = sub.state === 'active';
        sub.state = 'active';
        const channels = m.channels.filter((name) => this.#channels.get(name)?.subs.has(sub) === true);
        this.#call(sub.handlers.subscribed, { channels, epoch, resumed }, sub.given.join(', '));
      }
    }
    if (window.size > 0) this.#window = { request: req, channels: window };
    if (orphans.length > 0) this.#sendUnsubscribe(orphans);
    this.#sendResyncs();
  }

  /** Which of the request's subscriptions a channel in its reply belongs to. */
  #owners(req: Request, name: string): Subscription[] {
    const out: Subscription[] = [];
    for (const sub of req.subs) {
      if (!sub.live) continue;
      if (req.kind === 'subscribe' || sub.concrete.has(name) || sub.given.includes(name) || sub.claims(name)) out.push(sub);
    }
    return out;
  }

  /** `subscribed` with id null: the server joined us to a channel that appeared under one of our wildcards. */
  #onAnnounced(m: SubscribedMessage): void {
    const epoch = typeof m.epoch === 'string' ? m.epoch : null;
    const orphans: string[] = [];
    for (const name of m.channels) {
      const known = this.#channels.get(name);
      const st = known ?? this.#adopt(name);
      if (st === undefined) {
        orphans.push(name); // its wildcard was unsubscribed meanwhile
        continue;
      }
      if (known !== undefined) continue;
      for (const sub of st.subs) this.#call(sub.handlers.subscribed, { channels: [name], epoch, resumed: false }, name);
    }
    if (orphans.length > 0) this.#sendUnsubscribe(orphans);
  }

  /** A new epoch: the server restarted and its seqs start over; old seqs are void. */
  #checkEpoch(epoch: unknown): void {
    if (typeof epoch !== 'string' || epoch === this.#epoch) return;
    const previous = this.#epoch;
    this.#epoch = epoch;
    if (previous !== null) {
      for (const st of this.#channels.values()) {
        const last = st.lastSeq;
        st.lastSeq = null;
        if (st.kind === 'bars') {
          if (last !== null || st.bars!.size > 0) st.resync = 'restart';
        } else if (st.kind === 'system') {
          // No notice: asking again brings every exchange's current state.
          st.resync = 'restart';
        } else {
          this.#deliverGap(st, { type: 'gap', channel: st.name, fromSeq: (last ?? 0) + 1, toSeq: null, reason: 'restart' });
        }
      }
    }
    this.#events.emit('epoch', { epoch, previous });
  }

  #onUnsubscribed(m: UnsubscribedMessage): void {
    if (typeof m.id === 'number') this.#requests.delete(m.id);
    if (!Array.isArray(m.channels)) return;
    // A wildcard unsubscribed on the server takes its expansion along: re-join what another subscription still holds.
    const still = new Set<string>();
    const holders = new Set<Subscription>();
    for (const name of m.channels) {
      const st = this.#channels.get(name);
      if (st === undefined || st.subs.size === 0) continue;
      still.add(name);
      for (const sub of st.subs) holders.add(sub);
    }
    if (still.size > 0) this.#sendResume(holders, still);
  }

  #onError(m: ErrorMessage): void {
    const code = CODES.has(m.code) ? (m.code as ErrorCode) : ErrorCode.INTERNAL_ERROR;
    const err = new TickwireError(code, String(m.message));
    const req = typeof m.id === 'number' ? this.#requests.get(m.id) : undefined;
    if (req === undefined) {
      this.#report(err, 'the stream');
      return;
    }
    this.#requests.delete(m.id as number);
    if (code === ErrorCode.RATE_LIMITED) {
      this.#retryLater(req);
      return;
    }
    if (req.since !== undefined && !req.sinceDropped && code === ErrorCode.INVALID_PARAMETER) {
      // Most likely a new server whose seqs are behind ours; its `subscribed` will tell (epoch).
      req.sinceDropped = true;
      this.#send(req);
      return;
    }
    if (req.kind === 'unsubscribe') {
      this.#report(err, 'unsubscribing');
      return;
    }
    if (req.kind === 'resync') {
      for (const name of req.channels) {
        const st = this.#channels.get(name);
        if (st !== undefined) {
          st.resync = null;
          st.resyncSent = false;
        }
      }
      this.#report(err, 'resyncing bars');
      return;
    }
    const live = req.subs.filter((s) => s.live);
    if (req.kind === 'resume' && live.length > 1) {
      // One bad channel refuses the whole batch: let each subscription get its own answer.
      for (const sub of live) this.#sendResume([sub]);
      return;
    }
    for (const sub of live) this.#fail(sub, err);
  }

  #onLive(m: TradeMessage | QuoteMessage | BarMessage | SystemMessage | AlertMessage): void {
    const st = this.#channels.get(m.channel) ?? this.#adopt(m.channel);
    if (st === undefined) return; // after an unsubscribe, before the server saw it
    if (typeof m.seq !== 'number') {
      this.#stats.malformed++;
      return;
    }
    if (st.states !== null && m.type === 'system') {
      const run = st.states;
      if (run.seq === null || run.seq === m.seq) {
        // The current states after a subscribe: all at one seq, to the subscriptions that asked.
        run.seq = m.seq;
        if (st.lastSeq === null || m.seq > st.lastSeq) st.lastSeq = m.seq;
        for (const sub of run.subs) if (sub.live && st.subs.has(sub)) this.#call(sub.handlers.system, m, st.name);
        return;
      }
      st.states = null;
    }
    const r = st.advance(m.seq);
    if (r === 'dup') {
      this.#stats.duplicatesDropped++;
      return;
    }
    if (r !== 'next') {
      if (st.kind === 'bars') this.#wantResync(st, 'unannounced');
      else this.#deliverGap(st, { type: 'gap', channel: st.name, fromSeq: m.seq - r, toSeq: m.seq - 1, reason: 'unannounced' });
    }
    if (st.bars !== undefined && !st.bars.accept(m as BarMessage)) {
      this.#stats.unchangedBarsDropped++;
      return;
    }
    for (const sub of st.subs) {
      const h = sub.handlers;
      switch (m.type) {
        case 'trade':
          this.#call(h.trade, m, st.name);
          break;
        case 'quote':
          this.#call(h.quote, m, st.name);
          break;
        case 'bar':
          this.#call(h.bar, m, st.name);
          break;
        case 'system':
          this.#call(h.system, m, st.name);
          break;
        case 'alert':
          this.#call(h.alert, m, st.name);
          break;
      }
    }
  }

  /** A channel the server added later under a wildcard (a new symbol): attach it to the subscriptions it matches. */
  #adopt(name: string): ChannelState | undefined {
    const parts = channelParts(name);
    if (parts === undefined) return undefined;
    let st: ChannelState | undefined;
    for (const sub of this.#subs) {
      if (sub.state !== 'active' || !sub.claims(name)) continue;
      st ??= new ChannelState(name, parts, Math.max(MIN_BAR_MEMORY, sub.snapshot));
      st.subs.add(sub);
      sub.concrete.add(name);
    }
    if (st !== undefined) this.#channels.set(name, st);
    return st;
  }

  #onSnapshot(m: SnapshotMessage): void {
    const st = this.#channels.get(m.channel);
    if (st === undefined || st.bars === undefined || !Array.isArray(m.bars)) return;
    const w = this.#window;
    const req = w !== null && w.channels.delete(m.channel) ? w.request : undefined;
    if (st.lastSeq === null || m.seq > st.lastSeq) st.lastSeq = m.seq;
    if (req?.kind === 'subscribe') {
      // The first snapshot of a new subscription: all of it, to that subscription only.
      for (const b of m.bars) st.bars.accept(b);
      for (const sub of req.subs) if (sub.live && st.subs.has(sub)) this.#deliverSnapshot(sub, st, m);
      return;
    }
    // A resync: only what is new or changed, to every subscription of the channel.
    const reason = st.resync ?? 'unannounced';
    const newest = st.bars.newestOpenTime;
    st.resync = null;
    st.resyncSent = false;
    const fresh = m.bars.filter((b) => st.bars!.accept(b));
    const first = m.bars[0];
    if (newest !== undefined && first !== undefined && st.tfMs > 0 && first.openTime > newest + st.tfMs) {
      this.#deliverGap(st, {
        type: 'gap', channel: st.name, fromSeq: 0, toSeq: null, reason, fromTime: newest + st.tfMs, toTime: first.openTime - st.tfMs,
      });
    }
    if (fresh.length === 0) return;
    const resync: ClientSnapshot = { type: 'snapshot', channel: m.channel, seq: m.seq, bars: fresh, resync: true };
    for (const sub of st.subs) this.#deliverSnapshot(sub, st, resync);
  }

  /** To the `snapshot` handler; without one, bar by bar to `bar` (as bar messages at the snapshot's seq). */
  #deliverSnapshot(sub: Subscription, st: ChannelState, m: ClientSnapshot): void {
    const h = sub.handlers;
    if (h.snapshot !== undefined) {
      this.#call(h.snapshot, m, st.name);
      return;
    }
    if (h.bar === undefined) return;
    const { exchange, symbol, timeframe } = st.parts;
    for (const b of m.bars) this.#call(h.bar, barMessage(st.name, m.seq, exchange, symbol, timeframe, b), st.name);
  }

  #onGap(m: GapMessage): void {
    const st = this.#channels.get(m.channel);
    if (st === undefined || typeof m.toSeq !== 'number') return;
    if (st.lastSeq !== null && m.toSeq <= st.lastSeq) return; // nothing we have not had
    const fromSeq = st.lastSeq === null ? m.fromSeq : Math.max(m.fromSeq, st.lastSeq + 1);
    st.lastSeq = m.toSeq;
    if (st.kind === 'bars') {
      this.#wantResync(st, m.reason);
      return;
    }
    this.#deliverGap(st, fromSeq === m.fromSeq ? m : { ...m, fromSeq });
  }

  #deliverGap(st: ChannelState, gap: ClientGap): void {
    this.#stats.gaps++;
    for (const sub of st.subs) this.#call(sub.handlers.gap, gap, st.name);
  }

  /** Call a user handler; one that throws is reported, never breaks delivery. */
  #call<T>(fn: ((m: T) => void) | undefined, m: T, channel: string): void {
    if (fn === undefined) return;
    try {
      fn(m);
    } catch (err) {
      this.#report(new TickwireError(ErrorCode.INTERNAL_ERROR, `a handler for ${channel} threw: ${(err as Error)?.message ?? String(err)}`, { cause: err }), 'a handler');
    }
  }
}

/** A bar message built from a snapshot's bar, fields in the protocol's order. */
function barMessage(channel: string, seq: number, exchange: string, symbol: string, timeframe: string, b: BarJson): BarMessage {
  return { type: 'bar', channel, seq, exchange, symbol, timeframe, ...b };
}

function closedError(): TickwireError {
  return new TickwireError(ErrorCode.INVALID_PARAMETER, 'the client is closed: create a new TickwireClient');
}

/** Close without the handshake where the implementation can (`ws`), else normally. */
function terminate(ws: WebSocketLike): void {
  const t = (ws as { terminate?: () => void }).terminate;
  if (typeof t === 'function') t.call(ws);
  else ws.close();
}

/** The global fetch, looked up when called (so a client can be built where there is none, to stream only). */
const globalFetch: FetchLike = (url, init) => {
  const f = (globalThis as { fetch?: FetchLike }).fetch;
  if (typeof f !== 'function') {
    return Promise.reject(new TickwireError(ErrorCode.INVALID_PARAMETER, 'this runtime has no fetch: pass one in the fetch option'));
  }
  return f(url, init);
};

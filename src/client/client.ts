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

 *
 * Where it is done: connection.ts (socket, heartbeat, reconnect),
 * requests.ts (subscribe/unsubscribe messages, splitting, retries, resyncs),
 * dispatch.ts (routing, replies, epochs), delivery.ts (seqs, gaps,
 * snapshots to the handlers), channels.ts (the channels each subscription
 * holds); this class validates the options, wires those parts together and
 * is the public surface.
 */
import { ErrorCode, InvalidParameterError, TickwireError } from '../errors.ts';
import type { HealthReport } from '../model/status.ts';
import { Backoff } from './backoff.ts';
import { CandleChain, DEFAULT_CANDLE_TIMEOUT_MS, type CandleQuery, type CandlesResult } from './candles.ts';
import { ChannelRegistry } from './channels.ts';
import { Connection, closedError, type Report } from './connection.ts';
import { Delivery } from './delivery.ts';
import { Dispatcher } from './dispatch.ts';
import { Emitter } from './emitter.ts';
import { readHealth } from './health.ts';
import type { FetchLike, GetOptions } from './http.ts';
import { Requests } from './requests.ts';
import { defaultServerUrl } from './server-url.ts';
import { endpoints, type Endpoints } from './socket.ts';
import { Subscription } from './subscription.ts';
import type {
  ClientEvents,
  ClientStats,
  ConnectionState,
  SubscribeOptions,
  SubscriptionHandlers,
  TickwireClientOptions,
} from './types.ts';

const DEFAULT_HEARTBEAT_MS = 15_000;
const DEFAULT_OPEN_TIMEOUT_MS = 10_000;
const DEFAULT_HTTP_TIMEOUT_MS = 5_000;

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
  /** How `health()` asks. */
  readonly #http: GetOptions;
  readonly #candles: CandleChain;
  readonly #events: Emitter<ClientEvents>;
  readonly #stats: ClientStats = {
    reconnects: 0, messages: 0, duplicatesDropped: 0, unchangedBarsDropped: 0, gaps: 0, resyncs: 0, malformed: 0,
  };
  readonly #registry = new ChannelRegistry();
  readonly #conn: Connection;
  readonly #requests: Requests;
  readonly #dispatch: Dispatcher;
  #nextKey = 1;

  /** Validates the options (InvalidParameterError naming the bad one); connects on the first `subscribe()` or `connect()`. */
  constructor(options: TickwireClientOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new InvalidParameterError('options', options, 'an object { url, ... }');
    this.#endpoints = endpoints(options.url ?? defaultServerUrl());
    if (options.token !== undefined && (typeof options.token !== 'string' || options.token === '')) {
      throw new InvalidParameterError('token', typeof options.token, 'a non-empty string');
    }
    const token = options.token;
    const format = options.format ?? 'json';
    if (format !== 'json' && format !== 'fbs') throw new InvalidParameterError('format', format, "'json' or 'fbs'");
    const backoff = new Backoff(options.reconnect ?? {});
    const heartbeatMs = positiveMs('heartbeatMs', options.heartbeatMs, DEFAULT_HEARTBEAT_MS, true);
    const openTimeoutMs = positiveMs('openTimeoutMs', options.openTimeoutMs, DEFAULT_OPEN_TIMEOUT_MS);
    const httpTimeoutMs = positiveMs('httpTimeoutMs', options.httpTimeoutMs, DEFAULT_HTTP_TIMEOUT_MS);
    if (options.WebSocket !== undefined && typeof options.WebSocket !== 'function') {
      throw new InvalidParameterError('WebSocket', typeof options.WebSocket, 'a WebSocket class');
    }
    if (options.fetch !== undefined && typeof options.fetch !== 'function') throw new InvalidParameterError('fetch', typeof options.fetch, 'a function');
    const fetch = options.fetch ?? globalFetch;
    this.#http = { fetch, token, timeoutMs: httpTimeoutMs };
    const c = options.candles ?? {};
    if (c.tickwire !== undefined && (typeof c.tickwire?.bars !== 'function' || typeof c.tickwire.resolveSymbol !== 'function')) {
      throw new InvalidParameterError('candles.tickwire', typeof c.tickwire, 'a Tickwire instance (createTickwire())');
    }
    if (c.source !== undefined && typeof c.source !== 'function') throw new InvalidParameterError('candles.source', typeof c.source, 'a function');
    this.#candles = new CandleChain({
      http: this.#endpoints.http,
      fetch,
      token,
      binary: format === 'fbs',
      timeoutMs: positiveMs('candles.timeoutMs', c.timeoutMs, DEFAULT_CANDLE_TIMEOUT_MS),
      tickwire: c.tickwire,
      source: c.source,
    });
    this.#events = new Emitter<ClientEvents>((err) => this.#report(err, 'an event listener'));

    // The parts (see the module comment), wired: the connection's hooks reach the others once built.
    const report: Report = (err, where) => this.#report(err, where);
    this.#conn = new Connection(
      { endpoints: this.#endpoints, token, format, webSocket: options.WebSocket, backoff, heartbeatMs, openTimeoutMs },
      {
        opened: () => this.#requests.resubscribe(),
        frame: (data) => this.#dispatch.frame(data),
        lost: () => {
          this.#requests.dropAll();
          this.#dispatch.dropWindow();
        },
      },
      this.#events,
      this.#stats,
      report,
    );
    this.#requests = new Requests(this.#conn, this.#registry, this.#stats, () => this.#dispatch.epoch, backoff.maxMs);
    const delivery = new Delivery(this.#registry, this.#requests, this.#stats, report);
    this.#dispatch = new Dispatcher({
      conn: this.#conn, registry: this.#registry, requests: this.#requests, delivery, events: this.#events, stats: this.#stats, report,
    });
  }

  // ── public surface ─────────────────────────────────────────────────────

  /** The connection's state now. */
  get state(): ConnectionState {
    return this.#conn.state;
  }

  /** The server's epoch from the last `subscribed` reply; null before the first. */
  get epoch(): string | null {
    return this.#dispatch.epoch;
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
    return this.#conn.connect();
  }

  /**
   * Subscribe `channels` (concrete names or wildcards such as `trades:binance:*`)
   * with one callback per message type. Throws InvalidParameterError at once for
   * bad arguments; a channel the server refuses ends the subscription through its
   * `error` handler. Returns the function that unsubscribes (idempotent).
   */
  subscribe(channels: string | readonly string[], handlers: SubscriptionHandlers, options: SubscribeOptions = {}): () => void {
    if (this.#conn.state === 'closed') throw closedError();
    const sub = new Subscription(this.#nextKey++, channels, handlers, options);
    this.#registry.subs.add(sub);
    if (this.#conn.state === 'idle') this.#conn.start();
    else if (this.#conn.state === 'open') this.#requests.subscribe(sub);
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
  health(): Promise<HealthReport & { httpStatus: number | null }> {
    return readHealth(this.#endpoints.http, this.#http);
  }

  /** Close the stream for good (no reconnect); resolves when the socket is closed. Idempotent. */
  close(): Promise<void> {
    return this.#conn.close();
  }

  // ── internals ──────────────────────────────────────────────────────────

  #unsubscribe(sub: Subscription): void {
    if (!sub.live) return;
    const wasSent = sub.state === 'active' || this.#conn.hasSocket;
    sub.state = 'closed';
    this.#registry.subs.delete(sub);
    const dropped = this.#registry.release(sub);
    if (!wasSent) return;
    const names = [...dropped, ...sub.patterns.map((p) => p.text)];
    if (names.length > 0) this.#requests.unsubscribe(names);
  }

  #report(err: unknown, where: string): void {
    const e = err instanceof Error ? err : new TickwireError(ErrorCode.INTERNAL_ERROR, `${where}: ${String(err)}`);
    this.#events.emit('error', e);
  }
}

/** The global fetch, looked up when called (so a client can be built where there is none, to stream only). */
const globalFetch: FetchLike = (url, init) => {
  const f = (globalThis as { fetch?: FetchLike }).fetch;
  if (typeof f !== 'function') {
    return Promise.reject(new TickwireError(ErrorCode.INVALID_PARAMETER, 'this runtime has no fetch: pass one in the fetch option'));
  }
  return f(url, init);
};

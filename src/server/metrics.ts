/**
 * The server's own Prometheus metrics, in their own Registry (the Tickwire
 * instance has its registry; `/metrics` answers with both, one after the
 * other, so names must not overlap).
 *
 * Live-path counts (published messages) are plain numbers bumped on the hot
 * path and folded into prom-client only when scraped: a labelled `inc()` per
 * message does a label-hash lookup each time, a `+= 1` does not.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Channel kinds, the `channel_type` label. */
export type ChannelType = 'trades' | 'quotes' | 'bars';

/** Live state the gauges read when scraped. */
export interface ServerGaugeSource {
  /** Open WebSocket connections. */
  connections(): number;
  /** Channel subscriptions summed over all connections. */
  subscriptions(): number;
  /** Bytes held in the stream's resume histories. */
  historyBytes?(): number;
  /** The largest buffered amount of any WebSocket connection, bytes. */
  maxBuffered?(): number;
  /** Connections counted against `server.maxConnections`, and that cap. */
  counted?(): number;
  maxConnections?(): number;
}

export class ServerMetrics {
  readonly registry = new Registry();
  /** Messages published per channel type (one per message and channel, not per recipient). */
  readonly published: Record<ChannelType, number> = { trades: 0, quotes: 0, bars: 0 };
  readonly #folded: Record<ChannelType, number> = { trades: 0, quotes: 0, bars: 0 };
  readonly #rejected: Counter<'code'>;
  /** HTTP answers by route pattern, then status (bounded: patterns and statuses are finite sets). */
  readonly #httpCounts = new Map<string, Map<number, number>>();
  readonly #authFailures: Counter<'transport' | 'reason'>;
  readonly #authThrottled: Counter<'reason'>;
  readonly #slowConsumers: Counter<'action'>;
  readonly #gaps: Counter<'reason'>;
  readonly #wsClosed: Counter<'reason'>;
  readonly #requestSeconds: Histogram<'op'>;
  readonly #snapshotBytes: Counter;
  /** Longest subscribe/unsubscribe handling so far, ms (tests and the hostile soak read it). */
  maxRequestMs = 0;
  readonly #refused: Counter<'reason'>;
  readonly #unsent: Counter;

  constructor(source: ServerGaugeSource) {
    const registers = [this.registry];
    const httpFolded = new Map<string, number>();
    const published = this.published;
    const folded = this.#folded;
    new Gauge({
      name: 'tickwire_subscribers',
      help: 'Channel subscriptions over all WebSocket connections',
      registers,
      collect() {
        this.set(source.subscriptions());
      },
    });
    new Gauge({
      name: 'tickwire_ws_connections',
      help: 'Open WebSocket connections',
      registers,
      collect() {
        this.set(source.connections());
      },
    });
    new Counter({
      name: 'tickwire_published_messages_total',
      help: 'Live messages published to WebSocket channels (once per message and channel)',
      labelNames: ['channel_type'] as const,
      registers,
      collect() {
        for (const type of ['trades', 'quotes', 'bars'] as const) {
          const delta = published[type] - folded[type];
          folded[type] = published[type];
          this.inc({ channel_type: type }, delta);
        }
      },
    });
    this.#rejected = new Counter({
      name: 'tickwire_ws_rejected_messages_total',
      help: 'Client WebSocket messages answered with an error, by error code',
      labelNames: ['code'] as const,
      registers,
    });
    this.#authFailures = new Counter({
      name: 'tickwire_auth_failures_total',
      help: 'Requests refused by authentication (missing or bad credentials, disallowed origin or channel), by transport and reason',
      labelNames: ['transport', 'reason'] as const,
      registers,
    });
    this.#authThrottled = new Counter({
      name: 'tickwire_auth_throttled_total',
      help: 'Credentials refused RATE_LIMITED without being verified: their address failed authentication too often (failures), or too many JWKS checks were in flight (pending)',
      labelNames: ['reason'] as const,
      registers,
    });
    this.#slowConsumers = new Counter({
      name: 'tickwire_ws_slow_consumer_total',
      help: 'Slow-consumer actions on WebSocket connections: conflating (quotes and bars), paused (policy gap), disconnected (policy disconnect or a dropped reply)',
      labelNames: ['action'] as const,
      registers,
    });
    this.#gaps = new Counter({
      name: 'tickwire_ws_gap_messages_total',
      help: 'Gap notices sent to WebSocket clients, by reason (slow_consumer, history)',
      labelNames: ['reason'] as const,
      registers,
    });
    this.#wsClosed = new Counter({
      name: 'tickwire_ws_closed_total',
      help: 'WebSocket connections closed by the server for a reason of its own (message_too_big, idle_timeout)',
      labelNames: ['reason'] as const,
      registers,
    });
    new Gauge({
      name: 'tickwire_ws_history_bytes',
      help: 'Bytes of messages held in the stream resume histories',
      registers,
      collect() {
        this.set(source.historyBytes?.() ?? 0);
      },
    });
    new Gauge({
      name: 'tickwire_ws_max_buffered_bytes',
      help: 'The largest buffered amount of any WebSocket connection (bounded by stream.maxBackpressure)',
      registers,
      collect() {
        this.set(source.maxBuffered?.() ?? 0);
      },
    });
    this.#requestSeconds = new Histogram({
      name: 'tickwire_ws_request_seconds',
      help: 'Main-thread time spent on one subscribe or unsubscribe message (refused ones included), or on one later turn of a subscribe whose snapshots are built over several (op snapshot); the smaller of wall and process CPU time',
      labelNames: ['op'] as const,
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers,
    });
    this.#snapshotBytes = new Counter({
      name: 'tickwire_ws_snapshot_bytes_total',
      help: 'Bytes of bars snapshots sent to WebSocket clients',
      registers,
    });
    new Gauge({
      name: 'tickwire_connections',
      help: 'Connections counted against server.maxConnections (open WebSockets)',
      registers,
      collect() {
        this.set(source.counted?.() ?? 0);
      },
    });
    new Gauge({
      name: 'tickwire_connections_max',
      help: 'server.maxConnections in force (set, or derived from the open-files limit)',
      registers,
      collect() {
        this.set(source.maxConnections?.() ?? 0);
      },
    });
    this.#refused = new Counter({
      name: 'tickwire_connections_refused_total',
      help: 'Connections refused with 503 by reason (max_connections, max_per_address)',
      labelNames: ['reason'] as const,
      registers,
    });
    this.#unsent = new Counter({
      name: 'tickwire_http_unsent_responses_total',
      help: 'HTTP responses whose client stopped reading: the socket was closed before the answer was sent (a pipelined request behind it, the ~10 s timeout, or the client leaving)',
      registers,
    });
    const httpCounts = this.#httpCounts;
    new Counter({
      name: 'tickwire_http_requests_total',
      help: 'HTTP requests by route pattern and status',
      labelNames: ['route', 'status'] as const,
      registers,
      collect() {
        // Counted as plain numbers per request (see the module comment), folded in here: the delta since the last scrape.
        for (const [route, byStatus] of httpCounts) {
          for (const [status, n] of byStatus) {
            const folded = httpFolded.get(route + ' ' + status) ?? 0;
            if (n > folded) this.inc({ route, status }, n - folded);
            httpFolded.set(route + ' ' + status, n);
          }
        }
      },
    });
  }

  rejected(code: string): void {
    this.#rejected.inc({ code });
  }

  httpRequest(route: string, status: number): void {
    let byStatus = this.#httpCounts.get(route);
    if (byStatus === undefined) this.#httpCounts.set(route, (byStatus = new Map()));
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  }

  /** A refused credential, origin or channel (`reason`: one of auth.ts's AuthFailure values). */
  authFailure(transport: 'http' | 'ws', reason: string): void {
    this.#authFailures.inc({ transport, reason });
  }

  /** A credential refused unverified (auth.ts `ThrottleReason`). */
  authThrottled(reason: 'failures' | 'pending'): void {
    this.#authThrottled.inc({ reason });
  }

  /** A slow-consumer step on a WebSocket connection. */
  slowConsumer(action: 'conflating' | 'paused' | 'disconnected'): void {
    this.#slowConsumers.inc({ action });
  }

  /** A gap notice sent. */
  gap(reason: string): void {
    this.#gaps.inc({ reason });
  }

  /** A subscribe or unsubscribe message took `ms` of the main thread. */
  request(op: 'subscribe' | 'unsubscribe' | 'snapshot', ms: number): void {
    this.#requestSeconds.observe({ op }, ms / 1000);
    if (ms > this.maxRequestMs) this.maxRequestMs = ms;
  }

  /** Snapshot bytes sent. */
  snapshotBytes(bytes: number): void {
    this.#snapshotBytes.inc(bytes);
  }

  /** A connection refused for `reason` (connection-limits.ts). */
  connectionRefused(reason: string): void {
    this.#refused.inc({ reason });
  }

  /** An HTTP response abandoned unsent (http-util.ts). */
  responseUnsent(): void {
    this.#unsent.inc();
  }

  /** A WebSocket closed by the server (or uWS on its behalf) for `reason`. */
  wsClosed(reason: string): void {
    this.#wsClosed.inc({ reason });
  }
}

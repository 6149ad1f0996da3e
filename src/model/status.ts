/**
 * Status, health and latency reports of a running tickwire: what
 * `Tickwire.status()`, `health()` and `latency()` return, what the server
 * serves on its status routes and in the `system` room, and what the client
 * reads back from `/v1/health`.
 */

/** `circuit_open`: the connection failed too often in a row and rests before one more try. */
export type ExchangeState = 'starting' | 'connecting' | 'connected' | 'reconnecting' | 'circuit_open' | 'restarting' | 'stopped';

/** What an exchange's feed has counted since start: reported by its worker, summed over restarts. */
export interface FeedCounters {
  trades: number;
  quotes: number;
  parseErrors: number;
  lateTradesDropped: number;
  duplicateTradesDropped: number;
  /** Trades fetched over REST to fill reconnect gaps. */
  recoveredTrades: number;
  /** Reconnect gaps that could not be filled completely (see lastError). */
  unrecoveredGaps: number;
}

export interface ExchangeStatus extends FeedCounters {
  exchange: string;
  state: ExchangeState;
  symbols: string[];
  /** Reconnects of the exchange connection since start. */
  reconnects: number;
  /** Worker restarts (crash or hang) since start. */
  restarts: number;
  /** Ms since the last frame from the exchange; null before the first. */
  lastMessageAgeMs: number | null;
  /** Frames per second over the last few seconds. */
  messageRate: number;
  /** Exchange clock minus local clock, ms (measured from trade times). */
  clockOffsetMs: number;
  messages: number;
  ringOverflow: number;
  /** Last error seen (message only), null when none. */
  lastError: string | null;
  /** Why the worker was last restarted (crash or hang), null when it never was. */
  lastCrash: string | null;
  /** The venue's outbound REST limiter; the runtime always sets it. */
  rest?: RestLimiterStatus;
  /** Set when an adapter plugin serves the exchange (docs/plugins.md): as listed, the file loaded, its version (the running one under --watch). */
  plugin?: { specifier: string; file: string; version: string };
  /** The venue's symbol list (docs/operations.md); absent when the venue has none tickwire reads. */
  symbolList?: SymbolListStatus;
}

/** An exchange's venue symbol list, fetched at start and daily: what live additions and on-demand symbols are checked against. */
export interface SymbolListStatus {
  /** Symbols listed as tradable; null until a fetch succeeded. */
  symbols: number | null;
  /** When the list in use was fetched, epoch ms; null when none was. */
  fetchedAt: number | null;
  /** Why the last fetch failed; null when it succeeded (or none was made). */
  error: string | null;
  /** Fetches tried, and those that failed, since start. */
  fetches: number;
  failures: number;
}

export interface StatusReport {
  uptimeMs: number;
  exchanges: Record<string, ExchangeStatus>;
  /** Persistence of closed bars; null when storage is off. */
  storage: StorageStatus | null;
  /** `--role feed|edge` only: this process's view of the NATS cluster (docs/scale-out.md). */
  cluster?: ClusterStatus;
}

/** A feed's or an edge's cluster state, as `/v1/status` shows it. */
export interface ClusterStatus {
  role: 'feed' | 'edge';
  /** `cluster.name`. */
  name: string;
  /** The cluster data's epoch (what `subscribed` carries). */
  epoch: string;
  connected: boolean;
  /** The NATS server connected to now (host:port), null while disconnected. */
  server: string | null;
  /** Edge: serving what it has while NATS is unreachable or it is catching up after a reconnect. */
  degraded: boolean;
  /** Since when it is degraded, ms; null when not. */
  degradedSince: number | null;
  /** Feed: each exchange's publisher lease. */
  leases: Record<string, LeaseStatus>;
  /** Edge: each JetStream consumer's lag behind the stream. */
  consumers: Record<string, ConsumerStatus>;
  /** Feed: messages published; edge: messages received from the cluster. */
  messages: number;
  /** Edge: messages dropped as undecodable, of a fenced (older) feed term, or for channels this edge does not serve. */
  dropped: number;
  /** Times a feed lease changed hands (feed: acquired or lost here; edge: a new term seen). */
  leaderChanges: number;
  /** Feed: quotes and forming bars superseded within their `cluster.conflate` window, never published (src/cluster/conflator.ts). */
  conflated?: number;
  /** Feed: its acknowledged publishing (src/cluster/outbox.ts). */
  outbox?: OutboxStatus;
  /** Edge: resumes older than its memory read back from JetStream (absent on a feed). */
  replays?: ReplayStatus;
}

/** An edge's reads of the live stream for resumes older than its resume history (docs/scale-out.md). */
export interface ReplayStatus {
  /** Channel reads that succeeded. */
  reads: number;
  /** Messages they returned. */
  messages: number;
  /** Reads that failed (NATS unreachable, timed out): their clients got a `gap`. */
  failures: number;
}

/** A feed's messages waiting for JetStream's acknowledgement, and what happened to them. */
export interface OutboxStatus {
  unacked: number;
  /** What the waiting messages count against the outbox's bound (64 MiB), bytes. */
  unackedBytes: number;
  /** True while resending in order after a failure or a dropped connection (new messages wait). */
  recovering: boolean;
  acked: number;
  /** Acknowledged as duplicates (already stored): resends, or a second leader's copy. */
  duplicates: number;
  /** Failed publishes (each, retries in recovery too). */
  failures: number;
  /** Times publishing paused to resend in order (a failure, or the connection dropped). */
  recoveries: number;
  /** Dropped past the bound: never stored, a `gap` at the edges. */
  dropped: number;
  /** Resends stored afresh after a later message of their subject was: out of order in the stream, a `gap` at the edges. */
  storedAhead: number;
  /** Not published because the exchange's lease ran out first: handed back to the feed's kept trades and bars (a standby publishes them). */
  fenced: number;
  /** Times the server refused or closed the reply subscription JetStream acknowledges on (acked-publisher.ts; retries included): publishes fail at once until it is made again. */
  inboxFailures: number;
  /** An event handed to the outbox → JetStream's acknowledgement, µs (since start): the feed's side of the NATS hop. */
  sendToAck: LatencySummary;
}

export interface LeaseStatus {
  /** `leader`: this feed publishes the exchange; `standby`: it keeps warm and waits for the lease. */
  state: 'leader' | 'standby';
  /** Revision at which the lease was acquired (the fencing term); null while standing by. */
  term: number | null;
  /** When it became leader, ms; null while standing by. */
  since: number | null;
}

export interface ConsumerStatus {
  /** Messages in the stream not yet delivered to this consumer. */
  lagMessages: number;
  /** Age of the newest message delivered when it arrived, ms. */
  lagMs: number;
  delivered: number;
}

export interface StorageStatus {
  path: string;
  /** 'degraded': the database cannot be opened or written; bars are served from memory and flushes retried with backoff. */
  state: 'ok' | 'degraded';
  /** Why it is degraded (the last error), null when ok. */
  reason: string | null;
  /** The system error behind `reason` (ENOSPC, EIO, EACCES, EROFS…), null when none or ok. */
  errno: string | null;
  /** Since when it is degraded (ms since epoch), null when ok. */
  degradedSince: number | null;
  /** Closed bars and amendments in memory not yet on disk. */
  unflushedBars: number;
  /** What start-up verification found wrong with the database, null when nothing. */
  corrupt: { reason: string; movedTo: string | null } | null;
  /** Time start-up verification took, ms. */
  verifyMs: number;
  /** Bars loaded from storage at start. */
  restoredBars: number;
  /** Bars fetched from the venues' klines at start. */
  backfilledBars: number;
  /** Bars written since start. */
  writtenBars: number;
  /** Flushes that failed (each retried with backoff). */
  flushFailures: number;
  /** What backfill could not fill, one line each. */
  problems: string[];
}

export interface HealthReport {
  /** `starting`: restore, backfill or the first feed connection is not done yet (503, like unavailable). */
  status: 'ok' | 'starting' | 'unavailable';
  /** Why it is not ok; empty when ok. */
  reasons: string[];
  /** What is wrong without making it unavailable (storage degraded, a corrupt database moved aside); the runtime always sets it. */
  warnings?: string[];
}

/** Percentiles of one measured stage, µs. */
export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  count: number;
  /**
   * Only when asked for (`latency({ histograms: true })`, `/v1/latency?histograms=true`): the
   * stage's HDR histogram since start, HdrHistogram's compressed base64 encoding. Two readings
   * subtract into the window between them (src/api/latency.ts `between`).
   */
  hdr?: string;
}

/** What `latency()` includes beyond the percentiles. */
export interface LatencyOptions {
  /** Each stage's whole histogram too (LatencySummary `hdr`). Default false. */
  histograms?: boolean;
}

/** Per stage (`parse`, `receive_to_publish`: per exchange; `event_loop_delay`: `main`, the main thread), µs. */
export type LatencyReport = Record<string, Record<string, LatencySummary>>;

/**
 * An exchange's outbound REST limiter (gap recovery, backfill, symbol lists),
 * shared by its worker and the main thread: how it paces requests now and
 * what the venue said.
 */
export interface RestLimiterStatus {
  /** Least time between two requests now, ms (the configured minimum, widened by 429/418 answers and usage headers). */
  intervalMs: number;
  /** No request before this time (a `Retry-After`, or a spent window), epoch ms; null when not paused. */
  pausedUntil: number | null;
  /** Requests let through since start. */
  requests: number;
  /** Answers 429 (too many requests) or 418 (banned) since start. */
  throttled: number;
  /** Time requests spent waiting for their turn, ms, summed. */
  waitedMs: number;
  /** The venue's last usage report (used of limit in its window), null when it sends none. */
  usage: { used: number; limit: number } | null;
}

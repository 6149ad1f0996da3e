/**
 * Control messages of the soak: between the orchestrator (scripts/soak.ts's
 * process) and its exchange thread, its subscriber threads, and the gateway
 * child process (IPC). Data never travels here, only commands and per-window
 * figures.
 */

// ── exchange thread (exchange-worker.ts) ─────────────────────────────────────

export interface ExchangeWorkerData {
  symbols: string[];
  rate: number;
  seed: number;
  /** SendTimes table shared with the subscriber threads. */
  sendTimes: SharedArrayBuffer;
}

export type ExchangeCommand =
  /** Wait until the gateway subscribed to every trade stream, then send at the rate. */
  | { type: 'go'; timeoutMs: number }
  /** Report the window's counts. */
  | { type: 'window' }
  /** Stop sending (the listener stays up); answers with the final counts. */
  | { type: 'halt' }
  /** Close the server; the thread then ends. */
  | { type: 'close' };

export interface ExchangeWindow {
  type: 'window';
  /** Trades sent since the last window. */
  sent: number;
  /** Trades sent per symbol since 'go' (cumulative). */
  sentPerSymbol: number[];
  /** Trades due while the gateway was not connected (not sent; cumulative). */
  unsent: number;
  /** Live connections from the gateway. */
  connections: number;
}

export type ExchangeEvent =
  | { type: 'listening'; url: string }
  | { type: 'going' }
  | ExchangeWindow
  | { type: 'halted'; window: ExchangeWindow }
  | { type: 'failed'; message: string };

// ── subscriber threads (subscriber-worker.ts) ────────────────────────────────

export interface SubscriberWorkerData {
  /** `ws://host:port/v1/stream` */
  url: string;
  exchange: string;
  /** The symbol of each connection this thread opens. */
  symbols: string[];
  sendTimes: SharedArrayBuffer;
  /** Bars asked as a snapshot on subscribe. */
  snapshot: number;
  /** The loopback address each connection binds to (parallel to `symbols`; absent: the system's choice). */
  localAddresses?: string[];
}

export type SubscriberCommand = { type: 'window' } | { type: 'close' };

export interface SubscriberWindow {
  type: 'window';
  /** Frame sent → received of trades in this window, µs, HDR compressed base64. */
  latency: string;
  /** Messages received in this window (all types). */
  messages: number;
  /** Trade and bar messages in this window. */
  trades: number;
  bars: number;
  /** Cumulative: trades received per symbol (over this thread's connections on it). */
  tradesPerSymbol: Record<string, number>;
  /** Cumulative: messages missing by seq (holes in a channel's seq, gaps announced included). */
  missed: number;
  /** Cumulative: messages whose seq was not above the last one seen. */
  duplicates: number;
  /** Cumulative: `gap` notices received. */
  gapNotices: number;
  /** Cumulative: `error` messages received. */
  errors: number;
  /** Cumulative: connections closed by the server or by a failure. */
  disconnects: number;
  /** Cumulative: trades whose send time was not in the table. */
  unmatched: number;
}

export type SubscriberEvent =
  | { type: 'ready'; connections: number }
  | SubscriberWindow
  | { type: 'failed'; message: string };

// ── gateway child process (gateway.ts), over IPC ─────────────────────────────

export interface GatewayArgs {
  /** Base URL of the fake Binance (`ws://127.0.0.1:<port>`). */
  exchangeUrl: string;
  symbols: string[];
  /** LMDB directory for closed bars; null: no persistence. */
  storagePath: string | null;
  /** Self-check (`--leak`): JS heap to retain on purpose, bytes per minute; 0 off. */
  leakBytesPerMin: number;
  /** `--hostile`: HS256 JWTs with this secret required, and these connection caps. */
  hostile?: { jwtSecret: string; maxConnections: number; maxConnectionsPerAddress: number };
}

export type GatewayCommand = { type: 'sample' } | { type: 'stop' };

/** One sample of the gateway process, taken right after a forced full GC. */
export interface GatewaySample {
  type: 'sample';
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
  arrayBuffersBytes: number;
  /** Heap used just before the forced GC (what an unforced sample would have seen). */
  heapUsedBeforeGcBytes: number;
  /** How long the forced GC took, ms (subscribers see it as latency in the next window). */
  gcMs: number;
  /** CPU time over the window, % of one core (user + system, all threads). */
  cpuPercent: number;
  /** Event-loop delay of the main thread over the window, ms (the forced GC excluded). */
  eventLoop: { p50: number; p99: number; max: number };
}

export type GatewayEvent =
  | { type: 'ready'; port: number }
  | GatewaySample
  | { type: 'stopped'; shutdownMs: number }
  | { type: 'failed'; message: string };

// ── attacker thread (attacker-worker.ts), --hostile ─────────────────────────

export interface AttackerWorkerData {
  /** The gateway, `127.0.0.1:<port>`. */
  host: string;
  port: number;
  /** A valid JWT: the attacks that need an open stream carry it (a hostile client with a credential). */
  token: string;
  /** The gateway's HS256 secret, to forge tokens close to valid ones. */
  secret: string;
  /** WebSockets the flood opens at once from its own address (more than the per-address cap). */
  floodConnections: number;
}

export type AttackerCommand = { type: 'start' } | { type: 'stop' } | { type: 'close' };

/** What the attacks did and what became of them, counted by the attacker. */
export interface AttackOutcomes {
  /** Unsubscribes of 50 unknown-symbol wildcards each, against `trades:*:*` held; replies by type or error code. */
  wildcardUnsubscribes: { sent: number; replies: Record<string, number> };
  /** Subscribes with `snapshot: 1000` over every bars channel; bytes received, replies by type or code. */
  snapshots: { sent: number; bytesReceived: number; replies: Record<string, number> };
  /** Sockets pipelining `GET /openapi.json` without reading: opened, closed by the server, requests written. */
  pipelined: { sockets: number; closedByServer: number; requestsWritten: number };
  /** WebSocket floods past the per-address cap: upgrades tried, opened, refused 503, other outcomes. */
  flood: { attempts: number; opened: number; refused503: number; other: number };
  /** 64 MiB frames sent on an open stream: sent, and the connection closed by the server after it. */
  oversized: { sent: number; closed: number; closeCodes: Record<string, number> };
  /** Slowloris sockets (a header byte every 2 s, never ending): opened, closed by the server, lifetime ms. */
  slowloris: { opened: number; closedByServer: number; lifetimeMs: { min: number; max: number } };
  /** Forged JWTs, HTTP and upgrade: sent, refused 401, accepted (must stay 0), other outcomes; per kind sent. */
  forgedJwts: { sent: number; refused401: number; accepted: number; other: number };
}

export type AttackerEvent = { type: 'ready' } | { type: 'stopped'; outcomes: AttackOutcomes } | { type: 'failed'; message: string };

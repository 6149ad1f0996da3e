/**
 * The configuration, as validated (every default filled in). The YAML form is
 * the external contract of ARCHITECTURE.md ("Config (YAML)"); `loadConfig`
 * (load.ts) turns a file or an object into this.
 */
import type { TimeframeName } from '../model/timeframes.ts';

/** Channels an exchange feed can carry. */
export type FeedChannel = 'trades' | 'quotes';

export interface ServerConfig {
  host: string;
  port: number;
  /** Browser origins allowed to call the HTTP API and open the WebSocket (README "Security"). */
  cors: CorsConfig;
  /** Open WebSocket connections at most (README "Limits"); undefined: derived from the open-files limit at start (server/connection-limits.ts). */
  maxConnections?: number | undefined;
  /** Open WebSocket connections per remote address at most; undefined: a quarter of maxConnections, loopback addresses exempt. */
  maxConnectionsPerAddress?: number | undefined;
}

/** `server.cors`: origins (`https://app.example.com`) allowed cross-origin; `['*']` any; `[]` (default) none. */
export interface CorsConfig {
  origins: string[];
}

/** A token bucket: `rate` per second, bursts of up to `burst`. */
export interface RateLimit {
  rate: number;
  burst: number;
}

/** One API token, stored as the SHA-256 of the token (never the token itself). */
export interface ApiTokenConfig {
  /** Shown in logs and metrics, keys the rate limit. */
  name: string;
  /** Lower-case hex SHA-256 of the token (`npx tickwire hash-token`). */
  sha256: string;
  /** Channel patterns this token may read (principal.ts); default `['*']`. */
  channels: string[];
}

/** JSON Web Tokens: HS256 with `secret`, and/or asymmetric ones verified against the keys at `jwksUrl`. At least one of the two. */
export interface JwtConfig {
  /** HS256 HMAC key (its UTF-8 bytes), at least 32 bytes; set it from the environment. */
  secret?: string | undefined;
  /** When set, the `iss` claim must equal it. */
  issuer: string | undefined;
  /** When set, the `aud` claim must name it. */
  audience: string | undefined;
  /** Refuse a token without `exp`; the loader fills in true. Optional for configs built in code, where absent means true. */
  requireExp?: boolean;
  /** An identity provider's JSON Web Key Set (https, or http on a loopback host): RS/PS/ES/EdDSA tokens are verified against it. */
  jwksUrl?: string | undefined;
  /** Algorithms accepted from the JWKS (default every one of JWKS_ALGORITHMS, security/token-rules.ts). */
  algorithms?: string[] | undefined;
  /** Seconds the fetched keys are used before they are fetched again (default 600). */
  jwksCacheMaxAgeS?: number | undefined;
  /** Seconds after a fetch before a token with an unknown `kid` may trigger another (default 30). */
  jwksCooldownS?: number | undefined;
  /** Milliseconds a JWKS fetch may take (default 5000). */
  jwksTimeoutMs?: number | undefined;
  /** JWKS signature checks in flight at once, the whole server; more are refused RATE_LIMITED (default 64). */
  maxPendingVerifications?: number | undefined;
}

/** `auth`: no tokens and no jwt = open (allowed on loopback, or anywhere with `allowOpen`). */
export interface AuthConfig {
  tokens: ApiTokenConfig[];
  jwt: JwtConfig | undefined;
  /** Serve open on a non-loopback host. */
  allowOpen: boolean;
  /** HTTP requests per client (principal, or remote address when open); null = no limit (`httpRate: false`). */
  httpRate: RateLimit | null;
  /**
   * Failed authentications per remote address (a credential presented and
   * refused): past the burst, that address's credentials that would need
   * verifying are refused RATE_LIMITED unverified. null = no limit
   * (`failureRate: false`); absent (configs built in code) = the default.
   */
  failureRate?: RateLimit | null;
}

export interface BarsConfig {
  graceMs: number;
  fillEmpty: boolean;
  lateToleranceMs: number;
}

/** One configured exchange (the key in `exchanges` is its name: `binance`, `simulated`). */
export interface ExchangeConfig {
  /** WebSocket base URL override (testnet, proxy, local fake); undefined = the venue's default. */
  url: string | undefined;
  /** Exchange-native symbols, as given. */
  symbols: string[];
  channels: FeedChannel[];
  /** `simulated` only: mean trades per second per symbol. */
  rate: number;
  /** `simulated` only: PRNG seed, so a run can be reproduced. */
  seed: number;
  /** REST base URL for gap recovery (venues that have one; default: the venue's public API). */
  restUrl: string | undefined;
  /** `alpaca` only: API key id and secret (set them from the environment: `key: ${ALPACA_API_KEY}`). */
  key: string | undefined;
  secret: string | undefined;
  /** `alpaca` only: which market (default stocks). */
  assetClass: 'stocks' | 'crypto';
  /** `alpaca` only: data feed (stocks: iex, sip or test; crypto: us); default iex / us. */
  feed: string | undefined;
}

export interface TickwireConfig {
  server: ServerConfig;
  /** Canonical names, shortest first, no duplicates (MetaTrader aliases resolved). */
  timeframes: TimeframeName[];
  /** Closed bars kept per series, per timeframe (a single number in YAML applies to all). */
  history: Record<TimeframeName, number>;
  bars: BarsConfig;
  exchanges: Record<string, ExchangeConfig>;
  /** Persistence of closed bars (LMDB); null when off (`storage: false`, or a library config without the key). */
  storage: StorageConfig | null;
  auth: AuthConfig;
  /** The `/v1/stream` WebSocket: slow consumers, resume history, per-connection limits. */
  stream: StreamConfig;
  /** What the config may ask of the machine (checked at load, src/config/limits.ts). */
  limits: LimitsConfig;
  /** Scale-out over NATS JetStream (docs/scale-out.md); null (or absent in configs built in code) when not configured. */
  cluster?: ClusterConfig | null;
}

/** `cluster:` (docs/scale-out.md): the NATS servers and how the cluster's data is kept. */
export interface ClusterConfig {
  /** `nats://host:port` URLs of the NATS servers (any one will do; the client learns the rest). */
  servers: string[];
  /** Prefix of every subject, stream and bucket this cluster uses: two clusters can share one NATS. */
  name: string;
  /** JetStream replicas of the streams and the lease bucket (1, 3 or 5; at most the NATS cluster's size). */
  replicas: number;
  /** How long trades and quotes (and live bar events) are kept, ms; and closed bars, ms. */
  history: { trades: number; bars: number };
  /** A feed leader's lease lasts this long without renewal, ms; a standby takes over within it (plus a second). */
  leaseTtlMs: number;
  /** NATS credentials, from the environment (`${NATS_USER}`); never logged. */
  user: string | undefined;
  pass: string | undefined;
  token: string | undefined;
}

/** `limits:` (README "Config"). */
export interface LimitsConfig {
  /** Bytes the config may reserve (bars, rings, trade-id windows, resume histories' worst case). */
  maxMemory: number;
  /** Symbols over all exchanges. */
  maxSymbols: number;
}

/** What happens to a connection whose live messages passed its backpressure limit. */
export type SlowConsumerPolicy = 'gap' | 'disconnect';

/** `stream:` (README "WebSocket"); `createServer` options override it key by key. */
export interface StreamConfig {
  /** Bytes a connection may have buffered; live messages stop at half of it, the rest is for replies and replays. */
  maxBackpressure: number;
  /** Past the limit: `gap` (pause, then a gap notice and skip ahead) or `disconnect` (close 1013). */
  slowConsumer: SlowConsumerPolicy;
  /** Messages kept per channel for `since` resume (channels that have subscribers, see resumeLingerS). */
  resumeHistory: number;
  /** Seconds a channel keeps recording history after its last subscriber left (0: stop at once). */
  resumeLingerS: number;
  /** Concrete channels one connection may hold (wildcards count what they expand to). */
  maxChannelsPerConnection: number;
  /** Largest client message processed, bytes (larger: INVALID_PARAMETER; over twice this: the connection is closed). */
  maxMessageBytes: number;
  /** Subscribe and unsubscribe requests per connection. */
  subscribeRate: RateLimit;
  /** Seconds without any frame from the client (pongs count) before the connection is closed; 0 off, else 8 to 960. */
  idleTimeoutS: number;
  /** Bytes of bars snapshots per second over all connections (bursts of twice that). */
  snapshotBytesRate: number;
}

/** Where closed bars are kept across restarts, and how they are filled in after downtime. */
export interface StorageConfig {
  /** LMDB directory (created when missing). */
  path: string;
  /** Closed bars are written at least this often, ms (and on shutdown). */
  flushMs: number;
  /** Fetch missing closed bars from the venue's klines REST endpoint on start (venues that have one). */
  backfill: boolean;
  /** How long start-up waits for backfill per exchange before going live without the rest, ms. */
  backfillTimeoutMs: number;
  /** A database that fails verification at start: moved aside and start empty ('rebuild'), or refuse to start ('refuse'). */
  onCorrupt: 'rebuild' | 'refuse';
}

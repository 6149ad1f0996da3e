/**
 * The configuration, as validated (every default filled in). The YAML form is
 * the external contract of docs/configuration.md; `loadConfig`
 * (load.ts) turns a file or an object into this.
 */
import type { LogLevelName } from '../log/levels.ts';
import type { TimeframeName } from '../model/timeframes.ts';

/** Channels an exchange feed can carry. */
export type FeedChannel = 'trades' | 'quotes';

export interface ServerConfig {
  host: string;
  port: number;
  /** Browser origins allowed to call the HTTP API and open the WebSocket (docs/security.md). */
  cors: CorsConfig;
  /** Open WebSocket connections at most (docs/protocol.md, "Limits"); undefined: derived from the open-files limit at start (server/connection-limits.ts). */
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
  /** What else it may do: `admin` (the /v1/admin/* live changes, a portfolio's holdings). Default none; absent in configs built in code: none. */
  scopes?: string[];
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
  /** Reconnect, circuit breaker, staleness and REST pacing (src/config/reliability.ts); the loader fills it in, absent (configs built in code) = today's defaults. */
  reliability?: ReliabilityConfig;
  /** An adapter plugin's own keys (docs/plugins.md), checked against its option schema, defaults filled in; absent for built-in venues. */
  options?: Readonly<Record<string, PluginOptionValue>>;
  /** Symbols on demand (docs/on-demand.md); absent: off, only the configured symbols and live additions are fed. */
  onDemand?: OnDemandConfig;
}

/** `exchanges.<name>.onDemand`: subscribers may ask for symbols the venue lists but the config does not name. */
export interface OnDemandConfig {
  /** Most symbols fed on demand at once on this exchange. */
  maxSymbols: number;
  /** A symbol on demand is dropped this many seconds after its last subscriber left. */
  idleS: number;
}

/** The value of one plugin option (docs/plugins.md, "Options"). */
export type PluginOptionValue = string | number | boolean | undefined;

/** `exchanges.<name>.reliability` (docs/environments-and-reliability.md): every value filled in. */
export interface ReliabilityConfig {
  /** Reconnect delays: attempt n waits up to min(maxMs, initialMs · 2ⁿ); `full` draws in [0, ceiling), `equal` in [ceiling/2, ceiling]. */
  reconnect: { initialMs: number; maxMs: number; jitter: 'full' | 'equal' };
  /** After `failures` connections in a row deliver nothing, rest `restMs` before one more try. */
  circuitBreaker: { failures: number; restMs: number };
  /** No frame and no ping for this long: the connection is replaced. */
  staleAfterMs: number;
  /** Least time between two REST requests to the venue, ms; the adaptive limiter widens it up to `maxIntervalMs`. */
  rest: { minIntervalMs: number; maxIntervalMs: number };
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
  /** `log:` (docs/logging.md). */
  log: LogConfig;
  /** The older `/streamer/*` API (docs/streamer-api.md); the loader fills it in, absent (configs built in code) = `{ exchange: null }`. */
  streamer?: StreamerConfig;
  /** Price feeds with failover between venues, by name (`{}`: none). Optional for configs built in code. */
  feeds?: Record<string, PriceFeedConfig>;
  /** Portfolios valued live, by id (`{}`: none). Optional for configs built in code. */
  portfolios?: Record<string, PortfolioConfig>;
  /** Alert rules and their webhook. Optional for configs built in code. */
  alerts?: AlertsConfig;
  /** Strategies judged on closed bars, by name (docs/strategies.md); absent when none. */
  strategies?: Record<string, StrategyConfig>;
  /** The worker pool strategies run in; absent: the default size. */
  pool?: PoolConfig;
  /** Scale-out over NATS JetStream (docs/scale-out.md); null (or absent in configs built in code) when not configured. */
  cluster?: ClusterConfig | null;
  /** `plugins:` (docs/plugins.md): the adapter plugins loaded, as listed (package names or paths); absent when none. */
  plugins?: string[];
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
  /** Feed: per channel, at most one quote or forming-bar update goes out per this window, the newest, ms; 0: every update (src/cluster/conflator.ts). */
  conflateMs: number;
  /** Most messages an edge reads back from JetStream for one channel of a resume older than its memory; 0: none (a `gap`). */
  replayMax: number;
  /** NATS credentials, from the environment (`${NATS_USER}`); never logged. */
  user: string | undefined;
  pass: string | undefined;
  token: string | undefined;
}

/** `log:`: the lowest level written (`--log-level` overrides it). */
export interface LogConfig {
  level: LogLevelName;
}

/** `streamer:` (docs/streamer-api.md). */
export interface StreamerConfig {
  /** The exchange `/streamer/*` serves; null: the first exchange in config order that lists the symbol asked. */
  exchange: string | null;
}

/** One feature computed per closed bar: an indicator of trading-signals over `period` bars, or the return over `period` bars. */
export interface FeatureSpec {
  kind: 'sma' | 'ema' | 'rsi' | 'atr' | 'returns';
  period: number;
}

/** `executor: { kind: paper }`: simulated fills at the next trade's price. */
export interface PaperExecutorConfig {
  kind: 'paper';
  /** Starting quote cash. */
  cash: number;
  /** Fee on each fill's notional, basis points. */
  feeBps: number;
  /** Price moved against the order on each fill, basis points. */
  slippageBps: number;
}

/** `executor: { kind: webhook }`: each buy/sell signal POSTed as JSON, with retries. */
export interface WebhookExecutorConfig {
  kind: 'webhook';
  url: string;
  /** Attempts after the first, with backoff. */
  retries: number;
  /** Per attempt, ms. */
  timeoutMs: number;
  /** Extra request headers (an Authorization from ${VAR}). */
  headers: Record<string, string>;
}

/** `executor: { kind: module }`: the user's `execute` in the strategy pool. */
export interface ModuleExecutorConfig {
  kind: 'module';
  /** Absolute file path or package name. */
  module: string;
  params: Record<string, unknown>;
}

export type ExecutorConfig = PaperExecutorConfig | WebhookExecutorConfig | ModuleExecutorConfig;

/** `strategies.<name>` (docs/strategies.md). */
export interface StrategyConfig {
  /** Absolute file path (relative ones are resolved against the config file's folder) or package name. */
  module: string;
  exchange: string;
  /** Exchange-native. */
  symbol: string;
  timeframe: TimeframeName;
  /** Closed bars handed to `predict`; the strategy starts once it has this many. */
  lookback: number;
  /** Handed to every call as given (plain JSON). */
  params: Record<string, unknown>;
  /** Feature name → spec, in the config's order. */
  features: Record<string, FeatureSpec>;
  /** Deadline of `predict`, and again of `decide` (each from its start in the worker), ms. */
  timeoutMs: number;
  /** Failures (errors or timeouts) in a row that pause the strategy. */
  maxErrors: number;
  executor: ExecutorConfig;
}

/** `pool:`: the piscina pool user code runs in. */
export interface PoolConfig {
  /** Threads; undefined: available cores minus feed workers, at least 1 (decided at start). */
  threads: number | undefined;
  /** The threads' nice value, 0 … 19 (19: the lowest priority, the default; 0: the gateway's own). Linux only. */
  nice?: number;
}

/** `limits:` (docs/configuration.md). */
export interface LimitsConfig {
  /** Bytes the config may reserve (bars, rings, trade-id windows, resume histories' worst case). */
  maxMemory: number;
  /** Symbols over all exchanges. */
  maxSymbols: number;
}

/** What happens to a connection whose live messages passed its backpressure limit. */
export type SlowConsumerPolicy = 'gap' | 'disconnect';

/** `stream:` (docs/protocol.md); `createServer` options override it key by key. */
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

/** One source of a price feed: a configured exchange and one of its symbols (native). */
export interface FeedSource {
  exchange: string;
  symbol: string;
  /** `exchange:symbol`, as the config wrote it with the native symbol: how prices and switches name the source. */
  key: string;
}

/** `feeds.<name>`: one asset pair served from several venues in priority order (docs/feeds-portfolios-alerts.md). */
export interface PriceFeedConfig {
  /** `BASE-QUOTE`, upper case: the channel is `prices:<name>`. */
  name: string;
  base: string;
  quote: string;
  /** Primary first. */
  sources: FeedSource[];
  /** A source with no trade or quote for this long is not healthy, ms. */
  staleMs: number;
  /** A source this far from the median of the healthy others is not trusted, basis points (0: never judged). */
  maxDeviationBps: number;
  /** A source of higher priority must be healthy this long before it takes over again, ms. */
  switchBackMs: number;
}

/** `portfolios.<id>`: holdings valued live in `quote` (docs/feeds-portfolios-alerts.md). */
export interface PortfolioConfig {
  id: string;
  /** The asset values are given in (`USD`). */
  quote: string;
  /** Asset → amount, as configured (a PUT replaces them; the stored ones win at start). */
  holdings: Record<string, number>;
  /** Publish when the value moved by more than this since the last publish, basis points (default 1). */
  minChangeBps: number;
  /** Publish at least this often, ms (default 10000). */
  heartbeatMs: number;
  /** A holding's price older than this is listed in `stale`, ms (default 60000). */
  staleMs: number;
  /** Assets worth one of another (`USDT: USD`): conversion edges with a fixed price of 1. */
  pegs: Record<string, string>;
}

/** Where an alert rule looks: a feed, or an exchange's symbol. */
export type AlertTarget = { feed: string } | { exchange: string; symbol: string };

/** One rule of `alerts.rules` (docs/feeds-portfolios-alerts.md). */
export type AlertRuleConfig = {
  id: string;
  level: 'info' | 'warning' | 'critical';
  /** No repeat of this rule within this, ms (default 60000). */
  cooldownMs: number;
} & (
  | { type: 'price'; target: AlertTarget; above: number | undefined; below: number | undefined; /** re-arm band, percent of the level (default 0) */ hysteresisPct: number }
  | { type: 'change'; target: AlertTarget; pct: number; windowMs: number }
  | { type: 'volume'; exchange: string; symbol: string; timeframe: string; factor: number; bars: number }
  | { type: 'spread'; exchange: string; symbol: string; bps: number; forMs: number }
  | { type: 'stale'; target: { feed: string } | { exchange: string }; forMs: number }
  | { type: 'portfolio'; portfolio: string; pct: number; windowMs: number }
  | { type: 'source'; feed: string }
);

/** `alerts:` (docs/feeds-portfolios-alerts.md). */
export interface AlertsConfig {
  rules: AlertRuleConfig[];
  /** POST each alert here (JSON, `Idempotency-Key: <alert id>`); undefined: none. */
  webhook: WebhookConfig | undefined;
}

export interface WebhookConfig {
  url: string;
  /** Attempts after the first (default 5), with doubling backoff from `backoffMs` (default 1000). */
  retries: number;
  backoffMs: number;
  /** Per attempt, ms (default 5000). */
  timeoutMs: number;
  /** Alerts waiting for delivery at most; beyond, the oldest is dropped and counted (default 1000). */
  maxQueue: number;
}

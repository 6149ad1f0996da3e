/**
 * tickwire's public surface: the embedded gateway (`createTickwire`) and its
 * server, the config loaders, and the building blocks: the model, the bar
 * aggregator and the shared-memory buffers; the FlatBuffers wire format
 * (encoder and decoders of the binary stream and candles); the client SDK
 * (`TickwireClient`, also alone, browser-safe, as `tickwire/client`).
 */
export { createTickwire } from './api/tickwire.ts';
export type { RuntimeOptions } from './api/tickwire.ts';
export type { Tickwire, TickwireEvents, BarQuery } from './api/types.ts';
export type { TradeEvent, QuoteEvent, BarUpdate, SideName } from './model/events.ts';
export type {
  ExchangeStatus,
  ExchangeState,
  StatusReport,
  HealthReport,
  LatencyReport,
  LatencySummary,
} from './model/status.ts';
export { createServer } from './server/server.ts';
export type { TickwireServer, ServerOptions } from './server/server.ts';
export { loadConfigFile, loadConfigText, parseConfig, ConfigError, DEFAULT_CONFIG_YAML } from './config/load.ts';
export type { TickwireConfig, ExchangeConfig, FeedChannel } from './config/types.ts';
export type { AuthConfig, ApiTokenConfig, JwtConfig, CorsConfig, RateLimit } from './config/types.ts';
export type { StreamConfig, SlowConsumerPolicy } from './config/types.ts';
export type { Alert, AlertInput } from './server/rooms.ts';
export { createAuthenticator, hashToken, generateToken, verifyJwt, UnauthorizedError, AuthFailure } from './server/auth.ts';
export type { Principal, Authenticate, AuthRequest } from './server/principal.ts';
export { RateLimitedError } from './server/rate-limit.ts';
export { TickwireError, ErrorCode, InvalidTimeframeError, InvalidParameterError } from './errors.ts';
export { TickwireClient, CandlesUnavailableError } from './client/index.ts';
export type {
  TickwireClientOptions,
  SubscriptionHandlers,
  SubscribeOptions,
  SubscribedNotice,
  ClientGap,
  ClientSnapshot,
  ClientEvents,
  ClientStats,
  ConnectionState,
  StateChange,
  StreamFormat,
  CandleQuery,
  CandleSource,
  CandleSourceName,
  CandleFailure,
  CandlesResult,
} from './client/index.ts';
export type { Trade, Quote, Bar } from './model/records.ts';
export { Side, BarField, BAR_FIELDS, TickField, TickKind, TICK_FIELDS, readBar, writeBar } from './model/records.ts';
export type { Timeframe, TimeframeName } from './model/timeframes.ts';
export { TIMEFRAMES, METATRADER_ALIASES, parseTimeframe, isTimeframe, bucketStart } from './model/timeframes.ts';
export type { SymbolRef } from './model/symbols.ts';
export { symbolRef, SymbolIndex } from './model/symbols.ts';
export type { AggregatorOptions, BarSink } from './bars/aggregator.ts';
export { BarAggregator, BarEvent } from './bars/aggregator.ts';
export type { RecordVisitor } from './buffers/tick-ring.ts';
export { TickRing } from './buffers/tick-ring.ts';
export type { BarVisitor, BarRange } from './buffers/bar-store.ts';
export { BarSeries, BarStore } from './buffers/bar-store.ts';
export type { DoorbellListener } from './buffers/doorbell.ts';
export { Doorbell } from './buffers/doorbell.ts';
export { FbsEncoder, decodeMessage, decodeCandles, FLATBUFFERS_TYPE } from './wire/fbs.ts';
export { FBS_SUBPROTOCOL } from './wire/protocol.ts';
export type {
  StreamMessage,
  TradeMessage,
  QuoteMessage,
  BarMessage,
  SnapshotMessage,
  GapMessage,
  GapReason,
  SubscribedMessage,
  UnsubscribedMessage,
  ErrorMessage,
  PongMessage,
  SystemMessage,
  AlertMessage,
  AlertLevel,
  BarJson,
  CandlesResponse,
} from './wire/messages.ts';

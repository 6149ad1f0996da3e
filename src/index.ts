/**
 * tickwire's public surface (`tickwire`): the embedded gateway
 * (`createTickwire`) and its server, the config loaders, auth helpers and
 * errors; the model and the bar aggregator (the building block for
 * backtests); the decoders of the FlatBuffers stream and candles and the wire
 * message types; the adapter plugin contract (docs/plugins.md); the client SDK (`TickwireClient`, also alone, browser-safe,
 * as `tickwire/client`). The shared-memory buffers, the tick record layout and
 * the FlatBuffers encoder are internals: `tickwire/internal` (src/internal.ts).
 */
export { createTickwire } from './api/tickwire.ts';
export type { RuntimeOptions } from './api/tickwire.ts';
export type { Tickwire, TickwireEvents, BarQuery } from './api/types.ts';
export type {
  TradeEvent,
  QuoteEvent,
  BarUpdate,
  SideName,
  PriceEvent,
  SourceEvent,
  SourceSwitchReason,
  PortfolioEvent,
  HoldingValue,
  AlertEvent,
} from './model/events.ts';
export type { EventBus, EventFilter, FieldMatch, HandlerOptions, OverflowPolicy, BusStats, HandlerStats, RecentEvent } from './events/bus.ts';
export type { FeedReport } from './api/price-feeds.ts';
export type { AlertsReport } from './api/alert-rules.ts';
export type {
  ExchangeStatus,
  ExchangeState,
  StatusReport,
  HealthReport,
  LatencyOptions,
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
export { TickwireError, ErrorCode, InvalidTimeframeError, InvalidParameterError, PluginError } from './errors.ts';
// Adapter plugins (docs/plugins.md): the contract a plugin module implements, and its check for the plugin's own tests.
export { PLUGIN_CONTRACT, PLUGIN_CAPABILITIES, checkAdapterPlugin } from './plugins/contract.ts';
export type { AdapterPlugin, PluginAdapter, PluginCapability, PluginContext, PluginVenue, CheckedPlugin } from './plugins/contract.ts';
export type { PluginOption, PluginOptionType } from './plugins/options.ts';
export type { PluginKit } from './plugins/kit.ts';
export type { PluginOptionValue } from './config/types.ts';
export type { ExchangeAdapter, FeedHandler, FeedCallbacks, FrameKind, AdapterCapabilities, ClientRequest, ClientHeartbeat, RecoveredTrade } from './exchanges/adapter.ts';
export { callbackHandler, handTrade, handQuote, TradeField, QuoteField } from './exchanges/adapter.ts';
export type { RestAnswer, RestRequest } from './exchanges/rest.ts';
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
export { Side, BarField, BAR_FIELDS, readBar, writeBar } from './model/records.ts';
export type { Timeframe, TimeframeName } from './model/timeframes.ts';
export { TIMEFRAMES, METATRADER_ALIASES, parseTimeframe, isTimeframe, bucketStart } from './model/timeframes.ts';
export type { SymbolRef } from './model/symbols.ts';
export { symbolRef, SymbolIndex } from './model/symbols.ts';
export type { AggregatorOptions, BarSink } from './bars/aggregator.ts';
export { BarAggregator, BarEvent } from './bars/aggregator.ts';
export type { BarVisitor } from './buffers/bar-store.ts';
export { decodeMessage, decodeCandles, FLATBUFFERS_TYPE } from './wire/fbs.ts';
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
  PredictionMessage,
  SignalMessage,
  FillMessage,
} from './wire/messages.ts';
export type {
  PredictionEvent,
  SignalEvent,
  FillEvent,
  StrategyAction,
  StrategyState,
  StrategySummary,
  StrategyDetail,
  AccountState,
} from './model/strategy.ts';

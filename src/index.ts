/**
 * tickwire's public surface: the embedded gateway (`createTickwire`) and its
 * server, the config loaders, and the building blocks: the model, the bar
 * aggregator and the shared-memory buffers.
 */
export { createTickwire } from './api/tickwire.ts';
export type { RuntimeOptions } from './api/tickwire.ts';
export type {
  Tickwire,
  TickwireEvents,
  TradeEvent,
  QuoteEvent,
  BarUpdate,
  BarQuery,
  ExchangeStatus,
  ExchangeState,
  StatusReport,
  HealthReport,
  LatencyReport,
  LatencySummary,
  SideName,
} from './api/types.ts';
export { createServer } from './server/server.ts';
export type { TickwireServer, ServerOptions } from './server/server.ts';
export { loadConfigFile, loadConfigText, parseConfig, ConfigError, DEFAULT_CONFIG_YAML } from './config/load.ts';
export type { TickwireConfig, ExchangeConfig, FeedChannel } from './config/types.ts';
export { TickwireError, ErrorCode, InvalidTimeframeError, InvalidParameterError } from './errors.ts';
export type { Trade, Quote, Bar } from './model/records.ts';
export { Side, BarField, BAR_FIELDS, TickField, TickKind, TICK_FIELDS, readBar, writeBar } from './model/records.ts';
export type { Timeframe, TimeframeName } from './model/timeframes.ts';
export { TIMEFRAMES, METATRADER_ALIASES, parseTimeframe, isTimeframe, bucketStart } from './model/timeframes.ts';
export type { SymbolRef } from './model/symbols.ts';
export { symbolRef, SymbolIndex } from './model/symbols.ts';
export type { AggregatorOptions, BarSink } from './bars/aggregator.ts';
export { BarAggregator, BarEvent } from './bars/aggregator.ts';
export { SeriesSink } from './bars/series-sink.ts';
export type { RecordVisitor } from './buffers/tick-ring.ts';
export { TickRing } from './buffers/tick-ring.ts';
export type { BarVisitor, BarRange } from './buffers/bar-store.ts';
export { BarSeries, BarStore } from './buffers/bar-store.ts';
export type { DoorbellListener } from './buffers/doorbell.ts';
export { Doorbell } from './buffers/doorbell.ts';

/**
 * The library face's types: what `createTickwire()` returns and the events it
 * emits. The HTTP/WebSocket server is built on exactly this surface. The
 * payload and report types it names live below, in src/model/ (events.ts,
 * status.ts), where the wire, the server and the client share them.
 */
import type { BarVisitor } from '../buffers/bar-store.ts';
import type { TickwireConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import type { Bar } from '../model/records.ts';
import type { EventBus } from '../events/bus.ts';
import type { AlertsReport } from './alert-rules.ts';
import type { FeedReport } from './price-feeds.ts';
import type {
  AlertEvent,
  BarUpdate,
  ConfigChange,
  PortfolioEvent,
  PriceEvent,
  LeadershipEvent,
  QuoteEvent,
  SourceEvent,
  TradeEvent,
} from '../model/events.ts';
import type { ExchangeStatus, HealthReport, LatencyOptions, LatencyReport, StatusReport, StorageStatus } from '../model/status.ts';
import type { FillEvent, PredictionEvent, SignalEvent, StrategyDetail, StrategySummary } from '../model/strategy.ts';
import type { TimeframeName } from '../model/timeframes.ts';
import type { MarketKind } from '../wire/channels.ts';

export interface TickwireEvents {
  trade: TradeEvent;
  quote: QuoteEvent;
  /** Any bar change: forming updates (conflated), closes, amendments. */
  bar: BarUpdate;
  /** A bar closed, or a closed bar was amended (bar.revision > 0). */
  barClose: BarUpdate;
  status: ExchangeStatus;
  /** Storage went degraded, changed its reason, recovered, or moved a corrupt database aside (storage on). May repeat a status unchanged. */
  storage: StorageStatus;
  /** A live change was applied (docs/operations.md): a symbol or exchange added or removed. */
  change: ConfigChange;
  /** A feed's price from its active source (`feeds:`). */
  price: PriceEvent;
  /** A feed switched source. */
  source: SourceEvent;
  /** A portfolio's value (`portfolios:`), when it moved or on its heartbeat. */
  portfolio: PortfolioEvent;
  /** A rule fired (`alerts:`). */
  alert: AlertEvent;
  /** A strategy's prediction for a closed (or amended) bar (docs/strategies.md). */
  prediction: PredictionEvent;
  /** A strategy's decision for that bar: buy, sell or hold. */
  signal: SignalEvent;
  /** An executor filled a signal (paper, or a user executor). */
  fill: FillEvent;
  /** A strategy's state changed, or it failed (error, timeout, pause): its summary after it. */
  strategy: StrategySummary;
  /** Edge (`--role edge`): a feed took or lost an exchange's publisher lease. */
  leadership: LeadershipEvent;
}

/** Every event type, in the order `stats()` lists them. */
export const EVENT_TYPES = ['trade', 'quote', 'bar', 'barClose', 'price', 'source', 'portfolio', 'alert', 'status', 'storage', 'change', 'signal', 'prediction', 'fill', 'strategy', 'leadership'] as const satisfies readonly (keyof TickwireEvents)[];

/** A market channel as an archive knows it: kind, exchange, native symbol, timeframe (bars). */
export interface ArchiveChannel {
  readonly kind: MarketKind;
  readonly exchange: string;
  readonly symbol: string;
  readonly timeframe: TimeframeName | undefined;
}

/** A message read back from an archive: the channel's event with the seq it was served under. */
export type ArchivedEvent = (TradeEvent | QuoteEvent | BarUpdate) & { seq: number };

/** A durable log of market channels' messages by seq (`Tickwire.archive`), read when a client resumes further back than memory. */
export interface ChannelArchive {
  /** Most messages one channel's resume reads from here; what lies before them is a `gap`. */
  readonly maxPerResume: number;
  /**
   * The channel's messages of seqs `from`..`to` still kept, oldest first (a
   * seq no longer kept is absent); rejects when the archive cannot be read.
   */
  read(channel: ArchiveChannel, from: number, to: number): Promise<ArchivedEvent[]>;
}

/** Which bars a query returns. */
export interface BarQuery {
  limit?: number;
  /** Earliest open time, ms (inclusive). */
  start?: number;
  /** Latest open time, ms (inclusive). */
  end?: number;
  /** Only closed bars (default false: the forming bar comes last). */
  closed?: boolean;
  /**
   * Exactly what has been published as events so far (closed bars up to the
   * newest close event, the forming bar as last published), rather than the
   * newest state in shared memory: a snapshot the event stream continues
   * without a gap or a duplicate. Honours `limit` only.
   */
  published?: boolean;
}

/** An embedded tickwire: feeds, aggregation and shared-memory bars in this process. */
export interface Tickwire {
  readonly config: TickwireConfig;
  /** Where the runtime logs; the server logs there too (its refusals, slow consumers). Optional for other implementations. */
  readonly log?: Logger;
  /**
   * Id of the seq numbering when it outlives this process (a cluster edge:
   * the cluster's data, docs/scale-out.md); absent: every server start is a
   * new epoch.
   */
  readonly epoch?: string;
  /**
   * Where a market channel's messages older than the server's resume history
   * are kept (a cluster edge: JetStream, docs/scale-out.md); absent: a `since`
   * older than the resume history is a `gap`.
   */
  readonly archive?: ChannelArchive;
  start(): Promise<void>;
  /** Stops feeds and workers; resolves when everything is closed. */
  stop(): Promise<void>;
  /** The event bus: filters, priorities, bounded queues, `recent()`, `stats()` (src/events/bus.ts). */
  readonly events: EventBus<TickwireEvents>;
  /** Subscribe to an event (`events.on` without options); returns the function that unsubscribes. */
  on<K extends keyof TickwireEvents>(event: K, handler: (payload: TickwireEvents[K]) => void): () => void;
  /** Bars oldest first. Throws TickwireError EXCHANGE_NOT_FOUND, SYMBOL_NOT_FOUND or INVALID_TIMEFRAME. */
  bars(exchange: string, symbol: string, timeframe: string, query?: BarQuery): Bar[];
  /** As `bars`, visiting bars in shared memory without copying (see BarVisitor's contract). Returns the count. */
  visitBars(exchange: string, symbol: string, timeframe: string, visitor: BarVisitor, query?: BarQuery): number;
  /** The forming bar, or undefined. Same errors as `bars`. */
  currentBar(exchange: string, symbol: string, timeframe: string): Bar | undefined;
  /** Resolve a user-given symbol (native or BASE-QUOTE) to the exchange's native id; same errors as `bars`. */
  resolveSymbol(exchange: string, symbol: string): string;
  /** `{exchange: {nativeSymbol: [timeframes]}}` */
  symbols(): Record<string, Record<string, TimeframeName[]>>;
  status(): StatusReport;
  health(): HealthReport;
  /** Where time goes, per stage (µs, since start); with `histograms`, each stage's HDR histogram too, to cut windows out of two readings. */
  latency(options?: LatencyOptions): LatencyReport;
  /** Every price feed (`feeds:`): active source, price, sources' health, 24-hour figures. */
  feeds(): FeedReport[];
  /** One feed by name (`BTC-USD`); throws TickwireError NOT_FOUND when it is not configured. */
  feed(name: string): FeedReport;
  /** Every portfolio (`portfolios:`) valued now. */
  portfolios(): PortfolioEvent[];
  /** One portfolio valued now; throws TickwireError NOT_FOUND. */
  portfolio(id: string): PortfolioEvent;
  /**
   * Replace a portfolio's holdings (asset → amount), checked whole, stored,
   * then applied; throws NOT_FOUND, INVALID_PARAMETER (negative, not a
   * number, an asset nothing prices) or STORAGE_FAILED, changing nothing.
   */
  setHoldings(id: string, holdings: unknown): PortfolioEvent;
  /** Alert rules with their state, the last 100 alerts, the webhook's counts. */
  alerts(): AlertsReport;
  /** Prometheus text exposition. */
  metrics(): Promise<string>;
  /**
   * Feed one more symbol on a configured exchange, live: the other symbols
   * are not touched (docs/operations.md). Throws TickwireError CHANGE_REFUSED
   * (nothing changed), INVALID_PARAMETER or EXCHANGE_NOT_FOUND.
   */
  addSymbol(exchange: string, symbol: string): ConfigChange;
  /** Stop feeding a symbol, live; its history stays queryable. Throws SYMBOL_NOT_FOUND, CHANGE_REFUSED or EXCHANGE_NOT_FOUND. */
  removeSymbol(exchange: string, symbol: string): ConfigChange;
  /**
   * Feed one more exchange, live; `section` is its config section as under
   * `exchanges.<name>` in the YAML (docs/operations.md). Throws INVALID_CONFIG
   * (naming the key) or CHANGE_REFUSED, changing nothing.
   */
  addExchange(exchange: string, section: unknown): ConfigChange;
  /** Stop feeding an exchange, live; its bars stay readable until a restart. Throws EXCHANGE_NOT_FOUND or CHANGE_REFUSED. */
  removeExchange(exchange: string): ConfigChange;
  /**
   * A subscriber asks for `symbol`, which `exchange` does not feed
   * (docs/on-demand.md): fed on demand when the exchange has `onDemand` and
   * its venue lists it, and dropped `idleS` after `inUse` last held. Returns
   * the change, or undefined when it is fed already. Throws SYMBOL_NOT_FOUND
   * (not on demand, not listed, no list yet), ON_DEMAND_LIMIT or
   * EXCHANGE_NOT_FOUND, changing nothing. Runtimes that feed nothing lack it.
   */
  demandSymbol?(exchange: string, symbol: string, inUse: () => boolean): ConfigChange | undefined;
  /** Every configured strategy's summary, in config order ([] without strategies). */
  strategies(): StrategySummary[];
  /** One strategy with its account and last signals; undefined when none has that name. */
  strategy(name: string): StrategyDetail | undefined;
  /** Resume a paused strategy (it judges from the next closed bar on); its summary after. Throws NOT_FOUND or CHANGE_REFUSED (not paused). */
  resumeStrategy(name: string): StrategySummary;
  /** Pause a strategy (nothing more is judged until resumeStrategy); its summary after. Throws NOT_FOUND or CHANGE_REFUSED (paused already). */
  pauseStrategy(name: string): StrategySummary;
}

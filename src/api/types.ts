/**
 * The library face's types: what `createTickwire()` returns and the events it
 * emits. The HTTP/WebSocket server is built on exactly this surface.
 */
import type { BarVisitor } from '../buffers/bar-store.ts';
import type { TickwireConfig } from '../config/types.ts';
import type { Bar } from '../model/records.ts';
import type { TimeframeName } from '../model/timeframes.ts';

/** Aggressor side as the contract spells it. */
export type SideName = 'buy' | 'sell' | 'unknown';

export interface TradeEvent {
  exchange: string;
  /** Exchange-native symbol. */
  symbol: string;
  /** Exchange trade id, null when the venue has none. */
  tradeId: number | null;
  price: number;
  size: number;
  side: SideName;
  /** Exchange trade time, ms. */
  ts: number;
  /** Local receive time, ms with µs fraction. */
  recvTs: number;
}

export interface QuoteEvent {
  exchange: string;
  symbol: string;
  bidPrice: number;
  bidSize: number;
  askPrice: number;
  askSize: number;
  ts: number;
  recvTs: number;
}

export interface BarUpdate {
  exchange: string;
  symbol: string;
  timeframe: TimeframeName;
  bar: Bar;
}

/** `circuit_open`: the connection failed too often in a row and rests before one more try. */
export type ExchangeState = 'starting' | 'connecting' | 'connected' | 'reconnecting' | 'circuit_open' | 'restarting' | 'stopped';

export interface ExchangeStatus {
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
  trades: number;
  quotes: number;
  parseErrors: number;
  lateTradesDropped: number;
  duplicateTradesDropped: number;
  /** Trades fetched over REST to fill reconnect gaps. */
  recoveredTrades: number;
  /** Reconnect gaps that could not be filled completely (see lastError). */
  unrecoveredGaps: number;
  ringOverflow: number;
  /** Last error seen (message only), null when none. */
  lastError: string | null;
  /** Why the worker was last restarted (crash or hang), null when it never was. */
  lastCrash: string | null;
}

export interface StatusReport {
  uptimeMs: number;
  exchanges: Record<string, ExchangeStatus>;
  /** Persistence of closed bars; null when storage is off. */
  storage: StorageStatus | null;
}

export interface StorageStatus {
  path: string;
  /** Bars loaded from storage at start. */
  restoredBars: number;
  /** Bars fetched from the venues' klines at start. */
  backfilledBars: number;
  /** Bars written since start. */
  writtenBars: number;
  /** Flushes that failed (retried at the next interval). */
  flushFailures: number;
  /** What backfill could not fill, one line each. */
  problems: string[];
}

export interface HealthReport {
  status: 'ok' | 'unavailable';
  /** Why it is not ok; empty when ok. */
  reasons: string[];
}

/** Percentiles of one measured stage, µs. */
export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  count: number;
}

/** Per stage (`parse`, `receive_to_publish`), per exchange. */
export type LatencyReport = Record<string, Record<string, LatencySummary>>;

export interface TickwireEvents {
  trade: TradeEvent;
  quote: QuoteEvent;
  /** Any bar change: forming updates (conflated), closes, amendments. */
  bar: BarUpdate;
  /** A bar closed, or a closed bar was amended (bar.revision > 0). */
  barClose: BarUpdate;
  status: ExchangeStatus;
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
  start(): Promise<void>;
  /** Stops feeds and workers; resolves when everything is closed. */
  stop(): Promise<void>;
  /** Subscribe to an event; returns the function that unsubscribes. */
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
  latency(): LatencyReport;
  /** Prometheus text exposition. */
  metrics(): Promise<string>;
}

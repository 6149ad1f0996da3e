/**
 * The library face's types: what `createTickwire()` returns and the events it
 * emits. The HTTP/WebSocket server is built on exactly this surface. The
 * payload and report types it names live below, in src/model/ (events.ts,
 * status.ts), where the wire, the server and the client share them.
 */
import type { BarVisitor } from '../buffers/bar-store.ts';
import type { TickwireConfig } from '../config/types.ts';
import type { Bar } from '../model/records.ts';
import type { BarUpdate, QuoteEvent, TradeEvent } from '../model/events.ts';
import type { ExchangeStatus, HealthReport, LatencyReport, StatusReport, StorageStatus } from '../model/status.ts';
import type { TimeframeName } from '../model/timeframes.ts';

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
  /**
   * Id of the seq numbering when it outlives this process (a cluster edge:
   * the cluster's data, docs/scale-out.md); absent: every server start is a
   * new epoch.
   */
  readonly epoch?: string;
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

/**
 * The contract between the main thread and an exchange worker: what the
 * worker is started with (all data buffers are allocated by the main thread
 * and survive the worker) and the control messages they exchange. Data never
 * goes over postMessage: trades and quotes go through the tick ring, closed
 * and amended bars through the bar-event ring, forming bars through the
 * BarSeries plus a dirty flag per series.
 */
import { TickRing } from '../buffers/tick-ring.ts';
import type { BarsConfig, ExchangeConfig } from '../config/types.ts';
import type { PluginSource } from '../exchanges/registry.ts';
import { BAR_FIELDS } from '../model/records.ts';
import type { LogRecord } from '../log/record.ts';
import type { FeedCounters } from '../model/status.ts';
import type { TimeframeName } from '../model/timeframes.ts';

/** What a connection is doing. `circuit_open`: too many failures in a row, resting before one more try. */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'circuit_open' | 'stopped';

export interface ConnectionOptions {
  /** First reconnect delay, ms (default 500). */
  backoffBaseMs?: number;
  /** Largest reconnect delay, ms (default 30 000). */
  backoffMaxMs?: number;
  /** How a reconnect delay is drawn below its ceiling: `full` [0, ceiling) (default) or `equal` [ceiling/2, ceiling]. */
  backoffJitter?: 'full' | 'equal';
  /** No frame and no ping for this long: reconnect (default 60 000). */
  staleAfterMs?: number;
  /** Reconnect this long before the venue's maximum connection age (default 10 min). */
  rotateMarginMs?: number;
  /** Consecutive failed connections (none delivering data) that open the circuit (default 10). */
  circuitAfterFailures?: number;
  /** How long an open circuit rests before one more try, ms (default 300 000). */
  circuitCooldownMs?: number;
  /** Jitter source in [0, 1) (tests make it deterministic). */
  random?: () => number;
}

/** Float64 layout of a bar-event record: series index, BarEvent, then the bar. */
export const BarEventField = { SERIES: 0, EVENT: 1, BAR: 2 } as const;
export const BAR_EVENT_FIELDS = 2 + BAR_FIELDS;

/**
 * The bar-event ring: closes and amendments, one BarEventField record each.
 * It is a TickRing by class on purpose: one class for both rings keeps every
 * claim, publish and read site monomorphic; this name says what it carries.
 */
export type BarEventRing = TickRing;

/** Shared memory for a bar-event ring of `capacity` records (allocated by the main thread, kept across worker restarts). */
export function allocateBarEventRing(capacity: number): SharedArrayBuffer {
  return TickRing.allocate(capacity, BAR_EVENT_FIELDS);
}

/** Bytes `allocateBarEventRing(capacity)` reserves. */
export function barEventRingByteLength(capacity: number): number {
  return TickRing.byteLength(capacity, BAR_EVENT_FIELDS);
}

/** Tick ring records per exchange unless the runtime is told otherwise. */
export const DEFAULT_TICK_RING_CAPACITY = 65_536;

/** Bar-event ring records for an exchange of `seriesCount` series: every series closing at once, four times over (the top of the hour). */
export function defaultBarEventRingCapacity(seriesCount: number): number {
  return Math.max(8_192, 4 * seriesCount);
}

/**
 * Symbol slots an exchange reserves: its configured symbols plus as many
 * again, at least SYMBOL_SLOT_RESERVE, for live additions (docs/operations.md).
 * A slot costs a dirty flag per timeframe in shared memory and a few numbers
 * per thread; a symbol's bars are allocated only when it is added.
 */
export function symbolSlots(configured: number): number {
  return configured + Math.max(SYMBOL_SLOT_RESERVE, configured);
}

/** Fewest free symbol slots an exchange reserves for live additions. */
export const SYMBOL_SLOT_RESERVE = 256;

/** Bytes of `ExchangeBuffers.dirty` for `seriesCount` series (one Int32 each). */
export function dirtyFlagsByteLength(seriesCount: number): number {
  return 4 * seriesCount;
}

/** This thread's view of a bar-event ring allocated by `allocateBarEventRing`. */
export function openBarEventRing(buffer: SharedArrayBuffer): BarEventRing {
  return new TickRing(buffer);
}

/**
 * Series index of (symbol, timeframe) within one exchange: symbol-major,
 * `nTf` timeframes per symbol. The order of `ExchangeBuffers.series` and
 * `dirty`, and the SERIES field of bar events. Tiny so it inlines (hot path).
 */
export function seriesIndex(symbol: number, tf: number, nTf: number): number {
  return symbol * nTf + tf;
}

/** Symbol index of series `index` (inverse of `seriesIndex`). */
export function symbolOfSeries(index: number, nTf: number): number {
  return Math.floor(index / nTf);
}

/** Timeframe index of series `index` (inverse of `seriesIndex`). */
export function timeframeOfSeries(index: number, nTf: number): number {
  return index % nTf;
}

/** Shared memory of one exchange. Series are ordered by `seriesIndex`. */
export interface ExchangeBuffers {
  ticks: SharedArrayBuffer;
  barEvents: SharedArrayBuffer;
  /** Int32 per series of every symbol slot (`symbolSlots`): 1 when its forming bar changed since the main thread last looked. */
  dirty: SharedArrayBuffer;
  /** The series of the symbols so far (a live addition hands over its symbol's). */
  series: SharedArrayBuffer[];
  /** Shared by every worker. */
  doorbell: SharedArrayBuffer;
}

export interface FeedWorkerData {
  exchange: string;
  /** Set when an adapter plugin serves the exchange: the worker loads it from this file (docs/plugins.md). */
  plugin?: PluginSource;
  /**
   * The exchange's validated config: channels and any venue options
   * (credentials). Its `symbols` are the symbol slots in use, in index order:
   * every symbol this process has fed for the exchange, removed ones included
   * (a slot keeps its index, so a symbol added again continues its bars).
   */
  settings: ExchangeConfig;
  /** Symbol slots reserved (`symbolSlots`): the most `settings.symbols` may grow to. */
  slots: number;
  /** Indices into `settings.symbols` that were removed: not subscribed, their data dropped. */
  retired: number[];
  /** Base URL to connect to (the config's, or the venue's default). */
  url: string;
  timeframes: TimeframeName[];
  bars: BarsConfig;
  buffers: ExchangeBuffers;
  connection: Omit<ConnectionOptions, 'random'>;
  /** The venue's outbound REST limiter, shared with the main thread (src/exchanges/rest-limiter.ts); absent: the worker paces alone. */
  restLimiter?: SharedArrayBuffer;
  /** How often the worker closes bars on the clock and reports status, ms. */
  tickMs: number;
  statusMs: number;
  /** The wake window, ms (src/feed/tick-handler.ts; 0: wake the main thread at every batch end). */
  wakeWindowMs: number;
  /**
   * True when the series hold bars restored from storage (or backfilled) by a
   * new process: the worker then resumes them only if they reach the bucket
   * before the current one, and marks its first bar gapped (see resume.ts).
   */
  restored: boolean;
  /**
   * The exchange clock offset the previous worker measured, ms (a restart):
   * the new worker closes bars on the clock with it until its own first
   * sample, instead of assuming the venue's clock equals ours.
   */
  clockOffsetMs?: number;
}

/** Worker → main: counters since the worker started, plus its parse-time histogram. */
export interface WorkerStatus extends FeedCounters {
  type: 'status';
  state: ConnectionState;
  reconnects: number;
  frames: number;
  clockOffsetMs: number;
  /** Local time of the last frame, ms; NaN before the first. */
  lastFrameAt: number;
  lastError: string | null;
  /** Parse-and-aggregate time per frame, µs, as a compressed HDR histogram (reset after each report). */
  parseHistogram: string;
}

/**
 * Main → worker. `addSymbol` feeds symbol slot `index` (a new slot, or a
 * removed symbol's) with its series handed over, one per timeframe;
 * `removeSymbol` stops feeding it. `crash` and `hang` are fault injection
 * for the supervisor's tests.
 */
export type WorkerCommand =
  | { type: 'stop' }
  | { type: 'addSymbol'; index: number; symbol: string; series: SharedArrayBuffer[] }
  | { type: 'removeSymbol'; index: number }
  | { type: 'crash' }
  | { type: 'hang' };

/**
 * How a live change reached the venue: `live` (a request on an open
 * connection), `connection` (a new connection for an added symbol, or one
 * closed because its last symbol went), `dropped` (a venue without live
 * unsubscribe: the symbol's frames are dropped until the connection next
 * reconnects without it).
 */
export type ChangeRoute = 'live' | 'connection' | 'dropped';

/** Worker → main: a live change was applied. */
export interface WorkerChanged {
  type: 'changed';
  action: 'added' | 'removed';
  symbol: string;
  route: ChangeRoute;
}

/** Worker → main. */
/** A log record from the worker (connection events, gap recovery), written by the main thread's logger. */
export interface WorkerLog {
  type: 'log';
  record: LogRecord;
}

export type WorkerMessage = WorkerStatus | WorkerLog | WorkerChanged | { type: 'stopped' };

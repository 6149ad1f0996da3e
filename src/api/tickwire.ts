/**
 * The library face: `createTickwire(config)` runs feeds, aggregation and the
 * shared-memory bars inside this process. The server (src/server/) is built
 * on exactly this surface.
 *
 * Lifecycle: the constructor allocates every buffer (so memory is known
 * before anything connects and bars can be read before `start`); `start`
 * brings up the simulated exchange when configured, one supervised worker per
 * exchange and the pump; `stop` closes them in reverse order.
 *
 * This file is the wiring; the jobs it wires live beside it: storage.ts (the
 * database, restore, flushes), feed-status.ts (each exchange's state, rate and
 * status), latency.ts (the latency summaries), metrics.ts (/metrics).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { BarSeries, BarStore, type BarVisitor } from '../buffers/bar-store.ts';
import { Doorbell, type DoorbellListener } from '../buffers/doorbell.ts';
import { TickRing } from '../buffers/tick-ring.ts';
import { configMemory, memoryIssue, type MemoryReport } from '../config/limits.ts';
import { ConfigError, parseConfig } from '../config/load.ts';
import type { TickwireConfig } from '../config/types.ts';
import { ErrorCode, TickwireError } from '../errors.ts';
import { adapterFor, restUrlOf } from '../exchanges/registry.ts';
import { backfill } from '../backfill/backfill.ts';
import {
  allocateBarEventRing,
  DEFAULT_TICK_RING_CAPACITY,
  defaultBarEventRingCapacity,
  dirtyFlagsByteLength,
  openBarEventRing,
  seriesIndex,
  symbolOfSeries,
  timeframeOfSeries,
  type BarEventRing,
  type ExchangeBuffers,
  type FeedWorkerData,
  type WorkerStatus,
} from '../feed/protocol.ts';
import { FeedSupervisor, type SupervisorOptions } from '../feed/supervisor.ts';
import type { ConnectionOptions } from '../feed/protocol.ts';
import { TICK_FIELDS, type Bar } from '../model/records.ts';
import { SymbolIndex } from '../model/symbols.ts';
import { parseTimeframe, type TimeframeName } from '../model/timeframes.ts';
import { SimulatedExchange } from '../sim/simulated-exchange.ts';
import { ExchangePump, type PumpOutput } from '../reader/pump.ts';
import type { BarUpdate } from '../model/events.ts';
import type { ExchangeStatus, HealthReport, LatencyReport, LatencySummary, StatusReport } from '../model/status.ts';
import { FeedStatus } from './feed-status.ts';
import { summarize, summarizeLoopDelay } from './latency.ts';
import { createRuntimeMetrics } from './metrics.ts';
import { RuntimeStorage, seriesKey } from './storage.ts';
import type { BarQuery, Tickwire, TickwireEvents } from './types.ts';

/** Knobs for embedding and tests; the defaults suit production. */
export interface RuntimeOptions {
  /** Tick ring records per exchange (default 65 536). */
  tickRingCapacity?: number;
  /** Bar-event ring records per exchange (default 4 per series, at least 8 192). */
  barRingCapacity?: number;
  /** How often workers close bars on the clock, ms (default 100). */
  tickMs?: number;
  /** How often workers report status, ms (default 1 000). */
  statusMs?: number;
  /** An exchange not connected for this long makes health 'unavailable', ms (default 30 000). */
  unhealthyAfterMs?: number;
  connection?: Omit<ConnectionOptions, 'random'>;
  supervisor?: SupervisorOptions;
}

/** Create an embedded tickwire from a config object in the YAML's shape (validated here). */
export function createTickwire(config: unknown = {}, options: RuntimeOptions = {}): Tickwire {
  return new TickwireRuntime(parseConfig(config, 'createTickwire config'), options);
}

interface ExchangeRuntime {
  name: string;
  symbols: SymbolIndex;
  native: string[];
  buffers: ExchangeBuffers;
  ticks: TickRing;
  barEvents: BarEventRing;
  series: BarSeries[];
  pump: ExchangePump;
  supervisor: FeedSupervisor | undefined;
  /** State, rate and parse latency as the worker's reports tell them. */
  feed: FeedStatus;
  /** Index of this exchange's first series in the persister's list. */
  firstSeries: number;
  /** Bars restored from storage or backfilled into this exchange's series by this process. */
  restored: number;
}

type Handlers = { [K in keyof TickwireEvents]: Set<(payload: TickwireEvents[K]) => void> };

/** The in-process engine behind `createTickwire` (the CLI hands it an already validated config). */
export class TickwireRuntime implements Tickwire {
  readonly config: TickwireConfig;
  /** What the config reserves (src/config/limits.ts), with the ring sizes of the options; `tickwire start` prints its total. */
  readonly memory: MemoryReport;
  /** Bytes of shared memory reserved for bars and rings, fixed at construction (`memory.shared`). */
  readonly memoryBytes: number;
  readonly store = new BarStore();

  private readonly options: RuntimeOptions;
  private readonly exchanges = new Map<string, ExchangeRuntime>();
  private readonly handlers: Handlers = { trade: new Set(), quote: new Set(), bar: new Set(), barClose: new Set(), status: new Set(), storage: new Set() };
  private readonly doorbellBuffer = Doorbell.allocate();
  private readonly registry: Registry;
  /**
   * The main thread's event-loop delay (perf_hooks, 10 ms resolution): every
   * subscriber's latency includes it, so /v1/latency and /metrics show it.
   */
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 10 });
  private listener: DoorbellListener | undefined;
  private simulated: SimulatedExchange | undefined;
  private startedAt = NaN;
  private running = false;
  private readonly storage: RuntimeStorage;
  /** Exceptions thrown by user event handlers (they never stop the pump). */
  handlerErrors = 0;

  constructor(config: TickwireConfig, options: RuntimeOptions = {}) {
    this.config = config;
    this.options = options;
    // Checked at load with the default ring sizes; again here, before allocating, with the options' sizes.
    this.memory = configMemory(config, options);
    this.memoryBytes = this.memory.shared;
    const tooMuch = memoryIssue(this.memory, config.limits);
    if (tooMuch !== undefined) throw new ConfigError('tickwire', [tooMuch]);
    this.storage = new RuntimeStorage(config.storage);
    this.storage.onChange = () => {
      if (this.handlers.storage.size > 0) this.emit(this.handlers.storage, this.storage.status()!);
    };
    const output = this.pumpOutput();
    for (const [name, ex] of Object.entries(config.exchanges)) {
      const symbols = new SymbolIndex();
      for (const s of ex.symbols) symbols.add(s);
      const series: SharedArrayBuffer[] = [];
      const firstSeries = this.storage.seriesCount;
      for (const symbol of ex.symbols) {
        for (const tf of config.timeframes) {
          const key = seriesKey(name, symbol, tf);
          const view = this.store.create(key, config.history[tf]);
          series.push(view.buffer);
          this.storage.add({ key, series: view, tfMs: parseTimeframe(tf).ms, history: config.history[tf] });
        }
      }
      const buffers: ExchangeBuffers = {
        ticks: TickRing.allocate(options.tickRingCapacity ?? DEFAULT_TICK_RING_CAPACITY, TICK_FIELDS),
        barEvents: allocateBarEventRing(options.barRingCapacity ?? defaultBarEventRingCapacity(series.length)),
        dirty: new SharedArrayBuffer(dirtyFlagsByteLength(series.length)),
        series,
        doorbell: this.doorbellBuffer,
      };
      const ticks = new TickRing(buffers.ticks);
      const barEvents = openBarEventRing(buffers.barEvents);
      const views = series.map((sab) => new BarSeries(sab));
      const pump = new ExchangePump(
        { exchange: name, symbols: ex.symbols, timeframes: config.timeframes, ticks, barEvents, dirty: new Int32Array(buffers.dirty), series: views },
        output,
      );
      this.exchanges.set(name, {
        name,
        symbols,
        native: ex.symbols,
        buffers,
        ticks,
        barEvents,
        series: views,
        pump,
        supervisor: undefined,
        feed: new FeedStatus(name, ex.symbols),
        firstSeries,
        restored: 0,
      });
    }
    this.registry = createRuntimeMetrics({
      exchangeStatuses: () => Object.values(this.status().exchanges),
      exchangeStates: () => [...this.exchanges.values()].map((ex) => ex.feed),
      memoryBytes: () => this.memoryBytes,
      storage: () => this.storage.status(),
      backfilledBars: () => this.storage.report.backfilled,
      handlerErrors: () => this.handlerErrors,
      eventLoopDelay: () => summarizeLoopDelay(this.loopDelay),
    });
  }

  /** What storage did at start: bars restored, bars backfilled, and what backfill could not do. */
  get storageReport(): RuntimeStorage['report'] {
    return this.storage.report;
  }

  /**
   * Load the stored bars into shared memory (storage on; idempotent). `start`
   * calls it; call it earlier to have candles answered before the feeds are
   * up (the CLI does, before it listens). Returns the bars restored.
   */
  restore(): number {
    if (!this.storage.open()) return this.storage.report.restored;
    for (const ex of this.exchanges.values()) {
      ex.restored = ex.series.reduce((n, s) => n + s.closedCount(), 0);
      ex.pump.resync();
    }
    return this.storage.report.restored;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.startedAt = Date.now();
    this.loopDelay.enable();
    this.restore();
    if (this.config.storage?.backfill === true) await Promise.all([...this.exchanges.values()].map((ex) => this.backfill(ex)));
    this.storage.start();
    const sim = this.config.exchanges['simulated'];
    let simUrl = '';
    if (sim !== undefined) {
      this.simulated = new SimulatedExchange({ symbols: sim.symbols, rate: sim.rate, seed: sim.seed });
      simUrl = (await this.simulated.start()).url;
    }
    this.listener = new Doorbell(this.doorbellBuffer).listen(() => {
      for (const ex of this.exchanges.values()) ex.pump.drain();
    });
    for (const [name, ex] of this.exchanges) {
      const cfg = this.config.exchanges[name]!;
      const url = cfg.url ?? (name === 'simulated' ? simUrl : adapterFor(name)!.defaultUrl(cfg));
      const data: FeedWorkerData = {
        exchange: name,
        settings: cfg,
        url,
        timeframes: this.config.timeframes,
        bars: this.config.bars,
        buffers: ex.buffers,
        connection: this.options.connection ?? {},
        tickMs: this.options.tickMs ?? 100,
        statusMs: this.options.statusMs ?? 1_000,
        restored: ex.restored > 0,
      };
      ex.supervisor = new FeedSupervisor(data, (status) => this.onWorkerStatus(ex, status), this.options.supervisor);
      ex.feed.setState('starting');
      ex.supervisor.start();
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.loopDelay.disable();
    await Promise.all([...this.exchanges.values()].map((ex) => ex.supervisor?.stop()));
    for (const ex of this.exchanges.values()) ex.feed.setState('stopped');
    await this.listener?.stop();
    this.listener = undefined;
    for (const ex of this.exchanges.values()) ex.pump.drain(); // what the workers wrote last
    await this.simulated?.stop();
    this.simulated = undefined;
    await this.storage.close(); // every bar closed so far is on disk
  }

  /** Fetch the closed bars `ex` is missing from the venue's klines (before its worker starts: one writer). */
  private async backfill(ex: ExchangeRuntime): Promise<void> {
    const entry = adapterFor(ex.name)!;
    const cfg = this.config.exchanges[ex.name]!;
    const restUrl = restUrlOf(entry, cfg);
    if (entry.klines !== true || restUrl === undefined) return;
    const nTf = this.config.timeframes.length;
    const targets = ex.series.map((series, i) => {
      const timeframe = this.config.timeframes[timeframeOfSeries(i, nTf)]!;
      return { symbol: ex.native[symbolOfSeries(i, nTf)]!, timeframe, series, history: this.config.history[timeframe], index: ex.firstSeries + i };
    });
    const result = await backfill(restUrl, targets, Date.now(), this.config.storage!.backfillTimeoutMs, (index, record) => {
      this.storage.amended(index, record);
    });
    ex.restored += result.bars;
    ex.pump.resync();
    this.storage.report.backfilled += result.bars;
    for (const p of result.problems) this.storage.report.problems.push(`${ex.name} ${p}`);
  }

  on<K extends keyof TickwireEvents>(event: K, handler: (payload: TickwireEvents[K]) => void): () => void {
    const set = this.handlers[event] as Set<(payload: TickwireEvents[K]) => void> | undefined;
    if (set === undefined) throw new TickwireError(ErrorCode.INVALID_PARAMETER, `unknown event ${JSON.stringify(event)}: expected trade, quote, bar, barClose, status or storage`);
    set.add(handler);
    return () => set.delete(handler);
  }

  bars(exchange: string, symbol: string, timeframe: string, query: BarQuery = {}): Bar[] {
    return this.seriesFor(exchange, symbol, timeframe).bars(toRange(query));
  }

  visitBars(exchange: string, symbol: string, timeframe: string, visitor: BarVisitor, query: BarQuery = {}): number {
    if (query.published === true) {
      const { ex, index } = this.locate(exchange, symbol, timeframe);
      return ex.pump.visitPublished(index, visitor, query.limit ?? Infinity);
    }
    return this.seriesFor(exchange, symbol, timeframe).visit(visitor, toRange(query));
  }

  currentBar(exchange: string, symbol: string, timeframe: string): Bar | undefined {
    return this.seriesFor(exchange, symbol, timeframe).formingBar();
  }

  resolveSymbol(exchange: string, symbol: string): string {
    const ex = this.exchangeFor(exchange);
    const ref = ex.symbols.resolve(symbol);
    if (ref === undefined) throw new TickwireError(ErrorCode.SYMBOL_NOT_FOUND, `symbol ${JSON.stringify(symbol)} is not configured on ${exchange}`);
    return ref.native;
  }

  symbols(): Record<string, Record<string, TimeframeName[]>> {
    const out: Record<string, Record<string, TimeframeName[]>> = {};
    for (const ex of this.exchanges.values()) {
      out[ex.name] = Object.fromEntries(ex.native.map((s) => [s, [...this.config.timeframes]]));
    }
    return out;
  }

  status(): StatusReport {
    const exchanges: Record<string, ExchangeStatus> = {};
    for (const ex of this.exchanges.values()) exchanges[ex.name] = this.exchangeStatus(ex);
    return { uptimeMs: this.running ? Date.now() - this.startedAt : 0, exchanges, storage: this.storage.status() };
  }

  health(): HealthReport {
    const reasons: string[] = [];
    if (!this.running) reasons.push('not started');
    const now = performance.now();
    const grace = this.options.unhealthyAfterMs ?? 30_000;
    for (const ex of this.exchanges.values()) {
      const reason = this.running ? ex.feed.unhealthy(now, grace) : undefined;
      if (reason !== undefined) reasons.push(reason);
    }
    // Storage faults are warnings, not unavailability: the runtime still serves everything from memory.
    return { status: reasons.length === 0 ? 'ok' : 'unavailable', reasons, warnings: this.storage.warnings() };
  }

  latency(): LatencyReport {
    const parse: Record<string, LatencySummary> = {};
    const publish: Record<string, LatencySummary> = {};
    for (const ex of this.exchanges.values()) {
      parse[ex.name] = summarize(ex.feed.parse);
      publish[ex.name] = summarize(ex.pump.receiveToPublish);
    }
    return { parse, receive_to_publish: publish, event_loop_delay: { main: summarizeLoopDelay(this.loopDelay) } };
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /** Fault injection for tests: crash `exchange`'s worker or make it hang (the supervisor restarts it). */
  injectWorkerFault(exchange: string, fault: 'crash' | 'hang'): void {
    this.exchangeFor(exchange).supervisor?.inject(fault);
  }

  private pumpOutput(): PumpOutput {
    const h = this.handlers;
    return {
      trade: (e) => this.emit(h.trade, e),
      quote: (e) => this.emit(h.quote, e),
      bar: (u: BarUpdate, closed: boolean) => {
        this.emit(h.bar, u);
        if (!closed) return;
        this.emit(h.barClose, u);
        // New closes are picked up from the series at each flush; amendments (late trades, gap marks) are not new.
        if (u.bar.revision > 0) this.storage.amendedBar(u);
      },
    };
  }

  private emit<T>(handlers: Set<(payload: T) => void>, payload: T): void {
    for (const handler of handlers) {
      try {
        handler(payload);
      } catch {
        this.handlerErrors++;
      }
    }
  }

  private onWorkerStatus(ex: ExchangeRuntime, status: WorkerStatus): void {
    ex.feed.report(status, ex.supervisor?.totals.frames ?? 0);
    this.emit(this.handlers.status, this.exchangeStatus(ex));
  }

  private exchangeStatus(ex: ExchangeRuntime): ExchangeStatus {
    return ex.feed.status(ex.supervisor, ex.ticks.overflow() + ex.barEvents.overflow());
  }

  private exchangeFor(exchange: string): ExchangeRuntime {
    const ex = this.exchanges.get(exchange);
    if (ex === undefined) throw new TickwireError(ErrorCode.EXCHANGE_NOT_FOUND, `exchange ${JSON.stringify(exchange)} is not configured`);
    return ex;
  }

  private seriesFor(exchange: string, symbol: string, timeframe: string): BarSeries {
    const { ex, index } = this.locate(exchange, symbol, timeframe);
    return ex.series[index]!;
  }

  /** The exchange and series index of (exchange, symbol, timeframe); throws the contract's codes. */
  private locate(exchange: string, symbol: string, timeframe: string): { ex: ExchangeRuntime; index: number } {
    const ex = this.exchangeFor(exchange);
    const native = this.resolveSymbol(exchange, symbol);
    const tf = parseTimeframe(timeframe).name;
    const tfIndex = this.config.timeframes.indexOf(tf);
    if (tfIndex < 0) {
      throw new TickwireError(ErrorCode.INVALID_TIMEFRAME, `timeframe ${timeframe} is not kept: configured are ${this.config.timeframes.join(' ')}`);
    }
    return { ex, index: seriesIndex(ex.native.indexOf(native), tfIndex, this.config.timeframes.length) };
  }
}

/** A BarQuery as the bar store's range (`closed` → no forming bar). */
export function toRange(q: BarQuery) {
  return { start: q.start, end: q.end, limit: q.limit, forming: q.closed !== true };
}

/**
 * The library face: `createTickwire(config)` runs feeds, aggregation and the
 * shared-memory bars inside this process. The server (src/server/) is built
 * on exactly this surface.
 *
 * Lifecycle: the constructor allocates every buffer (so memory is known
 * before anything connects and bars can be read before `start`); `start`
 * brings up the simulated exchange when configured, one supervised worker per
 * exchange and the pump; `stop` closes them in reverse order.
 */
import client from 'prom-client';
import type * as hdr from 'hdr-histogram-js';
import { decodeFromCompressedBase64 } from 'hdr-histogram-js';
import { BarSeries, BarStore, type BarVisitor } from '../buffers/bar-store.ts';
import { Doorbell, type DoorbellListener } from '../buffers/doorbell.ts';
import { TickRing } from '../buffers/tick-ring.ts';
import { parseConfig } from '../config/load.ts';
import type { TickwireConfig } from '../config/types.ts';
import { ErrorCode, TickwireError } from '../errors.ts';
import { adapterFor, restUrlOf } from '../exchanges/registry.ts';
import { backfill } from '../backfill/backfill.ts';
import { BarDb } from '../storage/bar-db.ts';
import { BarPersister, type PersistedSeries } from '../storage/persister.ts';
import {
  allocateBarEventRing,
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
import { nowMs } from '../model/clock.ts';
import { BAR_FIELDS, TICK_FIELDS, writeBar, type Bar } from '../model/records.ts';
import { SymbolIndex } from '../model/symbols.ts';
import { parseTimeframe, type TimeframeName } from '../model/timeframes.ts';
import { SimulatedExchange } from '../sim/simulated-exchange.ts';
import { ExchangePump, newLatencyHistogram, type PumpOutput } from '../reader/pump.ts';
import type { BarUpdate } from '../model/events.ts';
import type {
  ExchangeState,
  ExchangeStatus,
  HealthReport,
  LatencyReport,
  LatencySummary,
  StatusReport,
  StorageStatus,
} from '../model/status.ts';
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
  /** Parse time per frame, µs, merged from the worker's reports. */
  parse: hdr.Histogram;
  state: ExchangeState;
  stateSince: number;
  /** Frames per second between the last two status reports. */
  rate: number;
  rateAt: number;
  rateFrames: number;
  /** Index of this exchange's first series in the persister's list. */
  firstSeries: number;
  /** Bars restored from storage or backfilled into this exchange's series by this process. */
  restored: number;
}

type Handlers = { [K in keyof TickwireEvents]: Set<(payload: TickwireEvents[K]) => void> };

/** The in-process engine behind `createTickwire` (the CLI hands it an already validated config). */
export class TickwireRuntime implements Tickwire {
  readonly config: TickwireConfig;
  /** Bytes reserved for bars and rings, fixed at construction. */
  readonly memoryBytes: number;
  readonly store = new BarStore();

  private readonly options: RuntimeOptions;
  private readonly exchanges = new Map<string, ExchangeRuntime>();
  private readonly handlers: Handlers = { trade: new Set(), quote: new Set(), bar: new Set(), barClose: new Set(), status: new Set() };
  private readonly doorbellBuffer = Doorbell.allocate();
  private readonly registry = new client.Registry();
  private listener: DoorbellListener | undefined;
  private simulated: SimulatedExchange | undefined;
  private startedAt = NaN;
  private running = false;
  /** Every series in exchange order (the persister's indices), and each one's index by key. */
  private readonly allSeries: PersistedSeries[] = [];
  private readonly seriesIndex = new Map<string, number>();
  private db: BarDb | undefined;
  /** Bars the persister of an earlier start wrote (it is replaced on each start). */
  private writtenBefore = 0;
  private persister: BarPersister | undefined;
  /** What storage did at start: bars restored, bars backfilled, and what backfill could not do. */
  readonly storageReport = { restored: 0, backfilled: 0, problems: [] as string[] };
  /** Exceptions thrown by user event handlers (they never stop the pump). */
  handlerErrors = 0;

  constructor(config: TickwireConfig, options: RuntimeOptions = {}) {
    this.config = config;
    this.options = options;
    let bytes = 0;
    const output = this.pumpOutput();
    for (const [name, ex] of Object.entries(config.exchanges)) {
      const symbols = new SymbolIndex();
      for (const s of ex.symbols) symbols.add(s);
      const series: SharedArrayBuffer[] = [];
      const firstSeries = this.allSeries.length;
      for (const symbol of ex.symbols) {
        for (const tf of config.timeframes) {
          const key = seriesKey(name, symbol, tf);
          const view = this.store.create(key, config.history[tf]);
          series.push(view.buffer);
          this.seriesIndex.set(key, this.allSeries.length);
          this.allSeries.push({ key, series: view, tfMs: parseTimeframe(tf).ms, history: config.history[tf] });
        }
      }
      const buffers: ExchangeBuffers = {
        ticks: TickRing.allocate(options.tickRingCapacity ?? 65_536, TICK_FIELDS),
        // Room for every series closing a bar at once, four times over (the top of the hour).
        barEvents: allocateBarEventRing(options.barRingCapacity ?? Math.max(8_192, 4 * series.length)),
        dirty: new SharedArrayBuffer(4 * series.length),
        series,
        doorbell: this.doorbellBuffer,
      };
      bytes += buffers.ticks.byteLength + buffers.barEvents.byteLength + buffers.dirty.byteLength;
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
        parse: newLatencyHistogram(),
        state: 'stopped',
        stateSince: performance.now(),
        rate: 0,
        rateAt: performance.now(),
        rateFrames: 0,
        firstSeries,
        restored: 0,
      });
    }
    this.memoryBytes = bytes + this.store.bytesReserved();
    this.registerMetrics();
  }

  /**
   * Load the stored bars into shared memory (storage on; idempotent). `start`
   * calls it; call it earlier to have candles answered before the feeds are
   * up (the CLI does, before it listens). Returns the bars restored.
   */
  restore(): number {
    const storage = this.config.storage;
    if (storage === null || this.db !== undefined) return this.storageReport.restored;
    this.db = new BarDb(storage.path);
    this.persister = new BarPersister(this.db, this.allSeries, storage.flushMs, (err) => {
      process.stderr.write(`tickwire storage: flush to ${storage.path} failed (retrying): ${(err as Error).message}\n`);
    });
    this.storageReport.restored = this.persister.restore();
    for (const ex of this.exchanges.values()) {
      ex.restored = ex.series.reduce((n, s) => n + s.closedCount(), 0);
      ex.pump.resync();
    }
    return this.storageReport.restored;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.startedAt = Date.now();
    this.restore();
    if (this.config.storage?.backfill === true) await Promise.all([...this.exchanges.values()].map((ex) => this.backfill(ex)));
    this.persister?.start();
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
      this.setState(ex, 'starting');
      ex.supervisor.start();
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await Promise.all([...this.exchanges.values()].map((ex) => ex.supervisor?.stop()));
    for (const ex of this.exchanges.values()) this.setState(ex, 'stopped');
    await this.listener?.stop();
    this.listener = undefined;
    for (const ex of this.exchanges.values()) ex.pump.drain(); // what the workers wrote last
    await this.simulated?.stop();
    this.simulated = undefined;
    await this.persister?.stop(); // every bar closed so far is on disk
    this.writtenBefore = this.persister?.written ?? this.writtenBefore;
    await this.db?.close();
    this.persister = undefined;
    this.db = undefined;
  }

  private storageStatus(): StorageStatus | null {
    const storage = this.config.storage;
    if (storage === null) return null;
    return {
      path: storage.path,
      restoredBars: this.storageReport.restored,
      backfilledBars: this.storageReport.backfilled,
      writtenBars: this.persister?.written ?? this.writtenBefore,
      flushFailures: this.persister?.failures ?? 0,
      problems: [...this.storageReport.problems],
    };
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
      this.persister?.amended(index, record);
    });
    ex.restored += result.bars;
    ex.pump.resync();
    this.storageReport.backfilled += result.bars;
    for (const p of result.problems) this.storageReport.problems.push(`${ex.name} ${p}`);
  }

  on<K extends keyof TickwireEvents>(event: K, handler: (payload: TickwireEvents[K]) => void): () => void {
    const set = this.handlers[event] as Set<(payload: TickwireEvents[K]) => void> | undefined;
    if (set === undefined) throw new TickwireError(ErrorCode.INVALID_PARAMETER, `unknown event ${JSON.stringify(event)}: expected trade, quote, bar, barClose or status`);
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
    return { uptimeMs: this.running ? Date.now() - this.startedAt : 0, exchanges, storage: this.storageStatus() };
  }

  health(): HealthReport {
    const reasons: string[] = [];
    if (!this.running) reasons.push('not started');
    const now = performance.now();
    const grace = this.options.unhealthyAfterMs ?? 30_000;
    for (const ex of this.exchanges.values()) {
      if (this.running && ex.state !== 'connected' && now - ex.stateSince > grace) {
        reasons.push(`${ex.name}: ${ex.state} for ${Math.round((now - ex.stateSince) / 1000)} s`);
      }
    }
    return { status: reasons.length === 0 ? 'ok' : 'unavailable', reasons };
  }

  latency(): LatencyReport {
    const parse: Record<string, LatencySummary> = {};
    const publish: Record<string, LatencySummary> = {};
    for (const ex of this.exchanges.values()) {
      parse[ex.name] = summarize(ex.parse);
      publish[ex.name] = summarize(ex.pump.receiveToPublish);
    }
    return { parse, receive_to_publish: publish };
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
        if (u.bar.revision > 0 && this.persister !== undefined) this.persistAmendment(u);
      },
    };
  }

  private persistAmendment(u: BarUpdate): void {
    const index = this.seriesIndex.get(seriesKey(u.exchange, u.symbol, u.timeframe));
    if (index === undefined) return;
    const record = new Float64Array(BAR_FIELDS);
    writeBar(u.bar, record, 0);
    this.persister!.amended(index, record);
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
    ex.parse.add(decodeFromCompressedBase64(status.parseHistogram));
    const now = performance.now();
    const frames = ex.supervisor?.totals.frames ?? 0;
    if (now > ex.rateAt) ex.rate = Math.round(((frames - ex.rateFrames) * 10_000) / (now - ex.rateAt)) / 10;
    ex.rateAt = now;
    ex.rateFrames = frames;
    this.setState(ex, status.state);
    this.emit(this.handlers.status, this.exchangeStatus(ex));
  }

  private setState(ex: ExchangeRuntime, state: ExchangeState): void {
    if (ex.state === state) return;
    ex.state = state;
    ex.stateSince = performance.now();
  }

  private exchangeStatus(ex: ExchangeRuntime): ExchangeStatus {
    const sup = ex.supervisor;
    const last = sup?.last;
    const totals = sup?.totals;
    const lastFrameAt = last?.lastFrameAt ?? NaN;
    return {
      exchange: ex.name,
      state: sup?.restarting === true ? 'restarting' : ex.state,
      symbols: [...ex.native],
      reconnects: totals?.reconnects ?? 0,
      restarts: sup?.restarts ?? 0,
      lastMessageAgeMs: lastFrameAt === lastFrameAt ? Math.max(0, Math.round(nowMs() - lastFrameAt)) : null,
      messageRate: ex.rate,
      clockOffsetMs: last?.clockOffsetMs ?? 0,
      messages: totals?.frames ?? 0,
      trades: totals?.trades ?? 0,
      quotes: totals?.quotes ?? 0,
      parseErrors: totals?.parseErrors ?? 0,
      lateTradesDropped: totals?.lateTradesDropped ?? 0,
      duplicateTradesDropped: totals?.duplicateTradesDropped ?? 0,
      recoveredTrades: totals?.recoveredTrades ?? 0,
      unrecoveredGaps: totals?.unrecoveredGaps ?? 0,
      ringOverflow: ex.ticks.overflow() + ex.barEvents.overflow(),
      lastError: last?.lastError ?? null,
      lastCrash: sup?.lastCrash ?? null,
    };
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

  private registerMetrics(): void {
    const runtime = this;
    const perExchange = (name: string, help: string, value: (ex: ExchangeStatus) => number) =>
      new client.Counter({
        name,
        help,
        labelNames: ['exchange'],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const s of Object.values(runtime.status().exchanges)) this.inc({ exchange: s.exchange }, value(s));
        },
      });
    perExchange('tickwire_messages_total', 'Frames received from the exchange.', (s) => s.messages);
    perExchange('tickwire_trades_total', 'Trades taken (duplicates excluded).', (s) => s.trades);
    perExchange('tickwire_quotes_total', 'Best bid/offer updates taken.', (s) => s.quotes);
    perExchange('tickwire_reconnects_total', 'Reconnects of the exchange connection.', (s) => s.reconnects);
    perExchange('tickwire_worker_restarts_total', 'Restarts of the exchange worker after a crash or hang.', (s) => s.restarts);
    perExchange('tickwire_parse_errors_total', 'Frames that could not be parsed (never fatal).', (s) => s.parseErrors);
    perExchange('tickwire_ring_overflow_total', 'Records dropped because a shared ring was full.', (s) => s.ringOverflow);
    perExchange('tickwire_late_trades_dropped_total', 'Trades too late to amend their closed bar.', (s) => s.lateTradesDropped);
    perExchange('tickwire_duplicate_trades_total', 'Trades dropped as duplicates (same trade id).', (s) => s.duplicateTradesDropped);
    perExchange('tickwire_recovered_trades_total', 'Trades fetched over REST to fill reconnect gaps.', (s) => s.recoveredTrades);
    perExchange('tickwire_unrecovered_gaps_total', 'Reconnect gaps that could not be filled completely.', (s) => s.unrecoveredGaps);
    new client.Gauge({
      name: 'tickwire_exchange_connected',
      help: '1 while the exchange connection is up.',
      labelNames: ['exchange'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const ex of runtime.exchanges.values()) this.set({ exchange: ex.name }, ex.state === 'connected' ? 1 : 0);
      },
    });
    new client.Gauge({
      name: 'tickwire_bar_memory_bytes',
      help: 'Shared memory reserved for bars and rings.',
      registers: [this.registry],
      collect() {
        this.set(runtime.memoryBytes);
      },
    });
    new client.Counter({
      name: 'tickwire_bars_persisted_total',
      help: 'Closed bars written to storage.',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(runtime.storageStatus()?.writtenBars ?? 0);
      },
    });
    new client.Counter({
      name: 'tickwire_bars_backfilled_total',
      help: 'Closed bars fetched from the venues\' klines at start.',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(runtime.storageReport.backfilled);
      },
    });
    new client.Counter({
      name: 'tickwire_storage_flush_failures_total',
      help: 'Flushes of closed bars to storage that failed (retried).',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(runtime.storageStatus()?.flushFailures ?? 0);
      },
    });
    new client.Counter({
      name: 'tickwire_event_handler_errors_total',
      help: 'Exceptions thrown by embedding code in event handlers.',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(runtime.handlerErrors);
      },
    });
  }
}

/** Key of a bar series in the store. */
export function seriesKey(exchange: string, symbol: string, tf: TimeframeName): string {
  return `${exchange}:${symbol}:${tf}`;
}

function toRange(q: BarQuery) {
  return { start: q.start, end: q.end, limit: q.limit, forming: q.closed !== true };
}

function summarize(h: hdr.Histogram): LatencySummary {
  return {
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
    count: h.totalCount,
  };
}


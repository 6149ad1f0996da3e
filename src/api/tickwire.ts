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
 * Live changes (`addSymbol`, `removeSymbol`; docs/operations.md) are checked
 * first (live-checks.ts) and refused whole when invalid. An added symbol
 * takes a reserved symbol slot (feed/protocol.ts `symbolSlots`): its series
 * are allocated, its stored bars restored, then handed to the running worker,
 * which subscribes it without touching the other symbols. A removed symbol
 * keeps its slot and its series (its history stays queryable); adding it
 * again continues them. Each applied change is logged and emitted (`change`).
 * Additions are checked against the venue's symbol list (venue-lists.ts,
 * fetched at start and daily); symbols on demand (`demandSymbol`,
 * on-demand.ts) take the same add and remove paths.
 *
 * Whole exchanges change live too (`addExchange`, `removeExchange`, and a
 * reload naming or dropping one): an added one gets its buffers, stored
 * bars and worker exactly as at start (`createExchange`, `launch`); a
 * removed one's worker stops and its runtime moves to `removedExchanges`,
 * where its series stay readable (candles) until a restart.
 *
 * This file is the wiring; the jobs it wires live beside it: storage.ts (the
 * database, restore, flushes), feed-status.ts (each exchange's state, rate and
 * status), latency.ts (the latency summaries), metrics.ts (/metrics),
 * market-services.ts (price feeds, portfolios, alert rules, strategies).
 */
import type { Registry } from 'prom-client';
import { BarSeries, BarStore, type BarVisitor } from '../buffers/bar-store.ts';
import { Doorbell, type DoorbellListener } from '../buffers/doorbell.ts';
import { TickRing } from '../buffers/tick-ring.ts';
import { configMemory, memoryIssue, type MemoryReport } from '../config/limits.ts';
import { connectionOptions, defaultReliability } from '../config/reliability.ts';
import { ConfigError, parseConfig } from '../config/load.ts';
import type { ExchangeConfig, TickwireConfig } from '../config/types.ts';
import type { PersistedSeries } from '../storage/persister.ts';
import { ErrorCode, showValue, TickwireError } from '../errors.ts';
import { diffConfig } from './config-diff.ts';
import { checkExchangeSection, checkExchangesFit, checkListed, checkRemovable, checkSymbolName, checkUnnamed, refused } from './live-checks.ts';
import { VenueLists } from './venue-lists.ts';
import { OnDemandSymbols } from './on-demand.ts';
import { adapterFor, restUrlOf } from '../exchanges/registry.ts';
import { installRestLimiter, RestLimiter } from '../exchanges/rest-limiter.ts';
import { backfill } from '../backfill/backfill.ts';
import {
  allocateBarEventRing,
  DEFAULT_TICK_RING_CAPACITY,
  defaultBarEventRingCapacity,
  dirtyFlagsByteLength,
  openBarEventRing,
  seriesIndex,
  symbolOfSeries,
  symbolSlots,
  timeframeOfSeries,
  type BarEventRing,
  type ExchangeBuffers,
  type FeedWorkerData,
  type WorkerChanged,
  type WorkerStatus,
} from '../feed/protocol.ts';
import { FeedSupervisor, type SupervisorOptions } from '../feed/supervisor.ts';
import { libraryLogger, type Logger } from '../log/logger.ts';
import { urlForLogs } from '../log/redact.ts';
import type { LogRecord } from '../log/record.ts';
import type { ConnectionOptions } from '../feed/protocol.ts';
import { TICK_FIELDS, type Bar } from '../model/records.ts';
import { SymbolIndex } from '../model/symbols.ts';
import { resolveNative, toRange } from './bar-reads.ts';
import { parseTimeframe, type TimeframeName } from '../model/timeframes.ts';
import { SimulatedExchange } from '../sim/simulated-exchange.ts';
import { ExchangePump, newLatencyHistogram, type PumpOutput } from '../reader/pump.ts';
import type { BarUpdate, ConfigChange, ConfigChangeAction, PortfolioEvent } from '../model/events.ts';
import type { ExchangeStatus, HealthReport, LatencyOptions, LatencyReport, LatencySummary, StatusReport } from '../model/status.ts';
import { FeedStatus } from './feed-status.ts';
import { summarize } from './latency.ts';
import { LoopDelayMonitor } from './loop-delay.ts';
import { createRuntimeMetrics } from './metrics.ts';
import type { AlertsReport } from './alert-rules.ts';
import { MarketServices } from './market-services.ts';
import type { FeedReport } from './price-feeds.ts';
import { RuntimeStorage, seriesKey } from './storage.ts';
import { EventBus } from '../events/bus.ts';
import { EVENT_TYPES, type BarQuery, type Tickwire, type TickwireEvents } from './types.ts';
import type { StrategyDetail, StrategySummary } from '../model/strategy.ts';
import { priorityNotice } from '../strategies/pool.ts';

/** How long start-up waits for every strategy pool thread to apply pool.nice before it warns with those checked so far, ms. */
const POOL_PRIORITY_WAIT_MS = 10_000;

/** How often the event-loop delay is sampled, ms (a timer: each sample is a wake-up). */
const LOOP_DELAY_INTERVAL_MS = 10;

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
  /**
   * Wake the main thread at most once per this many ms while frames keep
   * coming (default 0: once per socket read). Trades wait up to this long
   * more; the main thread's wake-ups, the dearest step of ingest, drop
   * (docs/performance.md#the-wake-window). A number in [0, 100].
   */
  wakeWindowMs?: number;
  /** An exchange not connected for this long makes health 'unavailable', ms (default 30 000). */
  unhealthyAfterMs?: number;
  connection?: Omit<ConnectionOptions, 'random'>;
  supervisor?: SupervisorOptions;
  /**
   * Where the runtime logs (a pino logger; docs/logging.md lists the events). Default: warnings and
   * errors as JSON lines on stderr, so an embedder sees failures without asking.
   */
  logger?: Logger;
}


/** The largest wake window accepted, ms: past it a gateway would be a batcher. */
const MAX_WAKE_WINDOW_MS = 100;

/** `wakeWindowMs` as given must be a number in [0, MAX_WAKE_WINDOW_MS] (INVALID_CONFIG otherwise). */
function checkWakeWindow(given: number | undefined): void {
  if (given === undefined || (typeof given === 'number' && given >= 0 && given <= MAX_WAKE_WINDOW_MS)) return;
  throw new TickwireError(ErrorCode.INVALID_CONFIG, `wakeWindowMs: ${showValue(given)} is not a number of ms in [0, ${MAX_WAKE_WINDOW_MS}] (0: wake the main thread once per socket read)`);
}

/** Create an embedded tickwire from a config object in the YAML's shape (validated here). */
export function createTickwire(config: unknown = {}, options: RuntimeOptions = {}): Tickwire {
  return new TickwireRuntime(parseConfig(config, 'createTickwire config'), options);
}

interface ExchangeRuntime {
  name: string;
  /** Every symbol slot's native id and aliases, removed ones included (their history stays queryable). */
  symbols: SymbolIndex;
  /** Native symbol of each slot in use, by slot index (removed ones keep theirs). */
  native: string[];
  /** The symbols fed now, in configuration then addition order (the config's `symbols` is this array). */
  live: string[];
  /** Slot indices of removed symbols (the worker's `retired`). */
  retired: number[];
  /** Symbol slots reserved (`symbolSlots`). */
  slots: number;
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
  /** The venue's outbound REST limiter, shared with the worker (src/exchanges/rest-limiter.ts). */
  restLimiter: RestLimiter;
}

/** The in-process engine behind `createTickwire` (the CLI hands it an already validated config). */
export class TickwireRuntime implements Tickwire {
  readonly config: TickwireConfig;
  /** What the config reserves (src/config/limits.ts), with the ring sizes of the options; `tickwire start` prints its total. */
  readonly memory: MemoryReport;
  /** Bytes of shared memory reserved for bars and rings (`memory.shared`, then each exchange added live). */
  memoryBytes: number;
  readonly store = new BarStore();

  private readonly options: RuntimeOptions;
  private readonly exchanges = new Map<string, ExchangeRuntime>();
  /**
   * Exchanges removed live (`removeExchange`): no worker, not in status or
   * symbols, but their series stay (and stay persisted) so candles are still
   * served until a restart; such a name cannot be added again before one.
   */
  private readonly removedExchanges = new Map<string, ExchangeRuntime>();
  /** Workers of removed exchanges still stopping (`stop` waits for them). */
  private readonly stopping = new Set<Promise<void>>();
  /** Where every exchange's pump delivers (shared by those added live). */
  private readonly output: PumpOutput;
  /** Every event goes through here; handler failures are counted (`handlerErrors`) and never stop the pump. */
  readonly events = new EventBus<TickwireEvents>(EVENT_TYPES);
  /** Price feeds, portfolios, alert rules and strategies (`feeds:`, `portfolios:`, `alerts:`, `strategies:`), fed by the pump and the workers' states. */
  private readonly market: MarketServices;
  private prepared: Promise<void> | undefined;
  private readonly doorbellBuffer = Doorbell.allocate();
  private readonly registry: Registry;
  /**
   * The main thread's event-loop delay (sampled every LOOP_DELAY_INTERVAL_MS,
   * loop-delay.ts): every subscriber's latency includes it, so /v1/latency
   * and /metrics show it.
   */
  private readonly loopDelay = new LoopDelayMonitor(LOOP_DELAY_INTERVAL_MS);
  /** Worker ring → main-thread drain (the doorbell's wait, µs): how long a published record waits to be read. */
  private readonly ringWait = newLatencyHistogram();
  private listener: DoorbellListener | undefined;
  private simulated: SimulatedExchange | undefined;
  private startedAt = NaN;
  private running = false;
  private readonly storage: RuntimeStorage;
  /** The runtime's logger; each exchange's records carry its name. */
  readonly log: Logger;
  /**
   * False from `start` until restore and backfill are done and a feed has
   * connected: health says `starting` (503) meanwhile, then the usual rules.
   */
  private ready = false;
  /** What start-up is doing while not `ready` (health's reason). */
  private startPhase = 'not started';
  /** Exceptions thrown by user event handlers (they never stop the pump). */
  get handlerErrors(): number {
    return this.events.errors;
  }
  /** Live changes applied, by action, and refused, since start (`tickwire_live_changes_total`). */
  private readonly changesApplied = new Map<ConfigChangeAction, number>();
  private changesRefused = 0;
  /** Each exchange's venue symbol list (venue-lists.ts): live additions are checked against it. */
  private readonly venueLists: VenueLists;
  /** Symbols fed on demand (on-demand.ts), released through the live remove path when idle. */
  private readonly onDemand = new OnDemandSymbols((exchange, symbol) => this.releaseIdle(exchange, symbol));

  constructor(config: TickwireConfig, options: RuntimeOptions = {}) {
    checkWakeWindow(options.wakeWindowMs);
    this.config = config;
    this.options = options;
    // Checked at load with the default ring sizes; again here, before allocating, with the options' sizes.
    this.memory = configMemory(config, options);
    this.memoryBytes = this.memory.shared;
    const tooMuch = memoryIssue(this.memory, config.limits);
    if (tooMuch !== undefined) throw new ConfigError('tickwire', [tooMuch]);
    this.log = options.logger ?? libraryLogger();
    this.storage = new RuntimeStorage(config.storage, this.log);
    this.storage.onChange = () => {
      if (this.events.has('storage')) this.events.emit('storage', this.storage.status()!);
    };
    const oneMinute = (exchange: string, symbol: string, visitor: BarVisitor, start: number): void => {
      this.seriesFor(exchange, symbol, '1m').visit(visitor, { start, forming: true });
    };
    this.market = new MarketServices(config, this.events, oneMinute, Object.keys(config.exchanges).length);
    this.output = this.pumpOutput();
    this.venueLists = new VenueLists(this.log);
    for (const [name, ex] of Object.entries(config.exchanges)) this.exchanges.set(name, this.createExchange(name, ex));
    this.registry = createRuntimeMetrics({
      exchangeStatuses: () => Object.values(this.status().exchanges),
      exchangeStates: () => [...this.exchanges.values()].map((ex) => ex.feed),
      memoryBytes: () => this.memoryBytes,
      storage: () => this.storage.status(),
      backfilledBars: () => this.storage.report.backfilled,
      handlerErrors: () => this.handlerErrors,
      eventLoopDelay: () => summarize(this.loopDelay.histogram),
      ringWait: () => summarize(this.ringWait),
      doorbell: () => ({ drains: this.listener?.drains ?? 0, wakeups: this.listener?.wakeups ?? 0 }),
      liveChanges: () => ({ applied: this.changesApplied, refused: this.changesRefused }),
    });
    this.market.registerMetrics(this.registry);
  }

  /**
   * One exchange's buffers, pump and status (no worker yet). Its config's
   * `symbols` becomes the runtime's list of the symbols fed, which live
   * changes edit in place.
   */
  private createExchange(name: string, ex: ExchangeConfig): ExchangeRuntime {
    const { config, options } = this;
    const symbols = new SymbolIndex();
    for (const s of ex.symbols) symbols.add(s);
    const firstSeries = this.storage.seriesCount;
    // Room for the symbols on demand too (their slots stay once used: their history stays queryable).
    const slots = symbolSlots(ex.symbols.length + (ex.onDemand?.maxSymbols ?? 0));
    const persisted = ex.symbols.flatMap((symbol) => this.allocateSeries(name, symbol));
    // Added live (storage open already), its stored bars are loaded now, before its worker starts; at construction, none yet (`restore` loads them).
    const restored = this.storage.addLive(persisted);
    const series = persisted.map((p) => p.series);
    const buffers: ExchangeBuffers = {
      ticks: TickRing.allocate(options.tickRingCapacity ?? DEFAULT_TICK_RING_CAPACITY, TICK_FIELDS),
      barEvents: allocateBarEventRing(options.barRingCapacity ?? defaultBarEventRingCapacity(series.length)),
      dirty: new SharedArrayBuffer(dirtyFlagsByteLength(slots * config.timeframes.length)),
      series: series.map((s) => s.buffer),
      doorbell: this.doorbellBuffer,
    };
    const ticks = new TickRing(buffers.ticks);
    const barEvents = openBarEventRing(buffers.barEvents);
    const native = [...ex.symbols];
    const live = [...ex.symbols];
    config.exchanges[name] = { ...ex, symbols: live };
    const pump = new ExchangePump(
      { exchange: name, symbols: native, timeframes: config.timeframes, ticks, barEvents, dirty: new Int32Array(buffers.dirty), series },
      this.output,
    );
    const entry = adapterFor(name)!;
    if (entry.symbolList !== undefined) {
      // The simulated exchange's REST URL is its local server's, known once it listens.
      this.venueLists.track(name, entry.symbolList, ex, () => (name === 'simulated' ? this.simulated?.restUrl : restUrlOf(entry, ex)));
    }
    return {
      name, symbols, native, live, retired: [], slots, buffers, ticks, barEvents, series, pump,
      supervisor: undefined,
      feed: new FeedStatus(name, live),
      firstSeries,
      restored,
      restLimiter: new RestLimiter(name, RestLimiter.allocate((ex.reliability ?? defaultReliability()).rest)),
    };
  }

  /** New series for every timeframe of `symbol` on `exchange`, as the persister lists them (not yet added). */
  private allocateSeries(exchange: string, symbol: string): PersistedSeries[] {
    return this.config.timeframes.map((tf) => {
      const key = seriesKey(exchange, symbol, tf);
      return { key, series: this.store.create(key, this.config.history[tf]), tfMs: parseTimeframe(tf).ms, history: this.config.history[tf] };
    });
  }

  /**
   * Feed one more symbol on a configured exchange without a restart
   * (docs/operations.md): checked first (CHANGE_REFUSED, INVALID_PARAMETER,
   * EXCHANGE_NOT_FOUND: nothing changed), then its stored bars restored and
   * the worker told; the other symbols are not touched.
   */
  addSymbol(exchange: string, symbol: string): ConfigChange {
    return this.counted(() => this.checkedAdd(exchange, symbol));
  }

  private checkedAdd(exchange: string, symbol: string, cause?: ConfigChange['cause']): ConfigChange {
    const ex = this.exchangeFor(exchange);
    checkSymbolName(symbol);
    if (ex.live.includes(symbol)) throw refused(`${symbol} is already fed on ${exchange}`);
    checkListed(this.venueLists, exchange, [symbol]);
    this.checkSlots(ex, [symbol]);
    const cfg = this.config.exchanges[exchange]!;
    checkExchangesFit(this.config, { ...this.config.exchanges, [exchange]: { ...cfg, symbols: [...ex.live, symbol] } }, this.options);
    return this.feedSymbol(ex, symbol, cause);
  }

  /**
   * A subscriber asks for a symbol `exchange` does not feed (docs/on-demand.md):
   * with `onDemand` on and the venue listing it, it is fed through the live
   * add path and released `idleS` after `inUse` last held. Refused, nothing
   * changed: SYMBOL_NOT_FOUND (not on demand, not listed, no list yet) or
   * ON_DEMAND_LIMIT (maxSymbols reached, or no room: slots, limits).
   */
  demandSymbol(exchange: string, symbol: string, inUse: () => boolean): ConfigChange | undefined {
    const ex = this.exchangeFor(exchange);
    if (ex.live.includes(symbol)) return undefined;
    const policy = this.config.exchanges[exchange]!.onDemand;
    const notHere = (why: string) => new TickwireError(ErrorCode.SYMBOL_NOT_FOUND, `symbol ${JSON.stringify(symbol)} is not configured on ${exchange}${why}`);
    if (policy === undefined) throw notHere('');
    checkSymbolName(symbol);
    const listing = this.venueLists.listing(exchange, symbol);
    // Any subscriber can ask: without the venue's word, nothing is subscribed upstream.
    if (listing === 'unknown') throw notHere(` and cannot be fed on demand yet: the venue's symbol list is not available (${this.venueLists.status(exchange)?.error ?? 'not fetched yet'})`);
    if (listing === 'unlisted') throw notHere(`, and the venue does not list it (${this.venueLists.describe(exchange)})`);
    if (this.onDemand.count(exchange) >= policy.maxSymbols) {
      throw new TickwireError(ErrorCode.ON_DEMAND_LIMIT, `${exchange} feeds ${policy.maxSymbols} symbols on demand already (onDemand.maxSymbols); ${symbol} can be fed once one goes idle`);
    }
    let change: ConfigChange;
    try {
      change = this.counted(() => this.checkedAdd(exchange, symbol, 'on_demand'));
    } catch (err) {
      if (err instanceof TickwireError && err.code === ErrorCode.CHANGE_REFUSED) throw new TickwireError(ErrorCode.ON_DEMAND_LIMIT, `${symbol} cannot be fed on demand on ${exchange}: ${err.message}`);
      throw err;
    }
    this.onDemand.hold(exchange, symbol, policy.idleS, inUse);
    return change;
  }

  /** A symbol on demand went idle: removed through the live remove path, its channels closed with reason `idle`. */
  private releaseIdle(exchange: string, symbol: string): void {
    const ex = this.exchanges.get(exchange);
    if (ex === undefined || !ex.live.includes(symbol)) return;
    this.unfeedSymbol(ex, symbol, 'idle');
  }

  /**
   * Apply a re-read config (`POST /v1/admin/reload`, SIGHUP): its exchanges
   * and symbol lists, live, removals first (config-diff.ts says what else is
   * refused); the file wins over changes made over HTTP. Checked whole
   * before anything changes. Returns the changes, in order.
   */
  applyConfig(next: TickwireConfig): ConfigChange[] {
    return this.counted(() => this.checkedApply(next));
  }

  private checkedApply(next: TickwireConfig): ConfigChange[] {
    // Symbols on demand are not the file's: it neither removes them nor adds them again (naming one makes it configured).
    const configured = Object.fromEntries(
      Object.entries(this.config.exchanges).map(([name, ex]) => [name, { ...ex, symbols: ex.symbols.filter((s) => !this.onDemand.has(name, s)) }]),
    );
    const pinned: [string, string][] = [];
    const diff = diffConfig({ ...this.config, exchanges: configured }, next);
    const diffs = diff.symbols;
    for (const name of diff.addExchanges) this.checkNewExchange(name);
    // The running sections that name an exchange (feeds, alerts, strategies, streamer) are not reloaded: they keep it.
    for (const name of diff.removeExchanges) checkUnnamed(this.config, name);
    for (const d of diffs) {
      for (const symbol of d.add.filter((s) => this.onDemand.has(d.exchange, s))) pinned.push([d.exchange, symbol]);
      d.add = d.add.filter((s) => !this.onDemand.has(d.exchange, s));
    }
    for (const d of diffs) {
      const ex = this.exchangeFor(d.exchange);
      this.checkSlots(ex, d.add);
      for (const symbol of d.add) checkSymbolName(symbol);
      checkListed(this.venueLists, d.exchange, d.add);
    }
    const withDemand = Object.fromEntries(
      Object.entries(next.exchanges).map(([name, ex]) => [name, { ...ex, symbols: [...ex.symbols, ...this.onDemand.symbols(name).filter((s) => !ex.symbols.includes(s))] }]),
    );
    checkExchangesFit(this.config, withDemand, this.options);
    for (const [exchange, symbol] of pinned) this.onDemand.forget(exchange, symbol);
    const changes: ConfigChange[] = [];
    for (const d of diffs) for (const symbol of d.remove) changes.push(this.unfeedSymbol(this.exchangeFor(d.exchange), symbol));
    for (const name of diff.removeExchanges) changes.push(this.unfeedExchange(this.exchangeFor(name)));
    for (const name of diff.addExchanges) changes.push(this.feedExchange(name, next.exchanges[name]!));
    for (const d of diffs) for (const symbol of d.add) changes.push(this.feedSymbol(this.exchangeFor(d.exchange), symbol));
    if (changes.length === 0) logChange(this.log, 'reload: the config file matches the running config; nothing to change');
    return changes;
  }

  /** Throws CHANGE_REFUSED when `symbols` need more new slots than `ex` has left. */
  private checkSlots(ex: ExchangeRuntime, symbols: readonly string[]): void {
    const needed = symbols.filter((s) => !ex.native.includes(s)).length;
    if (ex.native.length + needed > ex.slots) {
      throw refused(`${ex.name} has ${ex.slots - ex.native.length} of the ${ex.slots} symbol slots reserved at start left, ${needed} needed (configured symbols plus as many again, at least 256); restart to reserve more`);
    }
  }

  /** Feed `symbol` on `ex` (checked already): a new slot with its series restored, or its old slot again. */
  private feedSymbol(ex: ExchangeRuntime, symbol: string, cause?: ConfigChange['cause']): ConfigChange {
    const exchange = ex.name;
    let index = ex.native.indexOf(symbol);
    const nTf = this.config.timeframes.length;
    let restored = 0;
    if (index < 0) {
      index = ex.native.length;
      const added = this.allocateSeries(exchange, symbol);
      ex.native.push(symbol);
      ex.symbols.add(symbol);
      for (const p of added) {
        ex.series.push(p.series);
        ex.buffers.series.push(p.series.buffer);
      }
      restored = this.storage.addLive(added);
      ex.restored += restored;
    } else {
      ex.retired.splice(ex.retired.indexOf(index), 1);
    }
    ex.pump.adopt(index * nTf, (index + 1) * nTf);
    ex.live.push(symbol);
    if (this.venueLists.listing(exchange, symbol) === 'unknown' && this.venueLists.status(exchange) !== undefined) {
      this.log.warn({ event: 'symbols.unchecked', exchange, symbol }, `${exchange} ${symbol}: fed unchecked, the venue's symbol list is not available (${this.venueLists.status(exchange)!.error ?? 'not fetched yet'})`);
    }
    if (exchange === 'simulated') this.simulated?.addSymbol(symbol);
    ex.supervisor?.command({ type: 'addSymbol', index, symbol, series: ex.buffers.series.slice(index * nTf, (index + 1) * nTf) });
    return this.changed('symbol_added', exchange, symbol, restored, cause);
  }

  /**
   * Stop feeding a symbol without a restart: its channels end (the server
   * sends `closed`), its stored history stays queryable. The last symbol of
   * an exchange cannot go (remove the exchange instead).
   */
  removeSymbol(exchange: string, symbol: string): ConfigChange {
    return this.counted(() => this.checkedRemove(exchange, symbol));
  }

  /**
   * Feed one more exchange without a restart (docs/operations.md): `section`
   * is its config section, as under `exchanges.<name>` in a config file,
   * checked by the same rules (INVALID_CONFIG naming the key; CHANGE_REFUSED
   * when it exists, has no adapter, or breaks a limit: nothing changed).
   * Its buffers are allocated and its stored bars restored before this
   * returns; backfill (when configured) and its worker follow, as at start.
   */
  addExchange(exchange: string, section: unknown): ConfigChange {
    return this.counted(() => this.checkedAddExchange(exchange, section));
  }

  private checkedAddExchange(exchange: string, section: unknown): ConfigChange {
    this.checkNewExchange(exchange);
    const cfg = checkExchangeSection(exchange, section);
    checkExchangesFit(this.config, { ...this.config.exchanges, [exchange]: cfg }, this.options);
    return this.feedExchange(exchange, cfg);
  }

  /** Throws CHANGE_REFUSED unless `exchange` can be added: not fed now, not removed since start. */
  private checkNewExchange(exchange: string): void {
    if (this.exchanges.has(exchange)) throw refused(`exchange ${exchange} is fed already (change its symbols with /v1/admin/exchanges/${exchange}/symbols/:symbol)`);
    if (this.removedExchanges.has(exchange)) throw refused(`${exchange} was removed since start and its series are kept for candles until a restart; it can be added again after one`);
  }

  /** Feed `exchange` (checked already): buffers, stored bars, then (running) backfill and its worker in the background. */
  private feedExchange(exchange: string, cfg: ExchangeConfig): ConfigChange {
    const ex = this.createExchange(exchange, cfg);
    this.exchanges.set(exchange, ex);
    this.memoryBytes += configMemory({ ...this.config, exchanges: { [exchange]: cfg } }, this.options).shared;
    if (this.running) {
      void this.launch(ex).catch((err: unknown) => {
        this.log.error({ event: 'exchange.start_failed', exchange, error: (err as Error).message }, `${exchange} added live could not start: ${(err as Error).message}`);
      });
    }
    return this.changed('exchange_added', exchange, null, ex.restored);
  }

  /** Bring an exchange added live up as `start` does: its REST limiter and list, backfill when configured, the simulated venue when it is that one, its worker. */
  private async launch(ex: ExchangeRuntime): Promise<void> {
    installRestLimiter(ex.restLimiter);
    ex.feed.setState('starting');
    if (this.config.storage?.backfill === true) await this.backfill(ex);
    let simUrl = '';
    if (ex.name === 'simulated' && this.exchanges.get(ex.name) === ex) {
      const cfg = this.config.exchanges['simulated']!;
      this.simulated = new SimulatedExchange({ symbols: cfg.symbols, rate: cfg.rate, seed: cfg.seed });
      simUrl = (await this.simulated.start()).url;
    }
    // Removed, or the runtime stopped, meanwhile: `retire` and `stop` release the rest.
    if (!this.running || this.exchanges.get(ex.name) !== ex) return;
    void this.venueLists.refresh(ex.name); // then daily with the others
    this.startFeed(ex, simUrl);
  }

  /**
   * Stop feeding an exchange without a restart (docs/operations.md): its
   * worker and connections stop, its channels end (the server sends
   * `closed`), its series stay for candles until a restart. Throws
   * EXCHANGE_NOT_FOUND, or CHANGE_REFUSED when it is the last exchange or
   * the config names it elsewhere (feeds, alerts, strategies, streamer).
   */
  removeExchange(exchange: string): ConfigChange {
    return this.counted(() => this.checkedRemoveExchange(exchange));
  }

  private checkedRemoveExchange(exchange: string): ConfigChange {
    const ex = this.exchangeFor(exchange);
    checkRemovable(this.config, exchange);
    return this.unfeedExchange(ex);
  }

  /** Stop feeding `ex` (checked already): out of the config, status and symbols; its worker stopped in the background. */
  private unfeedExchange(ex: ExchangeRuntime): ConfigChange {
    const exchange = ex.name;
    this.exchanges.delete(exchange);
    this.removedExchanges.set(exchange, ex);
    delete this.config.exchanges[exchange];
    this.venueLists.untrack(exchange);
    for (const symbol of this.onDemand.symbols(exchange)) this.onDemand.forget(exchange, symbol);
    ex.feed.setState('stopped');
    const stopped = this.retire(ex);
    this.stopping.add(stopped);
    void stopped.finally(() => this.stopping.delete(stopped));
    return this.changed('exchange_removed', exchange, null, 0);
  }

  /** Stop a removed exchange's worker (and the simulated venue when it was that one); never rejects. */
  private async retire(ex: ExchangeRuntime): Promise<void> {
    const supervisor = ex.supervisor;
    ex.supervisor = undefined;
    try {
      await supervisor?.stop();
      if (ex.name === 'simulated') {
        const sim = this.simulated;
        this.simulated = undefined;
        await sim?.stop();
      }
    } catch (err) {
      this.log.error({ event: 'exchange.stop_failed', exchange: ex.name, error: (err as Error).message }, `${ex.name} removed live did not stop cleanly: ${(err as Error).message}`);
    }
  }

  /** Run a live change, counting it when it is refused (CHANGE_REFUSED). */
  private counted<T>(change: () => T): T {
    try {
      return change();
    } catch (err) {
      if (err instanceof TickwireError && err.code === ErrorCode.CHANGE_REFUSED) this.changesRefused++;
      throw err;
    }
  }

  private checkedRemove(exchange: string, symbol: string): ConfigChange {
    const ex = this.exchangeFor(exchange);
    const native = ex.symbols.resolve(symbol)?.native;
    if (native === undefined || !ex.live.includes(native)) {
      throw new TickwireError(ErrorCode.SYMBOL_NOT_FOUND, `symbol ${JSON.stringify(symbol)} is not fed on ${exchange}`);
    }
    if (ex.live.length === 1) throw refused(`${native} is the last symbol of ${exchange}; an exchange needs at least one`);
    this.onDemand.forget(exchange, native);
    return this.unfeedSymbol(ex, native);
  }

  /** Stop feeding `native` on `ex` (checked already); its slot and series stay. */
  private unfeedSymbol(ex: ExchangeRuntime, native: string, cause?: ConfigChange['cause']): ConfigChange {
    const exchange = ex.name;
    const index = ex.native.indexOf(native);
    ex.retired.push(index);
    ex.live.splice(ex.live.indexOf(native), 1);
    ex.supervisor?.command({ type: 'removeSymbol', index });
    return this.changed('symbol_removed', exchange, native, 0, cause);
  }

  /** Log and emit an applied change. */
  private changed(action: ConfigChangeAction, exchange: string, symbol: string | null, restoredBars: number, cause?: ConfigChange['cause']): ConfigChange {
    const change: ConfigChange = { action, exchange, symbol, restoredBars, ts: Date.now(), ...(cause === undefined ? {} : { cause }) };
    this.changesApplied.set(action, (this.changesApplied.get(action) ?? 0) + 1);
    const what = symbol === null ? exchange : `${exchange} ${symbol}`;
    const why = cause === 'on_demand' ? ' (on demand)' : cause === 'idle' ? ' (on demand, idle)' : '';
    logChange(this.log, `${action.replace('_', ' ')}: ${what}${why}${restoredBars > 0 ? ` (${restoredBars} bars restored from storage)` : ''}`);
    this.events.emit('change', change);
    return change;
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

  /**
   * Load every strategy's module in the pool and check it (exports, params);
   * throws a ConfigError naming `strategies.<name>.…` otherwise. `start`
   * calls it; the CLI calls it earlier, before it listens. Idempotent.
   */
  prepare(): Promise<void> {
    this.prepared ??= (async () => {
      const issues = await this.market.prepare();
      if (issues.length > 0) throw new ConfigError('tickwire', issues);
      // Once every pool thread has started and applied pool.nice (the probes above may have needed only one of them).
      const priority = await this.market.strategyPoolPriorityChecked(POOL_PRIORITY_WAIT_MS);
      const notice = priority === undefined ? undefined : priorityNotice(priority);
      if (notice !== undefined) this.log.warn({ event: notice.event, ...notice.fields }, notice.text);
    })();
    return this.prepared;
  }

  async start(): Promise<void> {
    if (this.running) return;
    await this.prepare();
    this.running = true;
    this.startedAt = Date.now();
    this.ready = false;
    this.loopDelay.enable();
    this.startPhase = 'restoring stored bars';
    this.restore();
    // This runtime's limiters pace the main thread's requests (backfill, symbol lists); each worker gets its venue's.
    for (const ex of this.exchanges.values()) installRestLimiter(ex.restLimiter);
    if (this.config.storage?.backfill === true) {
      this.startPhase = 'backfilling missed bars from the venues';
      await Promise.all([...this.exchanges.values()].map((ex) => this.backfill(ex)));
    }
    // Restored and backfilled bars count toward each strategy's warm-up; live closes follow from the pump.
    this.market.seed((exchange, symbol, timeframe, limit) => this.bars(exchange, symbol, timeframe, { closed: true, limit }));
    this.startPhase = 'waiting for a feed to connect';
    this.storage.start();
    const sim = this.config.exchanges['simulated'];
    let simUrl = '';
    if (sim !== undefined) {
      this.simulated = new SimulatedExchange({ symbols: sim.symbols, rate: sim.rate, seed: sim.seed });
      simUrl = (await this.simulated.start()).url;
    }
    // Not awaited: a slow or failing venue never holds start (live additions are unchecked until a list arrives).
    this.venueLists.start();
    this.onDemand.start();
    this.market.start();
    this.listener = new Doorbell(this.doorbellBuffer).listen(
      () => {
        for (const ex of this.exchanges.values()) ex.pump.drain();
      },
      (us) => this.ringWait.recordValue(Math.max(1, us)),
    );
    for (const ex of this.exchanges.values()) this.startFeed(ex, simUrl);
  }

  /** Start `ex`'s supervised worker (`simUrl`: the simulated exchange's, when it is that one). */
  private startFeed(ex: ExchangeRuntime, simUrl: string): void {
    const name = ex.name;
    const cfg = this.config.exchanges[name]!;
    const entry = adapterFor(name)!;
    const url = cfg.url ?? (name === 'simulated' ? simUrl : entry.defaultUrl(cfg));
    const data: FeedWorkerData = {
      exchange: name,
      ...(entry.plugin === undefined ? {} : { plugin: entry.plugin }),
      // The slot list and the retired list are the runtime's own arrays: live changes update them before telling the worker.
      settings: { ...cfg, symbols: ex.native },
      slots: ex.slots,
      retired: ex.retired,
      url,
      timeframes: this.config.timeframes,
      bars: this.config.bars,
      buffers: ex.buffers,
      // The exchange's reliability knobs, then what the library caller overrides.
      connection: { ...connectionOptions(cfg.reliability ?? defaultReliability()), ...this.options.connection },
      restLimiter: ex.restLimiter.buffer,
      tickMs: this.options.tickMs ?? 100,
      statusMs: this.options.statusMs ?? 1_000,
      wakeWindowMs: this.options.wakeWindowMs ?? 0,
      restored: ex.restored > 0,
    };
    const log = this.log.child({ exchange: name });
    ex.supervisor = new FeedSupervisor(
      data,
      { status: (status) => this.onWorkerStatus(ex, status), changed: (change) => logRoute(log, ex.name, change) },
      this.options.supervisor,
      (record) => writeRecord(log, record),
    );
    ex.feed.setState('starting');
    ex.supervisor.start();
  }

  async stop(): Promise<void> {
    if (!this.running) {
      await this.market.close(); // prepared (the pool is up) but never started
      return;
    }
    this.running = false;
    this.ready = false;
    this.loopDelay.disable();
    this.market.stop();
    this.venueLists.stop();
    this.onDemand.stop();
    await Promise.all([...this.exchanges.values()].map((ex) => ex.supervisor?.stop()));
    await Promise.all(this.stopping); // exchanges removed just before
    for (const ex of this.exchanges.values()) ex.feed.setState('stopped');
    await this.listener?.stop();
    this.listener = undefined;
    for (const ex of this.exchanges.values()) ex.pump.drain(); // what the workers wrote last
    await this.simulated?.stop();
    this.simulated = undefined;
    await this.market.close();
    await this.storage.close(); // every bar closed so far is on disk
  }

  strategies(): StrategySummary[] {
    return this.market.strategies();
  }

  strategy(name: string): StrategyDetail | undefined {
    return this.market.strategy(name);
  }

  resumeStrategy(name: string): StrategySummary {
    return this.market.resumeStrategy(name);
  }

  pauseStrategy(name: string): StrategySummary {
    return this.market.pauseStrategy(name);
  }

  /** Resolves once no strategy has a judgment queued or running (tests, benchmarks). */
  async strategiesIdle(): Promise<void> {
    await this.market.idle();
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
    const log = this.log.child({ exchange: ex.name });
    const timeoutMs = this.config.storage!.backfillTimeoutMs;
    const t0 = Date.now();
    log.info({ event: 'backfill.started', series: targets.length, restUrl: urlForLogs(restUrl), timeoutMs }, `backfilling ${targets.length} series from ${urlForLogs(restUrl)} (at most ${timeoutMs} ms)`);
    const result = await backfill(
      restUrl,
      targets,
      t0,
      timeoutMs,
      (index, record) => this.storage.amended(index, record),
      (t, fetched, expected) => log.info({ event: 'backfill.progress', symbol: t.symbol, timeframe: t.timeframe, fetched, expected }, `backfill ${t.symbol} ${t.timeframe}: ${fetched}/${expected} bars`),
    );
    for (const p of result.problems) log.warn({ event: 'backfill.incomplete', problem: p }, `backfill incomplete: ${p}`);
    log.info({ event: 'backfill.done', bars: result.bars, problems: result.problems.length, ms: Date.now() - t0 }, `backfilled ${result.bars} bars in ${Date.now() - t0} ms`);
    ex.restored += result.bars;
    ex.pump.resync();
    this.storage.report.backfilled += result.bars;
    for (const p of result.problems) this.storage.report.problems.push(`${ex.name} ${p}`);
  }

  on<K extends keyof TickwireEvents>(event: K, handler: (payload: TickwireEvents[K]) => void): () => void {
    return this.events.on(event, handler);
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
    return resolveNative(this.readable(exchange)?.symbols, exchange, symbol);
  }

  symbols(): Record<string, Record<string, TimeframeName[]>> {
    const out: Record<string, Record<string, TimeframeName[]>> = {};
    for (const ex of this.exchanges.values()) {
      out[ex.name] = Object.fromEntries(ex.live.map((s) => [s, [...this.config.timeframes]]));
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
    const warnings = this.storage.warnings();
    // Starting until restore, backfill and a first connection are done (a feed down past the grace is unavailable).
    if (reasons.length === 0 && !this.ready) return { status: 'starting', reasons: [this.startPhase], warnings };
    return { status: reasons.length === 0 ? 'ok' : 'unavailable', reasons, warnings };
  }

  latency(options: LatencyOptions = {}): LatencyReport {
    const histograms = options.histograms === true;
    const parse: Record<string, LatencySummary> = {};
    const publish: Record<string, LatencySummary> = {};
    for (const ex of this.exchanges.values()) {
      parse[ex.name] = summarize(ex.feed.parse, histograms);
      publish[ex.name] = summarize(ex.pump.receiveToPublish, histograms);
    }
    return {
      parse,
      receive_to_publish: publish,
      ring_wait: { main: summarize(this.ringWait, histograms) },
      event_loop_delay: { main: summarize(this.loopDelay.histogram, histograms) },
    };
  }

  feeds(): FeedReport[] {
    return this.market.feeds();
  }

  feed(name: string): FeedReport {
    return this.market.feed(name);
  }

  portfolios(): PortfolioEvent[] {
    return this.market.portfolios();
  }

  portfolio(id: string): PortfolioEvent {
    return this.market.portfolio(id);
  }

  setHoldings(id: string, holdings: unknown): PortfolioEvent {
    return this.market.setHoldings(id, holdings);
  }

  alerts(): AlertsReport {
    return this.market.alerts();
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /**
   * Replace `exchange`'s worker with a new one that loads its adapter afresh
   * (`--watch` after a plugin file changed; docs/plugins.md). Its bars carry
   * on: they live in shared memory, which the new worker resumes.
   */
  async restartFeed(exchange: string, reason: string): Promise<void> {
    const ex = this.exchangeFor(exchange);
    const plugin = adapterFor(exchange)?.plugin;
    if (ex.supervisor === undefined) return;
    if (plugin !== undefined) ex.supervisor.data.plugin = plugin;
    await ex.supervisor.replace(reason);
  }

  /** Fault injection for tests: crash `exchange`'s worker or make it hang (the supervisor restarts it). */
  injectWorkerFault(exchange: string, fault: 'crash' | 'hang'): void {
    this.exchangeFor(exchange).supervisor?.inject(fault);
  }

  private pumpOutput(): PumpOutput {
    const market = this.market;
    return {
      trade: (e) => market.onTrade(e),
      quote: (e) => market.onQuote(e),
      bar: (u: BarUpdate, closed: boolean) => {
        market.onBar(u, closed);
        // New closes are picked up from the series at each flush; amendments (late trades, gap marks) are not new.
        if (closed && u.bar.revision > 0) this.storage.amendedBar(u);
      },
    };
  }

  private onWorkerStatus(ex: ExchangeRuntime, status: WorkerStatus): void {
    ex.feed.report(status, ex.supervisor?.totals.frames ?? 0);
    if (!this.ready && status.state === 'connected' && this.running) {
      this.ready = true; // workers start after restore and backfill: a connected one means all three are done
      this.log.info({ event: 'ready', exchange: ex.name, startupMs: Date.now() - this.startedAt }, `ready: ${ex.name} connected ${Date.now() - this.startedAt} ms after start`);
    }
    const s = this.exchangeStatus(ex);
    this.market.onExchangeState(ex.name, s.state);
    this.events.emit('status', s);
  }

  private exchangeStatus(ex: ExchangeRuntime): ExchangeStatus {
    const symbolList = this.venueLists.status(ex.name);
    const status: ExchangeStatus = {
      ...ex.feed.status(ex.supervisor, ex.ticks.overflow() + ex.barEvents.overflow()),
      rest: ex.restLimiter.status(),
      ...(symbolList === undefined ? {} : { symbolList }),
    };
    const entry = adapterFor(ex.name);
    if (entry?.plugin !== undefined) status.plugin = { ...entry.plugin, version: entry.version };
    return status;
  }

  private exchangeFor(exchange: string): ExchangeRuntime {
    const ex = this.exchanges.get(exchange);
    if (ex === undefined) throw new TickwireError(ErrorCode.EXCHANGE_NOT_FOUND, `exchange ${JSON.stringify(exchange)} is not configured`);
    return ex;
  }

  /** An exchange whose bars can be read: a fed one, or one removed live (its series stay until a restart). */
  private readable(exchange: string): ExchangeRuntime | undefined {
    return this.exchanges.get(exchange) ?? this.removedExchanges.get(exchange);
  }

  private seriesFor(exchange: string, symbol: string, timeframe: string): BarSeries {
    const { ex, index } = this.locate(exchange, symbol, timeframe);
    return ex.series[index]!;
  }

  /** The exchange and series index of (exchange, symbol, timeframe); throws the contract's codes. */
  private locate(exchange: string, symbol: string, timeframe: string): { ex: ExchangeRuntime; index: number } {
    const ex = this.readable(exchange) ?? this.exchangeFor(exchange);
    const native = this.resolveSymbol(exchange, symbol);
    const tf = parseTimeframe(timeframe).name;
    const tfIndex = this.config.timeframes.indexOf(tf);
    if (tfIndex < 0) {
      throw new TickwireError(ErrorCode.INVALID_TIMEFRAME, `timeframe ${timeframe} is not kept: configured are ${this.config.timeframes.join(' ')}`);
    }
    return { ex, index: seriesIndex(ex.native.indexOf(native), tfIndex, this.config.timeframes.length) };
  }
}

/** A live change's log record (docs/logging.md: `config.change`). */
function logChange(log: Logger, line: string): void {
  log.info({ event: 'config.change' }, `live change: ${line}`);
}

const ROUTES: Record<WorkerChanged['route'], string> = {
  live: 'on the open connection',
  connection: 'with its own connection',
  dropped: 'its frames dropped until the next reconnect (the venue has no live unsubscribe)',
};

/** How the worker applied a change (a second line once it did). */
function logRoute(log: Logger, exchange: string, c: WorkerChanged): void {
  logChange(log, `${exchange} ${c.symbol} ${c.action} ${ROUTES[c.route]}`);
}

/** Write a feed worker's record with the exchange's logger. */
function writeRecord(log: Logger, record: LogRecord): void {
  log[record.level]({ event: record.event, ...record.fields }, record.msg);
}

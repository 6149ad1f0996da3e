/**
 * An in-memory `Tickwire` for server tests: a few exchanges and symbols, bars
 * in real `BarSeries` (so `visitBars` reads shared memory as in production),
 * and methods a test calls to emit trades, quotes and bars.
 *
 * As in the real system, a bar is stored before its event is emitted.
 */
import { EVENT_TYPES, type BarQuery, type Tickwire, type TickwireEvents } from '../../src/api/types.ts';
import { EventBus } from '../../src/events/bus.ts';
import { configSymbols, resolveNative, toRange } from '../../src/api/bar-reads.ts';
import type { FeedReport } from '../../src/api/price-feeds.ts';
import type { AlertsReport } from '../../src/api/alert-rules.ts';
import { checkExchangeSection, checkRemovable } from '../../src/api/live-checks.ts';
import type { ConfigChange, PortfolioEvent, TradeEvent, QuoteEvent } from '../../src/model/events.ts';
import type { ExchangeStatus, HealthReport, LatencyOptions, LatencyReport, StatusReport } from '../../src/model/status.ts';
import { summarize } from '../../src/api/latency.ts';
import { newLatencyHistogram } from '../../src/reader/pump.ts';
import type { StrategyDetail, StrategySummary } from '../../src/model/strategy.ts';
import { BarSeries, BarStore, type BarVisitor } from '../../src/buffers/bar-store.ts';
import { defaultAuthConfig, defaultStreamConfig } from '../../src/config/defaults.ts';
import type { ExchangeConfig, TickwireConfig } from '../../src/config/types.ts';
import { defaultLimitsConfig } from '../../src/config/limits.ts';
import { ErrorCode, TickwireError } from '../../src/errors.ts';
import { BAR_FIELDS, writeBar, type Bar } from '../../src/model/records.ts';
import { SymbolIndex } from '../../src/model/symbols.ts';
import { TIMEFRAMES, parseTimeframe, type TimeframeName } from '../../src/model/timeframes.ts';

type Handler<K extends keyof TickwireEvents> = (payload: TickwireEvents[K]) => void;

function exchange(symbols: string[], channels: ExchangeConfig['channels']): ExchangeConfig {
  return { url: undefined, symbols, channels, rate: 0, seed: 1, restUrl: undefined, key: undefined, secret: undefined, assetClass: 'stocks', feed: undefined };
}

/**
 * binance: BTCUSDT, ETHUSDT (trades + quotes); kraken: XBT/USD, ETH/USD
 * (trades only); bybit: BTCUSDT (after binance in config order). 1m and 5m bars.
 */
export function fakeConfig(): TickwireConfig {
  return {
    server: { host: '127.0.0.1', port: 0, cors: { origins: [] } },
    auth: defaultAuthConfig(),
    stream: defaultStreamConfig(),
    timeframes: ['1m', '5m'],
    history: Object.fromEntries(TIMEFRAMES.map((tf) => [tf, 200])) as Record<TimeframeName, number>,
    bars: { graceMs: 250, fillEmpty: true, lateToleranceMs: 5000 },
    storage: null,
    limits: defaultLimitsConfig(),
    log: { level: 'info' },
    exchanges: {
      binance: exchange(['BTCUSDT', 'ETHUSDT'], ['trades', 'quotes']),
      kraken: exchange(['XBT/USD', 'ETH/USD'], ['trades']),
      bybit: exchange(['BTCUSDT'], ['trades']),
    },
  };
}

/** A plain bar at `openTime` of a timeframe of `tfMs`, prices around `price`. */
export function makeBar(openTime: number, tfMs: number, price: number, closed = true, overrides: Partial<Bar> = {}): Bar {
  const volume = 2;
  return {
    openTime,
    closeTime: openTime + tfMs - 1,
    open: price,
    high: price + 2,
    low: price - 1,
    close: price + 1,
    volume,
    quoteVolume: volume * (price + 0.5),
    buyVolume: 1.5,
    sellVolume: 0.5,
    trades: 3,
    firstTradeId: 1,
    lastTradeId: 3,
    vwap: price + 0.5,
    spread: null,
    closed,
    revision: 0,
    ...overrides,
  };
}

export class FakeTickwire implements Tickwire {
  readonly config: TickwireConfig;
  readonly store = new BarStore();
  healthReport: HealthReport = { status: 'ok', reasons: [] };
  /** Exchanges whose bar reads fail with EXCHANGE_NOT_RUNNING. */
  readonly notRunning = new Set<string>();
  /** Fields that override an exchange's reported status (state, lastMessageAgeMs…). */
  readonly statusPatch = new Map<string, Partial<ExchangeStatus>>();
  /** When set, bar reads throw it (an unexpected failure: the server must answer 500 without details). */
  failure: Error | undefined;
  metricsText = '# HELP tickwire_fake_up Fake library metric\n# TYPE tickwire_fake_up gauge\ntickwire_fake_up 1\n';
  readonly #indexes = new Map<string, SymbolIndex>();
  readonly events = new EventBus<TickwireEvents>(EVENT_TYPES);
  readonly #record = new Float64Array(BAR_FIELDS);
  #tradeId = 1000;

  constructor(config: TickwireConfig = fakeConfig()) {
    this.config = config;
    for (const [name, ex] of Object.entries(config.exchanges)) {
      const index = new SymbolIndex();
      for (const symbol of ex.symbols) {
        index.add(symbol);
        for (const tf of config.timeframes) this.store.create(seriesKey(name, symbol, tf), config.history[tf]);
      }
      this.#indexes.set(name, index);
    }
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  on<K extends keyof TickwireEvents>(event: K, handler: Handler<K>): () => void {
    return this.events.on(event, handler);
  }

  /** Handlers currently subscribed to `event`. */
  listenerCount(event: keyof TickwireEvents): number {
    return this.events.stats().types[event]!.handlers;
  }

  bars(exchange: string, symbol: string, timeframe: string, query: BarQuery = {}): Bar[] {
    return this.#series(exchange, symbol, timeframe).bars(toRange(query));
  }

  visitBars(exchange: string, symbol: string, timeframe: string, visitor: BarVisitor, query: BarQuery = {}): number {
    return this.#series(exchange, symbol, timeframe).visit(visitor, toRange(query));
  }

  currentBar(exchange: string, symbol: string, timeframe: string): Bar | undefined {
    return this.#series(exchange, symbol, timeframe).formingBar();
  }

  resolveSymbol(exchange: string, symbol: string): string {
    return resolveNative(this.#indexes.get(exchange), exchange, symbol);
  }

  symbols(): Record<string, Record<string, TimeframeName[]>> {
    return configSymbols(this.config);
  }

  status(): StatusReport {
    const exchanges: StatusReport['exchanges'] = {};
    for (const [name, ex] of Object.entries(this.config.exchanges)) {
      exchanges[name] = {
        exchange: name,
        state: this.notRunning.has(name) ? 'stopped' : 'connected',
        symbols: [...ex.symbols],
        reconnects: 0,
        restarts: 0,
        lastMessageAgeMs: 12,
        messageRate: 3.5,
        clockOffsetMs: -1.25,
        messages: 100,
        trades: 80,
        quotes: 20,
        parseErrors: 0,
        lateTradesDropped: 0,
        duplicateTradesDropped: 0,
        ringOverflow: 0,
        lastError: null,
        lastCrash: null,
        recoveredTrades: 0,
        unrecoveredGaps: 0,
        ...this.statusPatch.get(name),
      };
    }
    return { uptimeMs: 1234, exchanges, storage: null };
  }

  health(): HealthReport {
    return this.healthReport;
  }

  latency(options: LatencyOptions = {}): LatencyReport {
    const s = { p50: 10, p90: 20, p99: 40, p999: 80, max: 120, count: 1000 };
    if (options.histograms === true) {
      const h = newLatencyHistogram();
      h.recordValue(10);
      return { parse: { binance: { ...s, hdr: summarize(h, true).hdr! } } };
    }
    return { parse: { binance: s }, receive_to_publish: { binance: { ...s, p50: 30 } } };
  }

  /** Reports `feed()` and `feeds()` answer (a test sets them). */
  feedReports: FeedReport[] = [];

  feeds(): FeedReport[] {
    return this.feedReports;
  }

  feed(name: string): FeedReport {
    const f = this.feedReports.find((r) => r.feed === name);
    if (f === undefined) throw new TickwireError(ErrorCode.NOT_FOUND, `feed ${JSON.stringify(name)} is not configured`);
    return f;
  }

  /** Valuations `portfolio()`/`portfolios()` answer; `setHoldings` records its calls and answers the first. */
  portfolioValues: PortfolioEvent[] = [];
  readonly holdingsSet: { id: string; holdings: unknown }[] = [];
  alertsReport: AlertsReport = { rules: [], recent: [], webhook: null };

  portfolios(): PortfolioEvent[] {
    return this.portfolioValues;
  }

  portfolio(id: string): PortfolioEvent {
    const p = this.portfolioValues.find((v) => v.id === id);
    if (p === undefined) throw new TickwireError(ErrorCode.NOT_FOUND, `portfolio ${JSON.stringify(id)} is not configured`);
    return p;
  }

  /** Portfolios whose holdings `setHoldings` refuses CHANGE_REFUSED, as a paper strategy's are. */
  readonly paperPortfolios = new Set<string>();

  setHoldings(id: string, holdings: unknown): PortfolioEvent {
    const p = this.portfolio(id);
    if (this.paperPortfolios.has(id)) throw new TickwireError(ErrorCode.CHANGE_REFUSED, `portfolio ${JSON.stringify(id)} holds the paper positions of strategy ${JSON.stringify(id)}`);
    this.holdingsSet.push({ id, holdings });
    return p;
  }

  alerts(): AlertsReport {
    return this.alertsReport;
  }

  async metrics(): Promise<string> {
    return this.metricsText;
  }

  /** Adds to the config's list (series created) and emits `change`; CHANGE_REFUSED when already there. */
  addSymbol(exchange: string, symbol: string): ConfigChange {
    const ex = this.config.exchanges[exchange];
    if (ex === undefined) throw new TickwireError(ErrorCode.EXCHANGE_NOT_FOUND, `exchange ${JSON.stringify(exchange)} is not configured`);
    if (ex.symbols.includes(symbol)) throw new TickwireError(ErrorCode.CHANGE_REFUSED, `change refused, nothing changed: ${symbol} is already fed on ${exchange}`);
    ex.symbols.push(symbol);
    this.#indexes.get(exchange)!.add(symbol);
    for (const tf of this.config.timeframes) if (this.store.get(seriesKey(exchange, symbol, tf)) === undefined) this.store.create(seriesKey(exchange, symbol, tf), this.config.history[tf]);
    return this.#change('symbol_added', exchange, symbol);
  }

  /** Removes from the config's list (history kept) and emits `change`. */
  removeSymbol(exchange: string, symbol: string): ConfigChange {
    const native = this.resolveSymbol(exchange, symbol);
    const ex = this.config.exchanges[exchange]!;
    if (!ex.symbols.includes(native)) throw new TickwireError(ErrorCode.SYMBOL_NOT_FOUND, `symbol ${JSON.stringify(symbol)} is not fed on ${exchange}`);
    // As the runtime (src/api/live-checks.ts): an exchange keeps at least one symbol.
    if (ex.symbols.length === 1) throw new TickwireError(ErrorCode.CHANGE_REFUSED, `change refused, nothing changed: ${native} is the last symbol of ${exchange}`);
    ex.symbols.splice(ex.symbols.indexOf(native), 1);
    return this.#change('symbol_removed', exchange, native);
  }

  /** Adds the exchange as the runtime checks it (live-checks.ts: INVALID_CONFIG, CHANGE_REFUSED) and emits `change`. */
  addExchange(exchange: string, section: unknown): ConfigChange {
    if (this.config.exchanges[exchange] !== undefined) throw new TickwireError(ErrorCode.CHANGE_REFUSED, `change refused, nothing changed: exchange ${exchange} is fed already`);
    const ex = checkExchangeSection(exchange, section);
    this.config.exchanges[exchange] = ex;
    const index = new SymbolIndex();
    for (const s of ex.symbols) index.add(s);
    this.#indexes.set(exchange, index);
    for (const s of ex.symbols) for (const tf of this.config.timeframes) this.store.get(seriesKey(exchange, s, tf)) ?? this.store.create(seriesKey(exchange, s, tf), this.config.history[tf]);
    return this.#change('exchange_added', exchange, null);
  }

  /** Removes the exchange from the config as the runtime checks it (its series stay) and emits `change`. */
  removeExchange(exchange: string): ConfigChange {
    if (this.config.exchanges[exchange] === undefined) throw new TickwireError(ErrorCode.EXCHANGE_NOT_FOUND, `exchange ${JSON.stringify(exchange)} is not configured`);
    checkRemovable(this.config, exchange);
    delete this.config.exchanges[exchange];
    return this.#change('exchange_removed', exchange, null);
  }

  #change(action: ConfigChange['action'], exchange: string, symbol: string | null): ConfigChange {
    const change: ConfigChange = { action, exchange, symbol, restoredBars: 0, ts: Date.now() };
    this.#emit('change', change);
    return change;
  }

  /** Strategies the fake reports (tests push details here before creating a server). */
  readonly strategyDetails: StrategyDetail[] = [];

  strategies(): StrategySummary[] {
    return this.strategyDetails.map(({ executor: _e, account: _a, signalsRecent: _s, ...summary }) => summary);
  }

  strategy(name: string): StrategyDetail | undefined {
    return this.strategyDetails.find((d) => d.name === name);
  }

  resumeStrategy(name: string): StrategySummary {
    const d = this.strategyDetails.find((x) => x.name === name);
    if (d === undefined) throw new TickwireError(ErrorCode.NOT_FOUND, `no strategy named ${name} is configured`);
    if (d.state !== 'paused') throw new TickwireError(ErrorCode.CHANGE_REFUSED, `change refused, nothing changed: strategy ${name} is ${d.state}, not paused`);
    d.state = 'running';
    return this.strategies().find((x) => x.name === name)!;
  }

  pauseStrategy(name: string): StrategySummary {
    const d = this.strategyDetails.find((x) => x.name === name);
    if (d === undefined) throw new TickwireError(ErrorCode.NOT_FOUND, `no strategy named ${name} is configured`);
    if (d.state === 'paused') throw new TickwireError(ErrorCode.CHANGE_REFUSED, `change refused, nothing changed: strategy ${name} is paused already`);
    d.state = 'paused';
    return this.strategies().find((x) => x.name === name)!;
  }

  // ── test controls ──────────────────────────────────────────────────────

  /** Emit a strategy event (prediction, signal, fill, strategy status) as the runtime would. */
  emitStrategy<K extends 'prediction' | 'signal' | 'fill' | 'strategy'>(event: K, payload: TickwireEvents[K]): void {
    this.#emit(event, payload);
  }

  /** Emit a trade (defaults: a buy of 0.5 at 100 now, increasing trade ids). */
  trade(exchange: string, symbol: string, fields: Partial<TradeEvent> = {}): TradeEvent {
    const now = Date.now();
    const e: TradeEvent = { exchange, symbol, tradeId: ++this.#tradeId, price: 100, size: 0.5, side: 'buy', ts: now, recvTs: now + 0.125, ...fields };
    this.#emit('trade', e);
    return e;
  }

  quote(exchange: string, symbol: string, fields: Partial<QuoteEvent> = {}): QuoteEvent {
    const now = Date.now();
    const e: QuoteEvent = { exchange, symbol, bidPrice: 99.5, bidSize: 1, askPrice: 100.5, askSize: 2, ts: now, recvTs: now + 0.25, ...fields };
    this.#emit('quote', e);
    return e;
  }

  /** Store a bar (closed: into the ring; else as the forming bar), then emit `bar` (and `barClose` when closed). */
  bar(exchange: string, symbol: string, timeframe: TimeframeName, bar: Bar): void {
    this.putBar(exchange, symbol, timeframe, bar);
    const update = { exchange, symbol, timeframe, bar };
    this.#emit('bar', update);
    if (bar.closed) this.#emit('barClose', update);
  }

  /** Store a bar without any event (history set-up). */
  putBar(exchange: string, symbol: string, timeframe: TimeframeName, bar: Bar): void {
    const series = this.store.get(seriesKey(exchange, symbol, timeframe));
    if (series === undefined) throw new Error(`no series ${exchange} ${symbol} ${timeframe}`);
    writeBar(bar, this.#record, 0);
    if (bar.closed) series.putClosed(this.#record, 0);
    else series.setForming(this.#record, 0);
  }

  /** `closed` closed bars from `firstOpen`, then a forming one, without events. Returns them oldest first. */
  seed(exchange: string, symbol: string, timeframe: TimeframeName, closed: number, firstOpen: number, price = 100): Bar[] {
    const ms = parseTimeframe(timeframe).ms;
    const out: Bar[] = [];
    for (let i = 0; i <= closed; i++) {
      const bar = makeBar(firstOpen + i * ms, ms, price + i, i < closed, i % 2 === 0 ? { spread: 0.5 } : {});
      this.putBar(exchange, symbol, timeframe, bar);
      out.push(bar);
    }
    return out;
  }

  #emit<K extends keyof TickwireEvents>(event: K, payload: TickwireEvents[K]): void {
    this.events.emit(event, payload);
  }

  #series(exchange: string, symbol: string, timeframe: string): BarSeries {
    const native = this.resolveSymbol(exchange, symbol);
    const tf = parseTimeframe(timeframe).name;
    if (!this.config.timeframes.includes(tf)) {
      throw new TickwireError(ErrorCode.INVALID_TIMEFRAME, `timeframe ${tf} is not kept: kept are ${this.config.timeframes.join(' ')}`);
    }
    if (this.notRunning.has(exchange)) throw new TickwireError(ErrorCode.EXCHANGE_NOT_RUNNING, `exchange ${exchange} is not running`);
    if (this.failure !== undefined) throw this.failure;
    return this.store.get(seriesKey(exchange, native, tf))!;
  }
}

function seriesKey(exchange: string, symbol: string, tf: string): string {
  return `${exchange}\u0000${symbol}\u0000${tf}`;
}

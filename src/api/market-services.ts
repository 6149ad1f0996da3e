/**
 * What runs on market data rather than on exchange connections: price feeds
 * with failover (price-feeds.ts), portfolios (portfolios.ts), alert rules
 * (alert-rules.ts) and strategies (src/strategies/), wired to each other
 * (feed prices value portfolios and judge price rules; fills move paper
 * portfolios). Their owner hands them its trades, quotes, bar events and
 * exchange states: a single process from its pump and workers
 * (tickwire.ts), a cluster edge from the cluster's messages
 * (src/cluster/edge-runtime.ts). One object, one code path: an edge
 * computes what one process computes from the same messages.
 *
 * Each `on*` call also emits its event on the bus, after the feeds, rules
 * and portfolios took it and before strategies do (what the bus's handlers
 * see is what the services already saw).
 */
import type client from 'prom-client';
import type { ConfigIssue } from '../check/checker.ts';
import type { TickwireConfig } from '../config/types.ts';
import { ErrorCode, showValue, TickwireError } from '../errors.ts';
import type { EventBus } from '../events/bus.ts';
import { nowMs } from '../model/clock.ts';
import type { BarUpdate, PortfolioEvent, QuoteEvent, TradeEvent } from '../model/events.ts';
import type { Bar } from '../model/records.ts';
import type { ExchangeState } from '../model/status.ts';
import type { StrategyDetail, StrategySummary } from '../model/strategy.ts';
import type { TimeframeName } from '../model/timeframes.ts';
import type { PoolPriority } from '../strategies/pool.ts';
import { StrategyRuntime } from '../strategies/runtime.ts';
import { RuntimeAlerts, type AlertsReport } from './alert-rules.ts';
import { registerFeedMetrics } from './feed-metrics.ts';
import { RuntimePortfolios } from './portfolios.ts';
import { PriceFeeds, type FeedReport, type OneMinuteBars } from './price-feeds.ts';
import { registerStrategyMetrics } from './strategy-metrics.ts';
import type { TickwireEvents } from './types.ts';

/** Reads the newest `limit` closed bars of a series, oldest first (a strategy's warm-up). */
export type ClosedBars = (exchange: string, symbol: string, timeframe: TimeframeName, limit: number) => Bar[];

/** One process's feeds, portfolios, alert rules and strategies; see the module comment. */
export class MarketServices {
  readonly #bus: EventBus<TickwireEvents>;
  readonly #prices: PriceFeeds;
  readonly #alerts: RuntimeAlerts;
  readonly #portfolios: RuntimePortfolios;
  /** undefined without strategies (no pool is started). */
  readonly #strategies: StrategyRuntime | undefined;
  #prepared: Promise<ConfigIssue[]> | undefined;
  #closed: Promise<void> | undefined;

  /**
   * `config`'s feeds, portfolios, alert rules and strategies, publishing on
   * `bus`; `bars` reads 1m bars for the feeds' 24-hour figures;
   * `busyThreads` are the process's other busy threads (feed workers, an
   * edge's serving thread): the strategy pool's default size leaves them
   * their cores.
   */
  constructor(config: TickwireConfig, bus: EventBus<TickwireEvents>, bars: OneMinuteBars, busyThreads: number) {
    this.#bus = bus;
    this.#prices = new PriceFeeds(Object.values(config.feeds ?? {}), bus, bars);
    this.#alerts = new RuntimeAlerts(config.alerts, bus);
    const rules = this.#alerts.engine;
    const books = (this.#portfolios = new RuntimePortfolios(config, bus, (e) => rules.onPortfolio(e.id, e.value, e.ts)));
    this.#prices.listen({
      price: (e) => {
        rules.onFeedPrice(e.feed, e.price, e.ts);
        books.onPrice(e);
      },
      source: (e) => rules.onSource(e),
    });
    const strategies = config.strategies ?? {};
    this.#strategies =
      Object.keys(strategies).length === 0
        ? undefined
        : new StrategyRuntime(strategies, config.pool, {
            prediction: (e) => bus.emit('prediction', e),
            signal: (e) => bus.emit('signal', e),
            fill: (e) => {
              books.onFill(e);
              bus.emit('fill', e);
            },
            rejected: () => {}, // counted in the account; the detail route shows it
            status: (s) => bus.emit('strategy', s),
          }, { feedWorkers: busyThreads });
  }

  // ── lifecycle ──────────────────────────────────────────────────────────

  /** Load and check every strategy's module in the pool; the problems as config issues (none: ready). Idempotent. */
  prepare(): Promise<ConfigIssue[]> {
    this.#prepared ??= this.#strategies?.probe() ?? Promise.resolve([]);
    return this.#prepared;
  }

  /** Hand each strategy the closed bars its series holds already (restored, backfilled, or read from the cluster). */
  seed(read: ClosedBars): void {
    this.#strategies?.seed(read);
  }

  /** Start the timers: feed checks, alert checks, portfolio valuation. */
  start(): void {
    this.#prices.start();
    this.#alerts.start();
    this.#portfolios.start();
  }

  /** Stop the timers and the alert webhook; events handed in later are still taken (a last drain). */
  stop(): void {
    this.#prices.stop();
    this.#alerts.stop();
    void this.#portfolios.stop();
  }

  /** Stop, then close the strategy pool and the holdings database. Idempotent. */
  close(): Promise<void> {
    this.stop();
    this.#closed ??= Promise.all([this.#strategies?.close(), this.#portfolios.close()]).then(() => undefined);
    return this.#closed;
  }

  /** Resolves once no strategy has a judgment queued or running (tests, benchmarks). */
  async idle(): Promise<void> {
    await this.#strategies?.idle();
  }

  // ── the market data ────────────────────────────────────────────────────

  onTrade(e: TradeEvent): void {
    this.#prices.onTrade(e);
    this.#alerts.engine.onTrade(e.exchange, e.symbol, e.price, e.recvTs);
    this.#portfolios.onTrade(e);
    this.#bus.emit('trade', e);
    this.#strategies?.onTrade(e.exchange, e.symbol, e.price, e.ts);
  }

  onQuote(e: QuoteEvent): void {
    this.#prices.onQuote(e);
    this.#alerts.engine.onQuote(e.exchange, e.symbol, e.bidPrice, e.askPrice, e.recvTs);
    this.#bus.emit('quote', e);
  }

  /** A forming-bar update, or (`closed`) a close or an amendment (`revision` > 0): volume rules judge closes only. */
  onBar(u: BarUpdate, closed: boolean): void {
    this.#bus.emit('bar', u);
    if (!closed) return;
    if (u.bar.revision === 0) this.#alerts.engine.onBarClose(u.exchange, u.symbol, u.timeframe, u.bar.volume, nowMs());
    this.#bus.emit('barClose', u);
    this.#strategies?.onBar(u);
  }

  /** An exchange's connection state: a source of a venue not connected loses its feed at once; stale-exchange rules. */
  onExchangeState(exchange: string, state: ExchangeState): void {
    this.#prices.onExchangeState(exchange, state);
    this.#alerts.engine.onExchangeState(exchange, state, nowMs());
  }

  // ── what the API serves ────────────────────────────────────────────────

  feeds(): FeedReport[] {
    return this.#prices.reports();
  }

  /** One feed's report; throws NOT_FOUND. */
  feed(name: string): FeedReport {
    const report = this.#prices.report(name);
    if (report === undefined) throw new TickwireError(ErrorCode.NOT_FOUND, `feed ${JSON.stringify(name)} is not configured`);
    return report;
  }

  portfolios(): PortfolioEvent[] {
    return this.#portfolios.valuations();
  }

  /** One portfolio valued now; throws NOT_FOUND. */
  portfolio(id: string): PortfolioEvent {
    return this.#portfolios.valuation(id);
  }

  /** Replace a portfolio's holdings (portfolios.ts: checked whole, stored when storage is on, then applied). */
  setHoldings(id: string, holdings: unknown): PortfolioEvent {
    return this.#portfolios.setHoldings(id, holdings);
  }

  alerts(): AlertsReport {
    return this.#alerts.report();
  }

  strategies(): StrategySummary[] {
    return this.#strategies?.summaries() ?? [];
  }

  strategy(name: string): StrategyDetail | undefined {
    return this.#strategies?.detail(name);
  }

  /** How the strategy pool's threads took their low priority, once every thread has (at most `timeoutMs` later); undefined without strategies. */
  strategyPoolPriorityChecked(timeoutMs: number): Promise<PoolPriority | undefined> {
    return this.#strategies?.poolPriorityChecked(timeoutMs) ?? Promise.resolve(undefined);
  }

  /** Resume a paused strategy; throws NOT_FOUND or CHANGE_REFUSED (strategies/runtime.ts). */
  resumeStrategy(name: string): StrategySummary {
    return this.#runtimeOf(name).resume(name);
  }

  /** Pause a strategy on request; throws NOT_FOUND or CHANGE_REFUSED (strategies/runtime.ts). */
  pauseStrategy(name: string): StrategySummary {
    return this.#runtimeOf(name).pause(name);
  }

  /** The strategy runtime, to act on strategy `name`; throws NOT_FOUND without strategies. */
  #runtimeOf(name: string): StrategyRuntime {
    if (this.#strategies === undefined) throw new TickwireError(ErrorCode.NOT_FOUND, `no strategy named ${showValue(name)} is configured`);
    return this.#strategies;
  }

  /** Register the feeds' metrics (and the strategies', when there are any) on `registry`. */
  registerMetrics(registry: client.Registry): void {
    registerFeedMetrics(registry, () => this.#prices.switches, () => this.#prices.reports());
    const strategies = this.#strategies;
    if (strategies !== undefined) registerStrategyMetrics(registry, () => this.strategies(), () => strategies.poolPriority);
  }
}

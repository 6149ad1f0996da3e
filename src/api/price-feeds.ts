/**
 * The runtime's price feeds: the router (src/prices/feed-router.ts) fed with
 * the pump's trades and quotes and the workers' status reports, checked
 * every 250 ms, publishing `price` and `source` events on the bus; and each
 * feed's report for `/v1/feeds` (state and 24-hour figures from 1m bars).
 */
import type { BarVisitor } from '../buffers/bar-store.ts';
import type { PriceFeedConfig } from '../config/types.ts';
import type { EventBus } from '../events/bus.ts';
import type { PriceEvent, QuoteEvent, SourceEvent, TradeEvent } from '../model/events.ts';
import { nowMs } from '../model/clock.ts';
import type { ExchangeState } from '../model/status.ts';
import { dayStats, type DayStats } from '../prices/day-stats.ts';
import { FeedRouter, type FeedState } from '../prices/feed-router.ts';
import type { TickwireEvents } from './types.ts';

/** How often staleness and switch-back are checked, ms (a stale source is dropped within staleMs + this). */
export const FEED_CHECK_MS = 250;

/** A feed as `/v1/feeds` shows it: its state and its 24-hour figures. */
export interface FeedReport extends FeedState {
  base: string;
  quote: string;
  /** The source whose 1m bars gave `day` (the active one, else the primary). */
  daySource: string;
  day: DayStats;
}

/** Reads an exchange symbol's 1m bars with open time ≥ start (closed, then forming). */
export type OneMinuteBars = (exchange: string, symbol: string, visitor: BarVisitor, start: number) => void;

/** Others who take every price and switch directly (portfolios, alert rules), before the bus. */
export interface PriceListener {
  price(e: PriceEvent): void;
  source(e: SourceEvent): void;
}

export class PriceFeeds {
  readonly #configs: ReadonlyMap<string, PriceFeedConfig>;
  readonly #router: FeedRouter;
  readonly #bars: OneMinuteBars;
  readonly #listeners: PriceListener[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(configs: readonly PriceFeedConfig[], bus: EventBus<TickwireEvents>, bars: OneMinuteBars) {
    this.#configs = new Map(configs.map((c) => [c.name, c]));
    this.#bars = bars;
    this.#router = new FeedRouter(
      configs,
      {
        price: (e) => {
          for (const l of this.#listeners) l.price(e);
          bus.emit('price', e);
        },
        source: (e) => {
          for (const l of this.#listeners) l.source(e);
          bus.emit('source', e);
        },
      },
      () => this.#listeners.length > 0 || bus.has('price'),
    );
  }

  /** Any feeds configured? */
  get enabled(): boolean {
    return this.#configs.size > 0;
  }

  /** Switches since start, by reason (metrics). */
  get switches(): ReadonlyMap<string, number> {
    return this.#router.switchesByReason;
  }

  /** Add a direct consumer of prices and switches (called before the bus's handlers). */
  listen(listener: PriceListener): void {
    this.#listeners.push(listener);
  }

  start(): void {
    if (!this.enabled || this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#router.check(nowMs()), FEED_CHECK_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** A trade; the clock is read only for a symbol that serves a feed (the router judges its age on arrival). */
  onTrade(e: TradeEvent): void {
    if (this.#router.serves(e.exchange, e.symbol)) this.#router.onTrade(e.exchange, e.symbol, e.price, e.ts, e.recvTs, nowMs());
  }

  /** A quote, as `onTrade`. */
  onQuote(e: QuoteEvent): void {
    if (this.#router.serves(e.exchange, e.symbol)) this.#router.onQuote(e.exchange, e.symbol, e.bidPrice, e.askPrice, e.ts, e.recvTs, nowMs());
  }

  onExchangeState(exchange: string, state: ExchangeState): void {
    this.#router.onExchangeState(exchange, state, nowMs());
  }

  /** Every feed's report, in config order. */
  reports(): FeedReport[] {
    const now = nowMs();
    return this.#router.states(now).map((s) => this.#report(s));
  }

  /** One feed's report; undefined when there is no such feed. */
  report(name: string): FeedReport | undefined {
    const now = nowMs();
    const s = this.#router.state(name, now);
    return s === undefined ? undefined : this.#report(s);
  }

  #report(s: FeedState): FeedReport {
    const config = this.#configs.get(s.feed)!;
    const src = this.#router.barSource(s.feed)!;
    const day = dayStats((visitor, start) => this.#bars(src.exchange, src.symbol, visitor, start), Date.now(), s.price ?? NaN);
    return { ...s, base: config.base, quote: config.quote, daySource: `${src.exchange}:${src.symbol}`, day };
  }
}

/**
 * The runtime's portfolios: one valuation book per portfolio (its own price
 * graph: pegs are per portfolio), fed with the feeds' prices and the pump's
 * trades, ticked every 100 ms, publishing `portfolio` events; holdings set
 * through `setHoldings` are checked whole, written to storage, then applied
 * (a bad or unstorable set changes nothing). At start, stored holdings win
 * over the config's (a restart keeps a PUT); stored holdings that no longer
 * check against the config (an asset that lost its market) are set aside
 * for the config's and the reason kept in `problems`.
 *
 * Each paper strategy has a portfolio of its own name
 * (src/portfolios/paper-portfolios.ts): valued the same way, its holdings
 * set by the strategy's fills (`onFill`), never stored, and a `setHoldings`
 * on it is refused CHANGE_REFUSED (the executor owns it).
 */
import type { TickwireConfig } from '../config/types.ts';
import { ErrorCode, TickwireError } from '../errors.ts';
import type { EventBus } from '../events/bus.ts';
import { nowMs } from '../model/clock.ts';
import type { PortfolioEvent, PriceEvent, TradeEvent } from '../model/events.ts';
import type { FillEvent } from '../model/strategy.ts';
import { checkHoldings } from '../portfolios/holdings.ts';
import { paperPortfolios, type PaperPortfolio } from '../portfolios/paper-portfolios.ts';
import { priceGraph } from '../portfolios/price-paths.ts';
import { PortfolioBook } from '../portfolios/valuation.ts';
import { HoldingsDb } from '../storage/holdings-db.ts';
import type { TickwireEvents } from './types.ts';

/** How often moved portfolios are valued and published, ms. */
export const PORTFOLIO_TICK_MS = 100;

export class RuntimePortfolios {
  /** Portfolio id → the book valuing it (paper portfolios share books). */
  readonly #books = new Map<string, PortfolioBook>();
  /** Each book once: what prices, trades and ticks go to. */
  readonly #distinct: PortfolioBook[] = [];
  /** Paper strategies' portfolios: id (the strategy's name) → the assets of its position and its cash. */
  readonly #paper = new Map<string, { base: string; quote: string }>();
  readonly #db: HoldingsDb | undefined;
  /** Stored holdings that could not be used at start, one line each. */
  readonly problems: string[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(config: TickwireConfig, bus: EventBus<TickwireEvents>, onValue: (e: PortfolioEvent) => void) {
    const portfolios = Object.values(config.portfolios ?? {});
    this.#db = portfolios.length > 0 && config.storage !== null ? new HoldingsDb(`${config.storage.path}-portfolios`) : undefined;
    const publish = (e: PortfolioEvent): void => {
      onValue(e);
      bus.emit('portfolio', e);
    };
    const now = nowMs();
    for (const p of portfolios) {
      const graph = priceGraph(config.feeds ?? {}, config.exchanges, p.pegs);
      let holdings = checkHoldings(p.holdings, graph, p.quote);
      const stored = this.#db?.get(p.id);
      if (stored !== undefined) {
        try {
          holdings = checkHoldings(stored, graph, p.quote);
        } catch (err) {
          this.problems.push(`portfolio ${p.id}: stored holdings set aside for the config's: ${(err as Error).message}`);
        }
      }
      this.#add([p.id], new PortfolioBook(graph, [{ config: p, holdings }], publish, now));
    }
    // Paper portfolios with the same pegs (paperPortfolios gives none) share one price graph, hence one book: a trade then sets
    // one price slot for all of them, not one per strategy (100 paper strategies made every trade 100 book updates).
    const paperByPegs = new Map<string, PaperPortfolio[]>();
    for (const paper of paperPortfolios(config.strategies)) {
      const key = JSON.stringify(paper.config.pegs);
      const group = paperByPegs.get(key);
      if (group === undefined) paperByPegs.set(key, [paper]);
      else group.push(paper);
    }
    for (const group of paperByPegs.values()) {
      const graph = priceGraph(config.feeds ?? {}, config.exchanges, group[0]!.config.pegs);
      const book = new PortfolioBook(graph, group.map(({ config: p }) => ({ config: p, holdings: checkHoldings(p.holdings, graph, p.quote) })), publish, now);
      this.#add(group.map(({ config: p }) => p.id), book);
      for (const { config: p, base } of group) this.#paper.set(p.id, { base, quote: p.quote });
    }
  }

  #add(ids: string[], book: PortfolioBook): void {
    for (const id of ids) this.#books.set(id, book);
    this.#distinct.push(book);
  }

  get ids(): string[] {
    return [...this.#books.keys()];
  }

  start(): void {
    if (this.#books.size === 0 || this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      const now = nowMs();
      for (const b of this.#distinct) b.tick(now);
    }, PORTFOLIO_TICK_MS);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async close(): Promise<void> {
    await this.stop();
    await this.#db?.close();
  }

  onPrice(e: PriceEvent): void {
    for (const b of this.#distinct) b.onFeedPrice(e.feed, e.price, e.ts);
  }

  onTrade(e: TradeEvent): void {
    for (let i = 0; i < this.#distinct.length; i++) this.#distinct[i]!.onTrade(e.exchange, e.symbol, e.price, e.recvTs);
  }

  /** A strategy's fill: a paper strategy's portfolio now holds the account's position and cash (others' fills change nothing). */
  onFill(e: FillEvent): void {
    const paper = this.#paper.get(e.strategy);
    if (paper !== undefined) this.#books.get(e.strategy)!.setAmounts(e.strategy, { [paper.base]: e.position, [paper.quote]: e.cash });
  }

  /** Every portfolio valued now. */
  valuations(): PortfolioEvent[] {
    const now = nowMs();
    return [...this.#books.entries()].map(([id, b]) => b.valuation(id, now)!);
  }

  /** One portfolio valued now; throws NOT_FOUND. */
  valuation(id: string): PortfolioEvent {
    return this.#book(id).valuation(id, nowMs())!;
  }

  /**
   * Replace `id`'s holdings: checked whole (INVALID_PARAMETER: negative, not
   * a number, an asset nothing prices), stored (STORAGE_FAILED), then
   * applied; any failure changes nothing. A paper strategy's portfolio is
   * refused (CHANGE_REFUSED). Returns the new valuation.
   */
  setHoldings(id: string, given: unknown): PortfolioEvent {
    const book = this.#book(id);
    if (this.#paper.has(id)) {
      throw new TickwireError(ErrorCode.CHANGE_REFUSED, `portfolio ${JSON.stringify(id)} holds the paper positions of strategy ${JSON.stringify(id)}: its executor sets them on every fill, they cannot be set by hand`);
    }
    const checked = checkHoldings(given, book.graph, book.quoteOf(id)!);
    this.#db?.put(id, Object.fromEntries(checked.map((h) => [h.asset, h.amount])));
    book.setHoldings(id, checked);
    return book.valuation(id, nowMs())!;
  }

  #book(id: string): PortfolioBook {
    const book = this.#books.get(id);
    if (book === undefined) throw new TickwireError(ErrorCode.NOT_FOUND, `portfolio ${JSON.stringify(id)} is not configured`);
    return book;
  }
}

/**
 * Portfolios valued live. Pure: prices and a clock in, valuations out; the
 * owner calls `tick(now)` every 100 ms.
 *
 * Each edge of the price graph (src/portfolios/price-paths.ts) has one price
 * slot, written by the feed's prices or the market's trades (a peg is 1,
 * never stale). A price marks the portfolios that use it; `tick` values a
 * marked portfolio and publishes when its value moved by more than
 * `minChangeBps` since the last publish, and any portfolio every
 * `heartbeatMs`.
 *
 * A holding's price is the product along its path; a holding whose path
 * lacks a price, or has one older than `staleMs`, is listed in `stale` (a
 * price it had still counts in `value`; one it never had counts 0).
 * `change` is against the value when the portfolio was first valued in full
 * (every holding priced), or when its holdings last changed: `since` says
 * when (decision where the issue is silent: history of holdings' values is
 * not kept, so "change" is since tracking began).
 *
 * Cost per trade of a market that prices nothing: one Map lookup; of one
 * that does, a slot write and a flag per portfolio using it.
 */
import type { PortfolioConfig } from '../config/types.ts';
import type { HoldingValue, PortfolioEvent } from '../model/events.ts';
import type { CheckedHolding } from './holdings.ts';
import { pathName, type PriceGraph } from './price-paths.ts';

/** A portfolio's publishing and staleness settings when the config gives none (`portfolios.<id>`, and paper strategies' portfolios). */
export const PORTFOLIO_DEFAULTS = { minChangeBps: 1, heartbeatMs: 10_000, staleMs: 60_000 } as const;

interface Slot {
  price: number;
  ts: number;
  /** Portfolios whose holdings' paths use this edge. */
  users: Book[];
}

interface Book {
  readonly config: PortfolioConfig;
  holdings: CheckedHolding[];
  names: string[];
  dirty: boolean;
  lastValue: number;
  lastPublish: number;
  refValue: number;
  refTs: number;
}

export class PortfolioBook {
  readonly #graph: PriceGraph;
  readonly #books = new Map<string, Book>();
  readonly #slots = new Map<string, Slot>();
  readonly #byFeed = new Map<string, Slot>();
  readonly #byMarket = new Map<string, Map<string, Slot>>();
  readonly #publish: (e: PortfolioEvent) => void;

  constructor(graph: PriceGraph, portfolios: readonly { config: PortfolioConfig; holdings: CheckedHolding[] }[], publish: (e: PortfolioEvent) => void, now: number) {
    this.#graph = graph;
    this.#publish = publish;
    for (const e of graph.edges) {
      const slot: Slot = { price: e.key.startsWith('peg:') ? 1 : NaN, ts: e.key.startsWith('peg:') ? Infinity : NaN, users: [] };
      this.#slots.set(e.key, slot);
      if (e.key.startsWith('feed:')) this.#byFeed.set(e.key.slice(5), slot);
      else if (!e.key.startsWith('peg:')) {
        const colon = e.key.indexOf(':');
        const exchange = e.key.slice(0, colon);
        let bySymbol = this.#byMarket.get(exchange);
        if (bySymbol === undefined) this.#byMarket.set(exchange, (bySymbol = new Map()));
        bySymbol.set(e.key.slice(colon + 1), slot);
      }
    }
    for (const p of portfolios) {
      const book: Book = { config: p.config, holdings: [], names: [], dirty: true, lastValue: NaN, lastPublish: now, refValue: NaN, refTs: NaN };
      this.#books.set(p.config.id, book);
      this.#apply(book, p.holdings);
    }
  }

  /** The graph holdings are priced through (checkHoldings needs it). */
  get graph(): PriceGraph {
    return this.#graph;
  }

  ids(): string[] {
    return [...this.#books.keys()];
  }

  /** A portfolio's quote asset, undefined for an unknown id. */
  quoteOf(id: string): string | undefined {
    return this.#books.get(id)?.config.quote;
  }

  onFeedPrice(feed: string, price: number, now: number): void {
    const slot = this.#byFeed.get(feed);
    if (slot !== undefined) set(slot, price, now);
  }

  onTrade(exchange: string, symbol: string, price: number, now: number): void {
    const slot = this.#byMarket.get(exchange)?.get(symbol);
    if (slot !== undefined) set(slot, price, now);
  }

  /** Publish the portfolios that moved enough, or whose heartbeat is due. */
  tick(now: number): void {
    for (const book of this.#books.values()) {
      const due = now - book.lastPublish >= book.config.heartbeatMs;
      if (!book.dirty && !due) continue;
      book.dirty = false;
      // The total alone first: most ticks of a moved price publish nothing (below minChangeBps), and building the event
      // (rows, weights, stale list) for each of 100 paper strategies' portfolios on every tick was most of their cost.
      const value = this.#total(book, now);
      const moved = Number.isNaN(book.lastValue) || (book.lastValue === 0 ? value !== 0 : (Math.abs(value - book.lastValue) / book.lastValue) * 10_000 > book.config.minChangeBps);
      if (!moved && !due) continue;
      book.lastValue = value;
      book.lastPublish = now;
      this.#publish(this.#value(book, now, value));
    }
  }

  /** A portfolio's valuation now; undefined for an unknown id. */
  valuation(id: string, now: number): PortfolioEvent | undefined {
    const book = this.#books.get(id);
    return book === undefined ? undefined : this.#value(book, now);
  }

  /** Replace a portfolio's holdings (already checked against `graph`); the change reference restarts. Returns false for an unknown id. */
  setHoldings(id: string, holdings: CheckedHolding[]): boolean {
    const book = this.#books.get(id);
    if (book === undefined) return false;
    this.#apply(book, holdings);
    return true;
  }

  /**
   * Change the amounts of assets already held, in place: paths and the change
   * reference are kept (a paper fill trades one held asset for another, so
   * `change` keeps measuring from the start). Published at the next tick
   * whatever the value did: the holdings changed. Returns false for an
   * unknown id.
   */
  setAmounts(id: string, amounts: Readonly<Record<string, number>>): boolean {
    const book = this.#books.get(id);
    if (book === undefined) return false;
    for (const h of book.holdings) {
      const amount = amounts[h.asset];
      if (amount !== undefined) h.amount = amount;
    }
    book.lastValue = NaN;
    book.dirty = true;
    return true;
  }

  #apply(book: Book, holdings: CheckedHolding[]): void {
    for (const slot of this.#slots.values()) {
      const i = slot.users.indexOf(book);
      if (i >= 0) slot.users.splice(i, 1);
    }
    book.holdings = holdings;
    book.names = holdings.map((h) => pathName(h.path));
    for (const h of holdings) {
      for (const step of h.path) {
        const slot = this.#slots.get(step.edge.key)!;
        if (!slot.users.includes(book)) slot.users.push(book);
      }
    }
    book.refValue = NaN;
    book.refTs = NaN;
    book.lastValue = NaN;
    book.dirty = true;
  }

  /** A portfolio's value now, as `#value` gives it (the same sum in the same order), without building its event; starts the change reference once every holding is priced. */
  #total(book: Book, now: number): number {
    let total = 0;
    let complete = true;
    for (const h of book.holdings) {
      const price = this.#price(h);
      if (Number.isFinite(price)) total += h.amount * price;
      else complete = false;
    }
    if (complete && Number.isNaN(book.refValue)) {
      book.refValue = total;
      book.refTs = now;
    }
    return total;
  }

  /** A holding's price: the product along its path (NaN while a price on it is missing). */
  #price(h: CheckedHolding): number {
    let price = 1;
    for (const step of h.path) {
      const slot = this.#slots.get(step.edge.key)!;
      price = step.invert ? price / slot.price : price * slot.price;
    }
    return price;
  }

  /** A portfolio's event now; `total` when the caller has just worked it out (`#total`, same instant). */
  #value(book: Book, now: number, total = this.#total(book, now)): PortfolioEvent {
    const stale: string[] = [];
    const rows: HoldingValue[] = [];
    book.holdings.forEach((h, i) => {
      const price = this.#price(h);
      let fresh = true;
      for (const step of h.path) {
        if (!(now - this.#slots.get(step.edge.key)!.ts <= book.config.staleMs)) fresh = false;
      }
      const known = Number.isFinite(price);
      if (!fresh) stale.push(h.asset);
      rows.push({ asset: h.asset, amount: h.amount, price: known ? price : null, value: known ? h.amount * price : null, weight: null, source: book.names[i]! });
    });
    for (const r of rows) r.weight = r.value === null || total === 0 ? null : r.value / total;
    const ref = Number.isNaN(book.refValue) ? total : book.refValue;
    return {
      id: book.config.id,
      quote: book.config.quote,
      value: total,
      change: { abs: total - ref, pct: ref === 0 ? 0 : ((total - ref) / ref) * 100, since: Number.isNaN(book.refTs) ? now : book.refTs },
      holdings: rows,
      stale,
      ts: now,
    };
  }
}

function set(slot: Slot, price: number, now: number): void {
  slot.price = price;
  slot.ts = now;
  for (let i = 0; i < slot.users.length; i++) slot.users[i]!.dirty = true;
}

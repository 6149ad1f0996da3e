/**
 * The same trades in every setup (bench/cluster.ts): the simulated market is
 * seeded and its trades' ids and times depend only on the seed, the rate
 * and the time since it started, so each setup's market makes the same
 * trades at the same offsets from its own start. Its regimes swing the rate
 * by a lot (a `burst` spell runs at 6× the base rate for 1–2.5 s, a `quiet`
 * one at none: src/sim/market.ts), so a window of wall-clock time measured
 * "after a warm-up" caught a burst in one setup and none in the next, and
 * the setups' percentiles compared different loads. A MarketWindow names
 * the trades whose market time falls in [fromMs, toMs) after the start,
 * found by running the same market here. `atRate` picks, among windows
 * starting on whole seconds after a warm-up, the one whose trade count is
 * nearest the nominal rate: a 5 s window of the default market at 2,000
 * trades/s holds 3,400 to 24,000 trades depending on where it starts.
 */
import { SimulatedMarket } from '../../src/sim/market.ts';

/** Per symbol, the ids of the trades in the window (ids are contiguous per symbol). */
interface IdRange {
  first: number;
  last: number;
}

/** The trades of a seeded market whose time falls in a window after its start; see the module comment. */
export class MarketWindow {
  readonly #ranges = new Map<string, IdRange>();
  /** Trades in the window, every symbol. */
  readonly expected: number;
  readonly fromMs: number;
  readonly toMs: number;

  /** `ratePerSymbol` and `seed` as the setups' markets have them (the simulated exchange's config). */
  constructor(symbols: readonly string[], ratePerSymbol: number, seed: number, fromMs: number, toMs: number) {
    this.fromMs = fromMs;
    this.toMs = toMs;
    let expected = 0;
    // Started at an epoch time like the setups' markets: event times are sums of floats, rounded to whole ms for `T`, so
    // the trades depend on the start's magnitude (the same for every start from 2004 to 2039, when ms since the epoch
    // stay in [2^40, 2^41)), not only on the seed: a market started at 0 makes other trades.
    const start = Date.now();
    const market = new SimulatedMarket({
      symbols,
      rate: ratePerSymbol,
      seed,
      onTrade: (symbol, t) => {
        if (t.T - start < fromMs || t.T - start >= toMs) return;
        expected++;
        const r = this.#ranges.get(symbol);
        if (r === undefined) this.#ranges.set(symbol, { first: t.t, last: t.t });
        else r.last = t.t;
      },
    });
    market.skip(start);
    market.step(start + toMs);
    this.expected = expected;
  }

  /**
   * The window of `seconds` starting on a whole second from `fromMs` to
   * `fromMs + searchMs` whose trade count is nearest `ratePerSymbol` ×
   * symbols × `seconds` (the earliest of equals).
   */
  static atRate(symbols: readonly string[], ratePerSymbol: number, seed: number, fromMs: number, seconds: number, searchMs: number): MarketWindow {
    const want = ratePerSymbol * symbols.length * seconds;
    let best: MarketWindow | undefined;
    for (let start = fromMs; start <= fromMs + searchMs; start += 1_000) {
      const w = new MarketWindow(symbols, ratePerSymbol, seed, start, start + seconds * 1_000);
      if (best === undefined || Math.abs(w.expected - want) < Math.abs(best.expected - want)) best = w;
    }
    return best!;
  }

  /** Whether trade `id` of `symbol` is in the window. */
  has(symbol: string, id: number): boolean {
    const r = this.#ranges.get(symbol);
    return r !== undefined && id >= r.first && id <= r.last;
  }

  /** Whether trade `id` of `symbol` comes after the window (every trade of the window on that symbol was made before it). */
  after(symbol: string, id: number): boolean {
    const r = this.#ranges.get(symbol);
    return r === undefined || id > r.last;
  }

  /** The symbols with trades in the window. */
  get symbols(): string[] {
    return [...this.#ranges.keys()];
  }
}

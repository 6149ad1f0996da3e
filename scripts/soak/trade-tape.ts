/**
 * The soak's trade source: Binance spot `@trade` payloads for a few symbols,
 * in the exact shape the adapter's fast path reads, at a fixed rate.
 *
 * - Trades go round-robin over the symbols; ids come from one counter, so
 *   they increase per symbol (as Binance's) and are unique over all symbols
 *   (the send-time table is keyed by id).
 * - Each symbol's price walks ±1 tick at random from a plausible start; sizes
 *   are 1–1,000 lots of 0.00001. Seeded: the same seed, the same tape.
 * - `due(nowUs)` says how many trades the fixed rate owes by now beyond
 *   those produced, counted from `start(nowUs)` (the load harness's
 *   RateClock: a sender that was held up catches up).
 * - Payloads are the harness's Binance @trade shape (bench/load/binance-trade.ts).
 */
import { tradePayload, tradeStream } from '../../bench/load/binance-trade.ts';
import { RateClock } from '../../bench/load/rate-clock.ts';
import { mulberry32 } from '../../src/sim/prng.ts';

/** Start prices in cents by symbol; others start at $100. */
const START_CENTS: Readonly<Record<string, number>> = {
  BTCUSDT: 6_000_000,
  ETHUSDT: 300_000,
  SOLUSDT: 15_000,
  BNBUSDT: 55_000,
  XRPUSDT: 60,
  ADAUSDT: 40,
  DOGEUSDT: 12,
  LTCUSDT: 7_000,
};

/** The first trade id (as Binance's, well past zero). */
export const FIRST_TRADE_ID = 1_000_000_000;

/** A fixed-rate tape of trade payloads. */
export class TradeTape {
  readonly symbols: readonly string[];
  /** `<lowercase symbol>@trade` per symbol. */
  readonly streams: readonly string[];
  /** Trades produced per symbol so far. */
  readonly produced: number[];
  readonly #rate: RateClock;
  readonly #random: () => number;
  readonly #cents: number[];
  #count = 0;

  constructor(symbols: readonly string[], ratePerSecond: number, seed: number) {
    this.symbols = symbols;
    this.streams = symbols.map(tradeStream);
    this.produced = symbols.map(() => 0);
    this.#rate = new RateClock(ratePerSecond);
    this.#random = mulberry32(seed);
    this.#cents = symbols.map((s) => START_CENTS[s] ?? 10_000);
  }

  /** Start the rate clock at `nowUs`. */
  start(nowUs: number): void {
    this.#rate.start(nowUs);
  }

  /** Trades the rate owes at `nowUs` beyond those already produced (0 before `start`). */
  due(nowUs: number): number {
    if (!this.#rate.started) return 0;
    return Math.max(0, this.#rate.owed(nowUs) - this.#count);
  }

  /** Trades produced so far, over all symbols. */
  get count(): number {
    return this.#count;
  }

  /** Index of the symbol the next trade is for. */
  get nextSymbol(): number {
    return this.#count % this.symbols.length;
  }

  /** Id the next trade will carry. */
  get nextId(): number {
    return FIRST_TRADE_ID + this.#count;
  }

  /** The next trade's payload (`{"e":"trade",...}`), stamped `timeMs` (event and trade time). */
  next(timeMs: number): string {
    const i = this.nextSymbol;
    const id = this.nextId;
    const r = this.#random;
    const u = r();
    const cents = (this.#cents[i] = Math.max(1, this.#cents[i]! + (u < 0.25 ? -1 : u > 0.75 ? 1 : 0)));
    const lots = 1 + Math.floor(r() * 1_000);
    const buyerIsMaker = r() < 0.5;
    this.#count++;
    this.produced[i]!++;
    return tradePayload(timeMs, this.symbols[i]!, id, (cents / 100).toFixed(8), (lots / 100_000).toFixed(8), timeMs, buyerIsMaker);
  }
}

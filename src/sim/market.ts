/**
 * A seeded market simulator: per symbol, a top of book that random-walks and
 * taker orders that trade against it, emitted as Binance spot `@trade` and
 * `@bookTicker` payloads. Pure: no timers, no clock, no Math.random — the
 * caller passes the time to `step(nowMs)`.
 *
 * Model (per symbol, each with its own PRNG stream derived from the seed and
 * the symbol, so adding a symbol never changes another's output):
 * - Start price: SIM-BTC 60,000, SIM-ETH 3,000, else a stable hash of the
 *   name, log-uniform in [1, 100,000). Tick 10^(⌊log10 price⌋ − 6), i.e.
 *   1e-7–1e-6 of the price (BTC 0.01); lot 10^−(⌊log10 price⌋ + 1), worth
 *   $0.1–1 (BTC 0.00001). Prices and sizes are integer ticks and lots,
 *   printed exactly with Binance's 8 decimals.
 * - Regimes: `normal` spells (4 s + mean 3 s) alternate with, in turn, a
 *   `burst` (1 s + mean 0.5 s at 6× the trade rate and 2.5× the volatility)
 *   and a `quiet` spell (1 s + mean 1.5 s, no trades at all). The base rate
 *   is scaled so the long-run mean is `rate`; alternating (rather than
 *   drawing) burst and quiet keeps a minute's count within ~25% of it.
 * - Taker orders arrive as a Poisson process; each fills 1–4 trades at the
 *   same `T`, walking up the ask (buy, `m` false) or down the bid (sell, `m`
 *   true), then the touched side is refilled and a quote is emitted.
 * - Quote refreshes (Poisson, faster in bursts) move the mid by a geometric
 *   random walk and redraw a spread of 1–5 ticks and the sizes.
 *
 * Event times depend only on the PRNG, never on how time is sliced: the same
 * seed gives the same trades whether stepped every 1 ms or every minute.
 */
import { mulberry32 } from './prng.ts';
import { InvalidParameterError } from '../errors.ts';

/** A Binance spot `@trade` payload (field order as on the wire). */
export interface SimTrade {
  e: 'trade';
  /** Event time, ms: `T` plus a small publication delay. */
  E: number;
  s: string;
  /** Trade id, contiguous per symbol. */
  t: number;
  p: string;
  q: string;
  /** Trade time, ms (exchange clock). */
  T: number;
  /** Buyer is the maker, i.e. the aggressor sold. */
  m: boolean;
  M: true;
}

/** A Binance spot `@bookTicker` payload: no event time, `u` increases per update. */
export interface SimQuote {
  u: number;
  s: string;
  b: string;
  B: string;
  a: string;
  A: string;
}

/** The fixed trading parameters of one simulated symbol. */
export interface SimInstrument {
  readonly symbol: string;
  readonly startPrice: number;
  /** Price tick = 10^-tickDecimals. */
  readonly tickDecimals: number;
  /** Lot (quantity step) = 10^-lotDecimals. */
  readonly lotDecimals: number;
  readonly tickSize: number;
  readonly lotSize: number;
}

export interface SimulatedMarketOptions {
  /** Symbols as the venue names them (payload `s`), e.g. `SIM-BTC`. */
  symbols: readonly string[];
  /** Mean trades per second per symbol (long-run, bursts and quiet spells included). */
  rate: number;
  /** PRNG seed; same seed and same steps → same output. */
  seed: number;
  onTrade?: (symbol: string, trade: SimTrade) => void;
  onQuote?: (symbol: string, quote: SimQuote) => void;
}

type TradeHandler = (symbol: string, trade: SimTrade) => void;
type QuoteHandler = (symbol: string, quote: SimQuote) => void;

// ── model constants ──────────────────────────────────────────────────────────

const KNOWN_PRICES: Readonly<Record<string, number>> = { 'SIM-BTC': 60_000, 'SIM-ETH': 3_000 };

const REGIME_NORMAL = 0;
const REGIME_BURST = 1;
const REGIME_QUIET = 2;
/** Per regime (normal, burst, quiet): trade-rate multiplier, min and mean duration (ms), volatility multiplier, quote refreshes/s. */
const RATE_MULT = [1, 6, 0] as const;
const MIN_MS = [4_000, 1_000, 1_000] as const;
const MEAN_MS = [7_000, 1_500, 2_500] as const;
const VOL_MULT = [1, 2.5, 0.5] as const;
const REFRESH_PER_S = [4, 20, 1] as const;
/** Share of the spells between normal ones that are bursts (they alternate with quiet ones). */
const BURST_SHARE = 0.5;
/** Long-run share of time per regime (cycle: normal, burst, normal, quiet). */
const CYCLE_MS = MEAN_MS[0] + BURST_SHARE * MEAN_MS[1] + (1 - BURST_SHARE) * MEAN_MS[2];
const TIME_SHARE = [MEAN_MS[0] / CYCLE_MS, (BURST_SHARE * MEAN_MS[1]) / CYCLE_MS, ((1 - BURST_SHARE) * MEAN_MS[2]) / CYCLE_MS];
/** Base rate × this = long-run mean rate. */
const MEAN_RATE_MULT = TIME_SHARE[0]! * RATE_MULT[0] + TIME_SHARE[1]! * RATE_MULT[1] + TIME_SHARE[2]! * RATE_MULT[2];

/** Fills per taker order: 1 with P_SINGLE_FILL, else 2..MAX_FILLS uniformly. */
const P_SINGLE_FILL = 0.7;
const MAX_FILLS = 4;
const MEAN_FILLS = P_SINGLE_FILL + (1 - P_SINGLE_FILL) * (2 + MAX_FILLS) / 2;
/** A further fill of the same order goes one tick deeper with this probability. */
const P_NEXT_LEVEL = 0.5;

/** Relative mid volatility per √second in the normal regime. */
const VOL_PER_SQRT_S = 1.5e-4;
const MEDIAN_TRADE_NOTIONAL = 150;
const BOOK_SIZE_MULT = 6;
const SIZE_SIGMA = 1.2;
const MAX_SPREAD_TICKS = 5;

// ── public API ───────────────────────────────────────────────────────────────

/** The deterministic instrument (start price, tick and lot size) of `symbol`. */
export function simInstrument(symbol: string): SimInstrument {
  const startPrice = KNOWN_PRICES[symbol.toUpperCase()] ?? 10 ** ((5 * fnv1a(symbol)) / 2 ** 32);
  const magnitude = Math.floor(Math.log10(startPrice));
  const tickDecimals = clamp(6 - magnitude, 0, 8);
  const lotDecimals = clamp(magnitude + 1, 0, 8);
  return { symbol, startPrice, tickDecimals, lotDecimals, tickSize: 10 ** -tickDecimals, lotSize: 10 ** -lotDecimals };
}

/** A seeded multi-symbol market; advance it with `step(nowMs)`. */
export class SimulatedMarket {
  readonly instruments: SimInstrument[];
  readonly rate: number;
  readonly #seed: number;
  #books: SymbolBook[];
  #onTrade: TradeHandler;
  #onQuote: QuoteHandler;
  #started = false;
  #now = 0;

  constructor(options: SimulatedMarketOptions) {
    const { symbols, rate, seed } = options;
    if (!Array.isArray(symbols) || symbols.length === 0 || symbols.some((s) => typeof s !== 'string' || s === '')) {
      throw new InvalidParameterError('symbols', symbols, 'a non-empty array of non-empty strings');
    }
    if (new Set(symbols).size !== symbols.length) throw new InvalidParameterError('symbols', symbols, 'no duplicates');
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0) {
      throw new InvalidParameterError('rate', rate, 'a finite number of trades per second >= 0');
    }
    if (!Number.isSafeInteger(seed)) throw new InvalidParameterError('seed', seed, 'an integer');
    this.rate = rate;
    this.#seed = seed;
    this.instruments = symbols.map(simInstrument);
    this.#books = this.instruments.map((ins) => new SymbolBook(ins, rate, seed));
    this.#onTrade = options.onTrade ?? noop;
    this.#onQuote = options.onQuote ?? noop;
  }

  /**
   * List one more symbol (a live addition): it opens at the market's current
   * time, with its opening quote once the market runs. Listed already: nothing.
   */
  addSymbol(symbol: string): void {
    if (typeof symbol !== 'string' || symbol === '') throw new InvalidParameterError('symbol', symbol, 'a non-empty string');
    if (this.instruments.some((ins) => ins.symbol === symbol)) return;
    const ins = simInstrument(symbol);
    const book = new SymbolBook(ins, this.rate, this.#seed);
    this.instruments.push(ins);
    this.#books.push(book);
    if (!this.#started) return;
    book.shift(this.#now);
    this.#onQuote(symbol, book.quote());
  }

  /** Time (ms) the market has been advanced to; NaN before the first `step`/`skip`. */
  get now(): number {
    return this.#started ? this.#now : NaN;
  }

  /**
   * Advance to `nowMs`, calling `onTrade`/`onQuote` for everything that
   * happened (per symbol in time order; symbols one after another). The first
   * call sets the start time and emits each symbol's opening quote. A time
   * earlier than the last one is ignored. Returns the number of trades.
   */
  step(nowMs: number): number {
    if (!this.#started) {
      this.#start(nowMs);
      for (const book of this.#books) this.#onQuote(book.ins.symbol, book.quote());
      return 0;
    }
    if (!(nowMs > this.#now)) return 0;
    this.#now = nowMs;
    let trades = 0;
    for (const book of this.#books) trades += book.advance(nowMs, this.#onTrade, this.#onQuote);
    return trades;
  }

  /**
   * Move the clock to `nowMs` without anything happening: the market stands
   * still (as if the interval did not exist) and resumes from there. Used when
   * nobody listens, or to bound catch-up after a stall.
   */
  skip(nowMs: number): void {
    if (!this.#started) {
      this.#start(nowMs);
      return;
    }
    if (!(nowMs > this.#now)) return;
    for (const book of this.#books) book.shift(nowMs - this.#now);
    this.#now = nowMs;
  }

  #start(nowMs: number): void {
    if (!Number.isFinite(nowMs)) throw new InvalidParameterError('nowMs', nowMs, 'a finite time in ms');
    this.#started = true;
    this.#now = nowMs;
    for (const book of this.#books) book.shift(nowMs);
  }
}

// ── one symbol ───────────────────────────────────────────────────────────────

/** State of one symbol: top of book in integer ticks/lots, regime, pending event times. */
class SymbolBook {
  readonly ins: SimInstrument;
  readonly #random: () => number;
  /** Separate stream for `u` gaps, so emitting a quote or not never shifts the trades. */
  readonly #updateGaps: () => number;
  readonly #baseRatePerMs: number;
  readonly #medianTradeLots: number;
  readonly #medianBookLots: number;
  readonly #tickPad: string;
  readonly #lotPad: string;

  #bid: number;
  #ask: number;
  #bidLots: number;
  #askLots: number;
  #tradeId: number;
  #updateId: number;

  #regime: number;
  /** The last burst or quiet regime; the next special one is the other. */
  #lastSpecial: number;
  #regimeEndsAt: number;
  #nextOrderAt: number;
  #nextRefreshAt: number;
  #lastRefreshAt = 0;

  constructor(ins: SimInstrument, rate: number, seed: number) {
    this.ins = ins;
    this.#random = mulberry32(mix32(seed) ^ fnv1a(ins.symbol));
    this.#updateGaps = mulberry32(mix32(seed ^ 0x5bd1e995) ^ fnv1a(ins.symbol));
    this.#baseRatePerMs = rate / MEAN_RATE_MULT / MEAN_FILLS / 1000;
    const notionalPerLot = ins.startPrice * ins.lotSize;
    this.#medianTradeLots = Math.max(1, MEDIAN_TRADE_NOTIONAL / notionalPerLot);
    this.#medianBookLots = this.#medianTradeLots * BOOK_SIZE_MULT;
    this.#tickPad = '0'.repeat(8 - ins.tickDecimals);
    this.#lotPad = '0'.repeat(8 - ins.lotDecimals);

    const r = this.#random;
    this.#tradeId = 1_000_000_000 + Math.floor(r() * 2_000_000_000);
    this.#updateId = 10_000_000_000 + Math.floor(r() * 40_000_000_000);
    const spread = this.#spread();
    this.#bid = Math.max(1, Math.round(ins.startPrice * 10 ** ins.tickDecimals - spread / 2));
    this.#ask = this.#bid + spread;
    this.#bidLots = this.#lots(this.#medianBookLots);
    this.#askLots = this.#lots(this.#medianBookLots);

    // Start in a regime drawn from its long-run time share, times relative to 0 (see `shift`).
    const u = r();
    this.#regime = u < TIME_SHARE[0]! ? REGIME_NORMAL : u < TIME_SHARE[0]! + TIME_SHARE[1]! ? REGIME_BURST : REGIME_QUIET;
    this.#lastSpecial = this.#regime === REGIME_QUIET || (this.#regime === REGIME_NORMAL && r() < BURST_SHARE) ? REGIME_QUIET : REGIME_BURST;
    this.#regimeEndsAt = this.#duration(this.#regime);
    this.#nextOrderAt = this.#orderGap(0);
    this.#nextRefreshAt = this.#refreshGap(0);
  }

  /** Move every pending event later by `deltaMs` (start, or a skipped interval). */
  shift(deltaMs: number): void {
    this.#regimeEndsAt += deltaMs;
    this.#nextOrderAt += deltaMs;
    this.#nextRefreshAt += deltaMs;
    this.#lastRefreshAt += deltaMs;
  }

  /** Process every event up to `nowMs`; returns the number of trades. */
  advance(nowMs: number, onTrade: TradeHandler, onQuote: QuoteHandler): number {
    let trades = 0;
    for (;;) {
      const t = Math.min(this.#regimeEndsAt, this.#nextOrderAt, this.#nextRefreshAt);
      if (t > nowMs) return trades;
      if (t === this.#regimeEndsAt) {
        if (this.#regime !== REGIME_NORMAL) this.#regime = REGIME_NORMAL;
        else this.#regime = this.#lastSpecial = this.#lastSpecial === REGIME_BURST ? REGIME_QUIET : REGIME_BURST;
        this.#regimeEndsAt = t + this.#duration(this.#regime);
        // Poisson processes are memoryless: redraw the next arrivals at the new intensities.
        this.#nextOrderAt = this.#orderGap(t);
        this.#nextRefreshAt = this.#refreshGap(t);
      } else if (t === this.#nextOrderAt) {
        trades += this.#takerOrder(t, onTrade);
        onQuote(this.ins.symbol, this.quote());
        this.#nextOrderAt = this.#orderGap(t);
      } else {
        this.#refresh(t);
        onQuote(this.ins.symbol, this.quote());
        this.#nextRefreshAt = this.#refreshGap(t);
      }
    }
  }

  /** The current top of book as a bookTicker payload (advances `u`). */
  quote(): SimQuote {
    this.#updateId += 1 + Math.floor(this.#updateGaps() * 4);
    return {
      u: this.#updateId,
      s: this.ins.symbol,
      b: this.#price(this.#bid),
      B: this.#qty(this.#bidLots),
      a: this.#price(this.#ask),
      A: this.#qty(this.#askLots),
    };
  }

  /** One taker order at time `t`: 1–MAX_FILLS trades with the same T and E. */
  #takerOrder(t: number, onTrade: TradeHandler): number {
    const r = this.#random;
    const buy = r() < 0.5;
    const fills = r() < P_SINGLE_FILL ? 1 : 2 + Math.floor(r() * (MAX_FILLS - 1));
    const T = Math.floor(t);
    const E = T + Math.min(200, Math.floor(-Math.log(1 - r()) * 2));
    let price = buy ? this.#ask : this.#bid;
    for (let i = 0; i < fills; i++) {
      if (i > 0 && r() < P_NEXT_LEVEL) price = buy ? price + 1 : Math.max(1, price - 1);
      const trade: SimTrade = {
        e: 'trade',
        E,
        s: this.ins.symbol,
        t: this.#tradeId++,
        p: this.#price(price),
        q: this.#qty(this.#lots(this.#medianTradeLots)),
        T,
        m: !buy,
        M: true,
      };
      onTrade(this.ins.symbol, trade);
    }
    // The touched side was consumed (down to `price`); fresh liquidity rests there.
    if (buy) {
      this.#ask = Math.max(price, this.#bid + 1);
      this.#askLots = this.#lots(this.#medianBookLots);
    } else {
      this.#bid = Math.min(price, this.#ask - 1);
      this.#bidLots = this.#lots(this.#medianBookLots);
    }
    return fills;
  }

  /** Move the mid by a geometric random walk since the last refresh; redraw spread and sizes. */
  #refresh(t: number): void {
    const dtS = Math.max(0, t - this.#lastRefreshAt) / 1000;
    this.#lastRefreshAt = t;
    const mid = (this.#bid + this.#ask) / 2;
    const sigma = VOL_PER_SQRT_S * VOL_MULT[this.#regime]! * Math.sqrt(dtS);
    const next = mid * Math.exp(sigma * this.#gaussian() - (sigma * sigma) / 2);
    const spread = this.#spread();
    this.#bid = Math.max(1, Math.round(next - spread / 2));
    this.#ask = this.#bid + spread;
    this.#bidLots = this.#lots(this.#medianBookLots);
    this.#askLots = this.#lots(this.#medianBookLots);
  }

  #duration(regime: number): number {
    return MIN_MS[regime]! + this.#exponential(MEAN_MS[regime]! - MIN_MS[regime]!);
  }

  #orderGap(t: number): number {
    const perMs = this.#baseRatePerMs * RATE_MULT[this.#regime]!;
    return perMs > 0 ? t + this.#exponential(1 / perMs) : Infinity;
  }

  #refreshGap(t: number): number {
    return t + this.#exponential(1000 / REFRESH_PER_S[this.#regime]!);
  }

  #spread(): number {
    return 1 + Math.min(MAX_SPREAD_TICKS - 1, Math.floor(this.#exponential(1.2)));
  }

  /** Log-normal size in lots around `median`, at least one lot. */
  #lots(median: number): number {
    return Math.max(1, Math.round(Math.min(median * 200, median * Math.exp(SIZE_SIGMA * this.#gaussian()))));
  }

  #exponential(mean: number): number {
    return -Math.log(1 - this.#random()) * mean;
  }

  #gaussian(): number {
    const u = 1 - this.#random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.#random());
  }

  #price(ticks: number): string {
    return fixed(ticks, this.ins.tickDecimals) + this.#tickPad;
  }

  #qty(lots: number): string {
    return fixed(lots, this.ins.lotDecimals) + this.#lotPad;
  }
}

// ── helpers ──────────────────────────────────────────────────────────────────

/** `units` × 10^-decimals as an exact decimal string with `decimals` places (units ≥ 0, integer). */
function fixed(units: number, decimals: number): string {
  if (decimals === 0) return `${units}.`;
  const s = String(units).padStart(decimals + 1, '0');
  return `${s.slice(0, -decimals)}.${s.slice(-decimals)}`;
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

function noop(): void {}

/** FNV-1a over UTF-16 code units: a stable 32-bit hash of a name. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Murmur3's 32-bit finalizer: spreads a seed's bits before combining it. */
function mix32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

